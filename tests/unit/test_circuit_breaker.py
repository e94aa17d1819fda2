"""The LLM endpoints' circuit breaker: concurrent calls, opening, the half-open trial, ignored errors."""

from __future__ import annotations

import threading

import pytest

from rag.llm.breaker import CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Rejected(Exception):
    pass


def _fail() -> None:
    raise ConnectionError("endpoint down")


def _breaker(clock: Clock, fail_max: int = 2) -> CircuitBreaker:
    return CircuitBreaker(fail_max=fail_max, reset_s=30, ignored=(Rejected,), clock=clock)


def test_calls_run_concurrently() -> None:
    breaker = _breaker(Clock())
    both_inside = threading.Barrier(2, timeout=10)  # broken unless two calls are inside at once
    results: list[str] = []

    def call() -> None:
        results.append(breaker.call(lambda: str(both_inside.wait())))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["0", "1"]


def test_consecutive_failures_open_the_circuit() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    assert breaker.state == "closed"
    with pytest.raises(CircuitOpen) as tripped:
        breaker.call(_fail)
    assert isinstance(tripped.value.__cause__, ConnectionError)
    assert breaker.state == "open"
    called = []
    with pytest.raises(CircuitOpen):
        breaker.call(called.append, 1)
    assert called == []


def test_a_success_resets_the_count() -> None:
    breaker = _breaker(Clock())
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    assert breaker.call(lambda: "ok") == "ok"
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    assert breaker.state == "closed"


def test_ignored_errors_do_not_count() -> None:
    breaker = _breaker(Clock(), fail_max=1)

    def reject() -> None:
        raise Rejected("bad request")

    for _ in range(3):
        with pytest.raises(Rejected):
            breaker.call(reject)
    assert breaker.state == "closed"


def _half_open(clock: Clock) -> CircuitBreaker:
    breaker = _breaker(clock, fail_max=1)
    with pytest.raises(CircuitOpen):
        breaker.call(_fail)
    clock.now = 31
    assert breaker.state == "half-open"
    return breaker


def test_half_open_lets_one_trial_through() -> None:
    breaker = _half_open(Clock())
    inside, release = threading.Event(), threading.Event()

    def trial() -> str:
        inside.set()
        release.wait(10)
        return "recovered"

    outcome: list[str] = []
    thread = threading.Thread(target=lambda: outcome.append(breaker.call(trial)))
    thread.start()
    assert inside.wait(10)
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: "second caller")  # refused while the trial runs
    release.set()
    thread.join()
    assert outcome == ["recovered"]
    assert breaker.state == "closed"


def test_a_failed_trial_opens_the_circuit_again() -> None:
    clock = Clock()
    breaker = _half_open(clock)
    with pytest.raises(CircuitOpen) as reopened:
        breaker.call(_fail)
    assert isinstance(reopened.value.__cause__, ConnectionError)
    assert breaker.state == "open"
    clock.now = 60
    assert breaker.state == "open"
    clock.now = 62
    assert breaker.state == "half-open"
