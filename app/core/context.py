"""Per-request / per-task context carried in contextvars (correlation id for logs, audit and traces)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

_correlation_id: ContextVar[str | None] = ContextVar("plinth_correlation_id", default=None)


def correlation_id() -> str | None:
    return _correlation_id.get()


def new_correlation_id() -> str:
    return str(uuid.uuid4())


@contextlib.contextmanager
def bound_correlation_id(value: str) -> Iterator[str]:
    token = _correlation_id.set(value)
    try:
        yield value
    finally:
        _correlation_id.reset(token)
