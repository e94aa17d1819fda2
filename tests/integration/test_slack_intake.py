"""The acknowledgement path when the queue is down: the question is stored first, Slack gets a non-2xx
so it retries, and the retry queues the stored question (once) instead of storing it again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.factory import create_app
from app.core.db import session_scope
from app.domains.conversations.models import Message
from app.runtime.redis_server import BundledRedis
from tests.conftest import Env
from tests.fakes.slack_api import FakeSlack
from tests.support.slack import BOT_TOKEN, SECRET, SlackPayloads, signed_headers


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


def _post(client: TestClient, body: dict[str, object], retry_num: int | None = None) -> int:
    raw = json.dumps(body).encode()
    headers = signed_headers(raw, content_type="application/json")
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
    return client.post("/slack/events", content=raw, headers=headers).status_code


def test_an_event_that_cannot_be_queued_is_kept_and_retried(
    database_url: str, env: Env, fake_slack: FakeSlack, redis_server: BundledRedis, shared_data: Path
) -> None:
    fake_slack.add_user("U1", email="u1@example.com")
    slack = {
        "PLINTH_SLACK_SIGNING_SECRET": SECRET,
        "PLINTH_SLACK_BOT_TOKEN": BOT_TOKEN,
        "PLINTH_SLACK_API_BASE_URL": fake_slack.api_url,
    }
    env.set(**slack, PLINTH_REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    body = SlackPayloads(shared_data).message("How do I request sick leave?", user="U1", channel="D0DOWN")
    assert _post(TestClient(create_app()), body) == 503

    with session_scope() as session:
        [stored] = session.scalars(select(Message).where(Message.external_id == body["event_id"]))
    assert fake_slack.calls("chat.postMessage") == []  # no placeholder for what was not taken

    # A Redis database of this test's own, so the queue holds only what this test sent.
    broker = redis_server.url.rsplit("/", 1)[0] + "/7"
    queued = redis.Redis.from_url(broker)
    queued.delete("answers")
    env.set(**slack, PLINTH_REDIS_URL=broker)
    client = TestClient(create_app())
    assert _post(client, body, retry_num=1) == 200
    fake_slack.wait_for("chat.postMessage", channel="D0DOWN")  # the placeholder: it was taken
    assert _post(client, body, retry_num=2) == 200
    with session_scope() as session:
        [again] = session.scalars(select(Message).where(Message.external_id == body["event_id"]))
    assert again.id == stored.id
    assert queued.llen("answers") == 1  # queued by the first retry only
