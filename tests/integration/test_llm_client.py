"""The LLM client over real HTTP against stub OpenAI-compatible servers: streaming, bounds, retries,
failover, circuit breaker, timeouts."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from app.core.settings.sections import LlmSettings
from rag.llm import ChatMessage, Endpoint, LlmClient, LlmUnavailable, PromptTooLong
from rag.llm.endpoint import forget_clients
from tests.fakes.openai_server import StubServer

PROMPT = [
    ChatMessage("system", "Answer from the sources."),
    ChatMessage("user", '<source id="1" title="t">\nLeave accrues at four hours. More.\n</source>\nQ?'),
]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[StubServer, StubServer]]:
    first, second = StubServer().start(), StubServer().start()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def stubs(servers: tuple[StubServer, StubServer]) -> tuple[StubServer, StubServer]:
    for server in servers:
        server.reset()
    forget_clients()
    return servers


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(*urls: str, **settings: object) -> LlmClient:
    values: dict[str, object] = {"retry_backoff_s": 0.01, "connect_timeout_s": 0.5, **settings}
    config = LlmSettings.model_validate(values)
    return LlmClient(
        [Endpoint(name=f"e{i}", base_url=u, model="stub-model") for i, u in enumerate(urls, 1)], config
    )


def test_streams_text_as_it_arrives_and_reads_usage(stubs: tuple[StubServer, StubServer]) -> None:
    stub, _ = stubs
    seen: list[str] = []
    completion = _client(stub.base_url, max_output_tokens=64).complete(PROMPT, on_text=seen.append)
    assert completion.text == "Leave accrues at four hours. [1]"
    assert seen[0] == "Leave"
    assert seen[-1] == completion.text
    assert len(seen) == len(completion.text.split(" "))
    assert completion.model == "stub-model"
    assert completion.completion_tokens == 6  # from the stream's usage chunk, not estimated
    assert completion.endpoint == "e1"
    sent = stub.state.requests[0]
    assert sent["stream"] is True
    assert sent["n"] == 1
    assert sent["max_tokens"] == 64


def test_output_is_bounded_by_the_settings(stubs: tuple[StubServer, StubServer]) -> None:
    stub, _ = stubs
    _client(stub.base_url, max_output_tokens=32).complete(PROMPT, max_tokens=4096)
    assert stub.state.requests[0]["max_tokens"] == 32


def test_prompt_over_the_bound_is_never_sent(stubs: tuple[StubServer, StubServer]) -> None:
    stub, _ = stubs
    long_prompt = [ChatMessage("user", "word " * 400)]
    with pytest.raises(PromptTooLong, match="at most 100 may be sent"):
        _client(stub.base_url, max_prompt_tokens=100).complete(long_prompt)
    assert stub.state.requests == []


def test_5xx_is_retried_on_the_same_endpoint(stubs: tuple[StubServer, StubServer]) -> None:
    stub, backup = stubs
    stub.state.fail_next = 2
    completion = _client(stub.base_url, backup.base_url, retries=2).complete(PROMPT)
    assert completion.endpoint == "e1"
    assert completion.attempts == 3
    assert len(stub.state.requests) == 3
    assert backup.state.requests == []


def test_4xx_is_not_retried_but_fails_over(stubs: tuple[StubServer, StubServer]) -> None:
    stub, backup = stubs
    stub.state.fail_next, stub.state.fail_status = 5, 400
    completion = _client(stub.base_url, backup.base_url, retries=2).complete(PROMPT)
    assert len(stub.state.requests) == 1
    assert completion.endpoint == "e2"
    assert completion.attempts == 2


def test_connection_refused_fails_over_to_the_next_endpoint(stubs: tuple[StubServer, StubServer]) -> None:
    _, backup = stubs
    dead = f"http://127.0.0.1:{_closed_port()}/v1"
    completion = _client(dead, backup.base_url, retries=1).complete(PROMPT)
    assert completion.endpoint == "e2"
    assert completion.attempts == 3  # two refused connections, then the backup
    assert completion.text.endswith("[1]")


def test_every_endpoint_down_says_why(stubs: tuple[StubServer, StubServer]) -> None:
    stub, backup = stubs
    stub.state.mode = backup.state.mode = "error"
    with pytest.raises(LlmUnavailable) as caught:
        _client(stub.base_url, backup.base_url, retries=1).complete(PROMPT)
    assert "e1: HTTP 503" in caught.value.message
    assert "e2: HTTP 503" in caught.value.message
    assert len(stub.state.requests) == len(backup.state.requests) == 2


def test_read_timeout_is_not_retried_and_fails_over(stubs: tuple[StubServer, StubServer]) -> None:
    stub, backup = stubs
    stub.state.delay_s = 2.0
    started = time.monotonic()
    completion = _client(stub.base_url, backup.base_url, read_timeout_s=0.3).complete(PROMPT)
    assert time.monotonic() - started < 1.5
    assert completion.endpoint == "e2"
    assert len(stub.state.requests) == 1


def test_stream_cut_short_counts_as_a_failure(stubs: tuple[StubServer, StubServer]) -> None:
    stub, _ = stubs
    stub.state.drop_after_chunks = 2
    seen: list[str] = []
    with pytest.raises(LlmUnavailable, match="without \\[DONE\\]"):
        _client(stub.base_url, retries=1).complete(PROMPT, on_text=seen.append)
    assert len(stub.state.requests) == 2
    assert seen[-1] == "Leave accrues"


def test_slow_trickle_is_cut_by_the_total_timeout(stubs: tuple[StubServer, StubServer]) -> None:
    stub, _ = stubs
    stub.state.chunk_delay_s = 0.2
    with pytest.raises(LlmUnavailable, match=r"stream exceeded 0\.3 s"):
        _client(stub.base_url, retries=0, total_timeout_s=0.3).complete(PROMPT)


def test_circuit_opens_after_repeated_failures_and_closes_after_reset(
    stubs: tuple[StubServer, StubServer],
) -> None:
    stub, backup = stubs
    stub.state.mode = "error"
    client = _client(stub.base_url, backup.base_url, retries=0, breaker_fail_max=2, breaker_reset_s=0.5)
    for _ in range(3):
        assert client.complete(PROMPT).endpoint == "e2"
    assert len(stub.state.requests) == 2  # the third call skipped the open circuit
    stub.state.mode = "cite"
    time.sleep(0.6)
    assert client.complete(PROMPT).endpoint == "e1"  # the trial call after the reset timeout
    assert len(stub.state.requests) == 3


def test_all_circuits_open_is_reported(stubs: tuple[StubServer, StubServer]) -> None:
    stub, _ = stubs
    stub.state.mode = "error"
    client = _client(stub.base_url, retries=0, breaker_fail_max=1, breaker_reset_s=60)
    with pytest.raises(LlmUnavailable, match="HTTP 503"):
        client.complete(PROMPT)
    with pytest.raises(LlmUnavailable, match="circuit open"):
        client.complete(PROMPT)
    assert len(stub.state.requests) == 1


def test_health_and_models(stubs: tuple[StubServer, StubServer]) -> None:
    stub, _ = stubs
    client = _client(stub.base_url)
    assert client.healthy()
    assert client.clients()[0].models()[0]["id"] == "stub-model"
    assert not _client(f"http://127.0.0.1:{_closed_port()}/v1").healthy()
