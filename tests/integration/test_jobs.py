"""Queue discipline against real PostgreSQL and Redis: enqueue after commit through the outbox, the
relay, idempotency keys, retries then dead letters, replay, readiness and backpressure."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.factory import create_app
from app.api.health import readiness
from app.core.db import session_scope
from app.core.errors import Conflict
from app.core.settings import get_settings
from app.domains.conversations import service as conversations
from app.domains.jobs import service as jobs
from app.domains.jobs.models import OutboxEntry
from app.domains.principals import service as principals
from app.intake import submit_question
from app.runtime.postgres import free_port
from app.runtime.redis_server import BundledRedis
from tests.conftest import Env
from tests.support.stack import audit_events_about
from workers import client, names
from workers.base import PlinthTask

# A database number no test worker consumes from: what is sent here stays here.
QUIET_DB = 7


@pytest.fixture
def broker(database_url: str, redis_server: BundledRedis, env: Env) -> Iterator[redis.Redis]:
    url = redis_server.url.rsplit("/", 1)[0] + f"/{QUIET_DB}"
    env.set(PLINTH_REDIS_URL=url)
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield connection
    connection.flushdb()


def _entries() -> list[OutboxEntry]:
    with session_scope() as session:
        return list(session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def test_a_task_is_sent_only_once_its_transaction_commits(broker: redis.Redis) -> None:
    def request_failing_after_queueing() -> None:
        with session_scope() as session:
            asker = principals.ensure_local(session, handle="outbox-rollback")
            receipt = conversations.record_inbound(
                session, channel="cli", principal_id=asker.id, text="Rolled back?"
            )
            client.enqueue_answer(message_id=receipt.message_id, session=session)
            raise RuntimeError("the request failed after queueing")

    with pytest.raises(RuntimeError):
        request_failing_after_queueing()
    assert broker.llen(names.QUEUE_ANSWERS) == 0
    assert _entries() == []

    message_id = submit_question(question="Committed?", user="outbox-commit", groups=None, channel="cli")
    assert broker.llen(names.QUEUE_ANSWERS) == 1
    (entry,) = _entries()
    assert entry.kwargs == {"message_id": str(message_id)}
    assert entry.key == f"answer:{message_id}"
    assert entry.sent_at is not None


def test_a_send_the_broker_refused_is_sent_later_by_the_relay(broker: redis.Redis, env: Env) -> None:
    from workers.tasks.jobs import outbox_relay

    live = get_settings().require_redis_url()
    env.set(PLINTH_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", PLINTH_QUEUE_OUTBOX_GRACE_S="0")
    message_id = submit_question(question="Broker down?", user="outbox-down", groups=None, channel="cli")
    (entry,) = _entries()
    assert entry.sent_at is None  # the question is kept, its task waits in the outbox
    assert "cannot accept work" in (entry.last_error or "")

    env.set(PLINTH_REDIS_URL=live, PLINTH_QUEUE_OUTBOX_GRACE_S="0")
    assert outbox_relay() == 1
    assert outbox_relay() == 0  # sent once
    assert broker.llen(names.QUEUE_ANSWERS) == 1
    (entry,) = _entries()
    assert entry.sent_at is not None
    assert entry.kwargs == {"message_id": str(message_id)}


def test_one_delivery_per_answer_however_often_it_is_queued(broker: redis.Redis) -> None:
    message_id = uuid.uuid4()
    for _ in range(3):
        with session_scope() as session:
            client.enqueue_delivery(channel="slack", message_id=message_id, session=session)
    assert broker.llen(names.QUEUE_DELIVERIES) == 1  # its own queue: never behind waiting answers
    assert broker.llen(names.QUEUE_ANSWERS) == 0
    assert [e.key for e in _entries()] == [f"deliver:{message_id}"]
    with session_scope() as session:
        assert not client.enqueue_delivery(channel="cli", message_id=message_id, session=session)


def test_a_transient_failure_is_retried_with_backoff_then_dead_lettered(
    broker: redis.Redis, env: Env
) -> None:
    from workers.tasks.maintenance import sweep_unanswered

    env.set(PLINTH_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # the lock's Redis is unreachable
    result = sweep_unanswered.apply()
    assert result.failed()
    with session_scope() as session:
        (failed,) = jobs.list_failed(session)
    assert failed.task_name == names.TASK_SWEEP_UNANSWERED
    assert failed.transient
    assert failed.attempts == PlinthTask.max_retries + 1
    assert "ConnectionError" in failed.error
    assert audit_events_about(f"job:{failed.id}") == {"job.dead_lettered": 1}


def test_a_non_transient_failure_is_dead_lettered_at_once_and_replayed_through_the_outbox(
    broker: redis.Redis,
) -> None:
    from workers.tasks.answer import answer

    assert answer.apply(kwargs={"message_id": "not-a-uuid"}).failed()
    with session_scope() as session:
        (failed,) = jobs.list_failed(session)
    assert failed.attempts == 1
    assert not failed.transient
    assert failed.arguments == {"message_id": "not-a-uuid"}

    with session_scope() as session:
        admin = principals.ensure_local(session, handle="jobs-admin")
        replayed = jobs.replay(session, failed_id=failed.id, principal_id=admin.id, expires_s=60)
    assert replayed.status == "replayed"
    assert replayed.replayed_by == f"principal:{admin.id}"
    assert broker.llen(names.QUEUE_ANSWERS) == 1
    with pytest.raises(Conflict), session_scope() as session:
        jobs.replay(session, failed_id=failed.id, principal_id=admin.id, expires_s=60)
    assert audit_events_about(f"job:{failed.id}") == {"job.dead_lettered": 1, "job.replayed": 1}

    # Failing again brings the same row back, with the attempts added up.
    assert answer.apply(kwargs={"message_id": "not-a-uuid"}).failed()
    with session_scope() as session:
        (again,) = jobs.list_failed(session)
    assert (again.id, again.failures, again.attempts, again.status) == (failed.id, 2, 2, "failed")
    assert again.first_failed_at == failed.first_failed_at


def test_readiness_refuses_a_redis_that_may_evict_and_can_do_without_workers(
    broker: redis.Redis, env: Env
) -> None:
    ready, checks = readiness()
    assert not ready
    assert checks["redis"] == {"status": "ok", "detail": "reachable, noeviction"}
    assert checks["worker"]["status"] == "down"

    env.set(PLINTH_QUEUE_READINESS_REQUIRES_WORKER="false")
    ready, checks = readiness()
    assert ready
    assert checks["worker"]["required"] is False

    broker.config_set("maxmemory-policy", "allkeys-lru")
    try:
        ready, checks = readiness()
    finally:
        broker.config_set("maxmemory-policy", "noeviction")
    assert not ready
    assert "allkeys-lru" in checks["redis"]["detail"]
    assert "noeviction" in checks["redis"]["detail"]


def test_past_the_busy_depth_questions_are_taken_with_a_notice(broker: redis.Redis, env: Env) -> None:
    env.set(PLINTH_QUEUE_BUSY_DEPTH="3")
    http = TestClient(create_app())
    headers = {"Authorization": f"Bearer {get_settings().api_token()}"}
    calm = http.post("/api/v1/ask", json={"question": "Calm?", "wait": False}, headers=headers)
    assert calm.status_code == 202
    assert calm.json()["notice"] is None
    broker.rpush(names.QUEUE_ANSWERS, "a", "b")  # two more waiting: three in all
    assert client.is_busy()
    busy = http.post("/api/v1/ask", json={"question": "Busy?", "wait": False}, headers=headers)
    assert busy.status_code == 202
    assert busy.json()["notice"] == get_settings().queue.busy_notice
    assert broker.llen(names.QUEUE_ANSWERS) == 4  # and still queued to be answered
