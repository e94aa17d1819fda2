"""`plinth bench load` with the Slack driver, end to end at tiny rates for a few seconds: signed events
to a real API, answers delivered to the fake Slack Web API, well-formed JSON lines. The busy depth is 0,
so every question is past it: the busy notice goes out and the question is still answered. No timing is
asserted: the figures of a run this short mean nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.bench import load

pytestmark = pytest.mark.slow
LEAVE = "qa/handbook-18F/pages/travel-and-leave/leave.md"
PER_RATE = {
    "throughput_per_s",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "error_rate",
    "answered_ratio",
    "submit_p95_ms",
    "busy_notices",
    "max_queue_depth",
}


def test_slack_driver_answers_every_question_and_reports_well_formed_lines(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load.run(
        rates=(1.0, 2.0),
        duration_s=3.0,
        docs=shared_data / LEAVE,
        concurrency=1,
        driver="slack",
        busy_depth=0,
        drain_s=180.0,
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    for line in lines:
        assert (line["bench"], line["variant"]) == ("load", "plinth")
        assert isinstance(line["value"], int | float)
        assert isinstance(line["unit"], str)
        assert line["front_end"] == "slack"
    *steps, knee = lines
    assert knee["metric"] == "degradation_rate_per_s"
    assert knee["rates_per_s"] == [1.0, 2.0]
    assert "degrades_at_rate" in knee
    for rate, questions in ((1.0, 3), (2.0, 6)):
        figures = {line["metric"]: line for line in steps if line["rate_per_s"] == rate}
        assert set(figures) == PER_RATE
        assert all(line["questions"] == questions for line in figures.values())
        assert figures["answered_ratio"]["value"] == 1.0
        assert figures["answered_ratio"]["answered"] == questions
        assert figures["error_rate"]["value"] == 0.0
        busy = figures["busy_notices"]
        assert busy["value"] >= 1  # past the busy depth (0) the placeholder is the busy notice …
        assert busy["busy_answered"] == busy["value"]  # … and those questions are answered too
        series = figures["max_queue_depth"]["queue_depth_series"]
        assert series
        assert all(len(point) == 2 for point in series)
