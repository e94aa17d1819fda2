"""Backpressure in Slack: past the busy depth, the placeholder tells the asker it will take a while."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.conversations import service as conversations
from app.domains.principals import service as principals
from app.runtime.redis_server import BundledRedis
from integrations.slack import replier
from integrations.slack.client import web_client
from tests.conftest import Env
from tests.fakes.slack_api import FakeSlack
from tests.support.slack import BOT_TOKEN, SECRET


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


def _question() -> uuid.UUID:
    with session_scope() as session:
        asker = principals.ensure_local(session, handle="busy.asker@example.com")
        receipt = conversations.record_inbound(
            session,
            channel="slack",
            principal_id=asker.id,
            text="When is payday?",
            reply_to={"team": "T1", "channel": "C1", "user": "U1", "thread_ts": "1.0", "is_dm": False},
        )
    return receipt.message_id


@pytest.mark.parametrize(("busy_depth", "busy"), [("0", True), ("50", False)])
def test_the_placeholder_says_busy_past_the_queue_depth(
    *,
    database_url: str,
    redis_server: BundledRedis,
    env: Env,
    fake_slack: FakeSlack,
    busy_depth: str,
    busy: bool,
) -> None:
    env.set(
        PLINTH_REDIS_URL=redis_server.url,
        PLINTH_SLACK_SIGNING_SECRET=SECRET,
        PLINTH_SLACK_BOT_TOKEN=BOT_TOKEN,
        PLINTH_SLACK_API_BASE_URL=fake_slack.api_url,
        PLINTH_QUEUE_BUSY_DEPTH=busy_depth,
    )
    message_id = _question()
    replier.post_placeholder(web_client(), message_id=message_id)
    [posted] = fake_slack.wait_for("chat.postMessage", channel="C1")
    settings = get_settings()
    expected = settings.queue.busy_notice if busy else settings.slack.placeholder_text
    assert posted.args["text"] == expected
