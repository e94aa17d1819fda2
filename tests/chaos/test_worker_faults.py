"""Workers dying or stopping mid-answer, and a poison task: nothing lost, nothing answered twice."""

from __future__ import annotations

import signal

import pytest
import redis

from app.core.db import session_scope
from app.domains.conversations import service as conversations
from app.domains.jobs import service as jobs
from app.domains.jobs.schemas import FailedTaskOut
from app.intake import submit_question
from tests.fakes.openai_server import StubServer
from tests.support.processes import plinth_env, run_cli
from tests.support.stack import Stack, answers_for, audit_events_about, audit_events_for, eventually
from workers import client, names

pytestmark = pytest.mark.slow
QUESTION = "How many hours of annual leave do I earn per pay period?"


def test_a_worker_killed_mid_answer_leaves_the_question_answered_exactly_once(
    stack: Stack, stub_llm: StubServer
) -> None:
    first = stack.worker()
    stub_llm.state.delay_s = 30.0  # the answer is stuck in the LLM call when the worker dies
    message_id = submit_question(question=QUESTION, user="kill-asker", groups=None, channel="cli")
    eventually(lambda: len(stub_llm.state.requests) >= 1, timeout_s=60, what="the worker calling the LLM")
    stack.signal(first, signal.SIGKILL, group=True)  # the whole worker, pool and all, as the OOM killer does
    first.process.wait(timeout=10)  # type: ignore[union-attr]
    assert answers_for(message_id) == 0
    stub_llm.state.delay_s = 0.0

    stack.worker()  # takes the unacknowledged task back once its visibility timeout has passed
    answer = conversations.wait_for_answer(message_id=message_id, timeout_s=150)
    assert answer.mode == "generated"
    assert len(stub_llm.state.requests) == 2  # really re-run, not answered by the dead worker
    assert answers_for(message_id) == 1
    eventually(lambda: audit_events_for(message_id, "output.generated") == 1, timeout_s=10, what="one audit")
    with session_scope() as session:
        assert jobs.list_failed(session) == []


def test_sigterm_finishes_the_task_in_hand_and_leaves_the_rest_queued(
    stack: Stack, stub_llm: StubServer
) -> None:
    worker = stack.worker()
    stub_llm.state.delay_s = 4.0
    in_hand = submit_question(question=QUESTION, user="term-asker", groups=None, channel="cli")
    waiting = [
        submit_question(question=f"{QUESTION} ({n})", user="term-asker", groups=None, channel="cli")
        for n in range(2)
    ]
    eventually(lambda: len(stub_llm.state.requests) >= 1, timeout_s=60, what="the worker calling the LLM")
    stack.signal(worker, signal.SIGTERM)  # what Kubernetes sends at a rolling deploy
    assert worker.process is not None
    assert worker.process.wait(timeout=60) == 0
    assert answers_for(in_hand) == 1  # finished before the worker exited
    assert sum(answers_for(m) for m in waiting) == 0  # not started: back in the queue, not lost
    stub_llm.state.delay_s = 0.0

    stack.worker()
    for message_id in [in_hand, *waiting]:
        conversations.wait_for_answer(message_id=message_id, timeout_s=60)
        assert answers_for(message_id) == 1
    assert len(stub_llm.state.requests) == 3


def test_a_poison_task_is_dead_lettered_without_blocking_the_queue(stack: Stack) -> None:
    stack.worker()
    cli_env = plinth_env(stack.env)
    client.send(names.TASK_ANSWER, queue=names.QUEUE_ANSWERS, message_id="not-a-message-id")
    good = [
        submit_question(question=f"{QUESTION} [{n}]", user="poison-asker", groups=None, channel="cli")
        for n in range(3)
    ]
    for message_id in good:
        assert conversations.wait_for_answer(message_id=message_id, timeout_s=60).answered

    def dead_letters() -> list[FailedTaskOut] | None:
        with session_scope() as session:
            return jobs.list_failed(session) or None

    (failed,) = eventually(dead_letters, timeout_s=30, what="the poison task dead-lettered")
    assert failed.task_name == names.TASK_ANSWER
    assert failed.arguments == {"message_id": "not-a-message-id"}
    assert failed.attempts == 1  # a ValueError is not transient: no retry could fix it
    assert not failed.transient
    assert "ValueError" in failed.error
    assert "Traceback" in (failed.traceback or "")
    assert redis.Redis.from_url(stack.redis_url).llen(names.QUEUE_ANSWERS) == 0  # acknowledged, gone

    listed = run_cli("jobs", "failed", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    assert str(failed.id) in listed.stdout
    replayed = run_cli("jobs", "replay", str(failed.id), env=cli_env)
    assert replayed.returncode == 0, replayed.stderr
    # Replayed with the same arguments, it fails the same way: the same row, one more failure.
    again = eventually(
        lambda: next((f for f in (dead_letters() or []) if f.failures == 2), None),
        timeout_s=30,
        what="the replayed poison task failing again",
    )
    assert again.id == failed.id
    assert again.replays == 1
    assert again.attempts == 2
    assert audit_events_about(f"job:{failed.id}") == {"job.dead_lettered": 2, "job.replayed": 1}
