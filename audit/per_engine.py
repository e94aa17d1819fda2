"""One helper object per process and database engine (a chaining sequencer, a group-commit flusher),
each holding a connection of its own and threads that only its process has."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.engine import Engine

T = TypeVar("T")


class PerEngine(Generic[T]):
    def __init__(self, make: Callable[[Engine], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._by_engine: dict[int, tuple[Engine, T]] = {}
        self._inherited: list[T] = []
        os.register_at_fork(after_in_child=self._forget)

    def get(self, engine: Engine) -> T:
        with self._lock:
            found = self._by_engine.get(id(engine))
            if found is None or found[0] is not engine:
                found = self._by_engine[id(engine)] = (engine, self._make(engine))
            return found[1]

    def _forget(self) -> None:
        # A forked child must not use (nor, by collecting it, close) its parent's connections, nor wait
        # on a lock held by a thread it does not have.
        self._inherited.extend(helper for _, helper in self._by_engine.values())
        self._by_engine = {}
        self._lock = threading.Lock()
