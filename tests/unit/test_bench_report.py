from __future__ import annotations

import json

import pytest

from app.bench.report import emit, percentile


def test_emit_prints_one_json_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    emit(bench="audit", variant="plinth", metric="appends_per_s", value=5321.44444, unit="1/s", writers=16)
    line = json.loads(capsys.readouterr().out)
    assert line == {
        "bench": "audit",
        "variant": "plinth",
        "metric": "appends_per_s",
        "value": 5321.4444,
        "unit": "1/s",
        "writers": 16,
    }


def test_percentile_interpolates() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 99) == 5
    assert percentile(list(range(101)), 95) == 95
