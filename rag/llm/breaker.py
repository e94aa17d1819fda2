"""A circuit breaker per endpoint that lets concurrent calls run concurrently: its lock guards only the
state (pybreaker holds its lock for the whole protected call, so one process made one model call at a
time). Closed: calls pass, consecutive failures are counted. Open: calls are refused until the reset
timeout has passed. Half-open: one trial call passes (the others are refused as if open); its success
closes the circuit, its failure opens it again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")
State = Literal["closed", "open", "half-open"]


class CircuitOpen(Exception):
    """The endpoint's circuit is open. Raised by the call that opens it too, from that call's error."""


class CircuitBreaker:
    def __init__(
        self,
        *,
        fail_max: int,
        reset_s: float,
        ignored: tuple[type[BaseException], ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fail_max = fail_max
        self.reset_s = reset_s
        self.ignored = ignored  # errors that say nothing about the endpoint's health (a rejected request)
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self._opened_at >= self.reset_s else "open"

    def call(self, function: Callable[..., T], *args: object, **kwargs: object) -> T:
        trial = self._admit()
        try:
            result = function(*args, **kwargs)
        except self.ignored:
            self._settle(trial, failed=False)
            raise
        except Exception as exc:
            if self._settle(trial, failed=True):
                raise CircuitOpen(f"circuit opened after {self.fail_max} consecutive failures") from exc
            raise
        self._settle(trial, failed=False)
        return result

    def _admit(self) -> bool:
        """Whether this call is the half-open trial; raises CircuitOpen when it may not run."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return False
            if state == "half-open" and not self._trial_running:
                self._trial_running = True
                return True
        raise CircuitOpen("circuit open after repeated failures")

    def _settle(self, trial: bool, *, failed: bool) -> bool:
        """Record a call's outcome; True when it opened the circuit."""
        with self._lock:
            if trial:
                self._trial_running = False
            if not failed:
                if trial or self._opened_at is None:
                    self._failures = 0
                    self._opened_at = None
                return False
            if trial:
                self._opened_at = self._clock()
                return True
            if self._opened_at is not None:
                return False  # opened meanwhile by a concurrent call
            self._failures += 1
            if self._failures >= self.fail_max:
                self._opened_at = self._clock()
                return True
            return False
