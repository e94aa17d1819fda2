"""Who may ask where, over the Slack front end's real protocols: channel settings, Slack Connect
channels, and a channel's member list read again after the acknowledgement once it is stale."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.db import session_scope, utcnow
from app.domains.channels import service as channels
from audit.models import AuditEvent
from tests.fakes.slack_api import TEAM, FakeSlack
from tests.support.slack import (
    BOT_TOKEN,
    SlackPayloads,
    SlackSender,
    answered_in,
    channel,
    messages,
    person,
)

pytestmark = pytest.mark.slow
QUESTION = "How do I request sick leave?"


@pytest.fixture(scope="module")
def slack_settings() -> dict[str, str]:
    return {"PLINTH_SLACK_BOT_TOKEN": BOT_TOKEN}


def test_a_stale_member_list_is_read_again_after_the_ack(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker = person(fake_slack)
    room = channel(fake_slack, [asker])
    assert slack.event(payloads.mention(QUESTION, user=asker, channel=room)).status_code == 200
    answered_in(fake_slack, channel_id=room)
    audience = f"slack:{TEAM}:{room}"
    joined = person(fake_slack)
    fake_slack.state.channels[room]["members"].append(joined)
    reads = len(fake_slack.calls("conversations.members"))
    # A question while the list is fresh reads nothing; once past the TTL, the next one refreshes it.
    assert slack.event(payloads.mention(QUESTION, user=asker, channel=room)).status_code == 200
    fake_slack.wait_for("chat.postMessage", count=2, channel=room)
    assert len(fake_slack.calls("conversations.members")) == reads
    with session_scope() as session:
        channels.get_channel(session, audience=audience).members_synced_at = utcnow() - timedelta(days=2)
    assert slack.event(payloads.mention(QUESTION, user=asker, channel=room)).status_code == 200
    assert len(fake_slack.wait_for("conversations.members", count=reads + 1)) == reads + 1
    deadline = time.monotonic() + 30
    while True:
        with session_scope() as session:
            readers = channels.audience_members(session, audience=audience)
        if len(readers) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(readers) == 2


def test_no_answers_in_slack_connect_channels(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker = person(fake_slack)
    room = channel(fake_slack, [asker], shared=True)
    body = payloads.mention(QUESTION, user=asker, channel=room)
    assert slack.event(body).status_code == 200
    [refusal] = fake_slack.wait_for("chat.postEphemeral", channel=room, user=asker)
    assert "Slack Connect" in refusal.args["text"]
    assert messages(external_id=body["event_id"]) == []
    with session_scope() as session:  # not a message, but audited with what was asked and why not
        rejected = session.scalars(
            select(AuditEvent.payload).where(AuditEvent.event_type == "input.rejected")
        ).all()
    [audited] = [p for p in rejected if p and p["external_id"] == body["event_id"]]
    assert audited["text"] == QUESTION
    assert "Slack Connect" in audited["reason"]


def test_channel_settings_decide_who_may_ask(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker, other = person(fake_slack), person(fake_slack)
    room = channel(fake_slack, [asker, other])
    audience = f"slack:{TEAM}:{room}"
    with session_scope() as session:
        channels.configure(session, audience=audience, by=None, allowed_users=[other])
    body = payloads.mention(QUESTION, user=asker, channel=room)
    assert slack.event(body).status_code == 200
    [refusal] = fake_slack.wait_for("chat.postEphemeral", channel=room, user=asker)
    assert "Only some people" in refusal.args["text"]
    with session_scope() as session:
        channels.configure(session, audience=audience, by=None, enabled=False)
    body = payloads.mention(QUESTION, user=other, channel=room)
    assert slack.event(body).status_code == 200
    [off] = fake_slack.wait_for("chat.postEphemeral", channel=room, user=other)
    assert "turned off" in off.args["text"]
    assert messages(audience=audience) == []
