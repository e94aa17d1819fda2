from __future__ import annotations

import json

import pytest

from app.bench.load import Sample, Step, report


def _step(rate: float, latency_ms: float, *, answered_share: float = 1.0, n: int = 20) -> Step:
    step = Step(rate=rate, duration_s=n / rate)
    for i in range(n):
        answered = i < n * answered_share
        step.samples.append(
            Sample(
                submitted_at=i / rate,
                rtt_ms=5.0,
                message_id=str(i),
                latency_ms=5.0 + latency_ms if answered else None,
            )
        )
    step.depths = [(0.0, 0), (1.0, 3)]
    return step


def _figures(capsys: pytest.CaptureFixture[str], steps: list[Step]) -> list[dict[str, object]]:
    report(steps, variant="plinth", context={})
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_latency_and_errors_per_rate_and_the_knee(capsys: pytest.CaptureFixture[str]) -> None:
    figures = _figures(capsys, [_step(1, 200), _step(2, 250), _step(4, 900)])
    by = {(f["metric"], f.get("rate_per_s")): f["value"] for f in figures}
    assert by[("latency_p50_ms", 1)] == 205.0
    assert by[("error_rate", 1)] == 0.0
    assert by[("max_queue_depth", 4)] == 3
    assert by[("throughput_per_s", 1)] == pytest.approx(20 / (19 + 0.205), rel=1e-3)
    (knee,) = [f for f in figures if f["metric"] == "degradation_rate_per_s"]
    assert knee["value"] == 4  # p95 more than twice the lowest rate's
    assert knee["degrades_at_rate"] == 4
    assert knee["degraded_within_tested"] is True


def test_a_first_rate_already_beyond_capacity_is_the_knee(capsys: pytest.CaptureFixture[str]) -> None:
    figures = _figures(capsys, [_step(1, 200, answered_share=0.5), _step(2, 210)])
    (knee,) = [f for f in figures if f["metric"] == "degradation_rate_per_s"]
    assert knee["value"] == 1


def test_no_knee_within_the_rates_tried_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    figures = _figures(capsys, [_step(1, 200), _step(2, 220)])
    (knee,) = [f for f in figures if f["metric"] == "degradation_rate_per_s"]
    assert knee["value"] == 2
    assert knee["degrades_at_rate"] is None
    assert knee["degraded_within_tested"] is False


def test_busy_notices_and_the_share_answered(capsys: pytest.CaptureFixture[str]) -> None:
    step = _step(1, 200, answered_share=0.75)
    for sample in step.samples[-10:]:
        sample.busy = True  # 10 busy, of which 5 answered
    figures = _figures(capsys, [step])
    by = {f["metric"]: f for f in figures}
    assert by["answered_ratio"]["value"] == 0.75
    assert by["answered_ratio"]["answered"] == 15
    assert by["busy_notices"]["value"] == 10
    assert by["busy_notices"]["busy_answered"] == 5
    assert by["max_queue_depth"]["queue_depth_series"] == [[0.0, 0], [1.0, 3]]
