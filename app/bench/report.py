"""The benchmark output format: one JSON object per line,
`{"bench": ..., "variant": ..., "metric": ..., "value": ..., "unit": ..., <context fields>}`."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any


def emit(*, bench: str, variant: str, metric: str, value: float, unit: str, **context: Any) -> dict[str, Any]:
    line = {
        "bench": bench,
        "variant": variant,
        "metric": metric,
        "value": round(value, 4),
        "unit": unit,
        **context,
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    return line


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def machine() -> dict[str, Any]:
    """Context fields that make figures from different machines comparable."""
    return {"python": platform.python_version(), "cpus": os.cpu_count()}
