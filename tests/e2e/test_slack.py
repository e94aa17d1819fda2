"""The Slack front end over its real protocols: signed HTTP requests built from real Slack payloads
against the running API (`plinth api`), a real Celery worker answering and replying, and the fake Slack
Web API recording every call (and failing on demand)."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import session_scope
from app.domains.channels import service as channels
from app.domains.conversations.models import Delivery, Escalation, Feedback, Message
from app.domains.corrections.models import Correction
from app.runtime.processes import ManagedProcess
from audit.models import AuditEvent
from tests.fakes.slack_api import TEAM, Failure, FakeSlack
from tests.support.processes import plinth_env, run_cli
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
ESCALATIONS = "C0ESCALATE"
QUESTION = "How do I request sick leave?"


@pytest.fixture(scope="module")
def slack_settings() -> dict[str, str]:
    return {"PLINTH_SLACK_BOT_TOKEN": BOT_TOKEN, "PLINTH_SLACK_ESCALATION_CHANNEL": ESCALATIONS}


def test_a_mention_gets_a_placeholder_then_the_answer_in_its_thread(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker = person(fake_slack)
    colleague = person(fake_slack)
    room = channel(fake_slack, [asker, colleague])
    body = payloads.mention(QUESTION, user=asker, channel=room)
    response = slack.event(body)
    assert response.status_code == 200, response.text
    thread = body["event"]["ts"]
    placeholder = fake_slack.wait_for("chat.postMessage", channel=room, thread_ts=thread)
    assert len(placeholder) == 1
    assert placeholder[0].args["text"] == "Working on it…"
    answer = answered_in(fake_slack, channel_id=room)
    assert answer["ts"] == placeholder[0].result["ts"]  # the placeholder was edited into the answer
    text = str(answer["blocks"])
    assert "leave" in text.lower()
    assert "Suggest a correction" in text
    assert "Escalate to a human" in text
    assert "👍" in text
    [stored] = messages(external_id=body["event_id"])
    assert stored.text == QUESTION  # the bot's mention is not part of the question
    assert stored.audience == f"slack:{TEAM}:{room}"
    with session_scope() as session:
        readers = channels.audience_members(session, audience=stored.audience)
    assert len(readers) == 2  # asker and colleague; the bot is not a reader
    assert stored.principal_id in readers


def test_a_direct_message_is_answered_in_the_conversation(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker = person(fake_slack)
    dm = "D" + uuid.uuid4().hex[:9].upper()
    body = payloads.message(QUESTION, user=asker, channel=dm)
    assert slack.event(body).status_code == 200
    answer = answered_in(fake_slack, channel_id=dm)
    assert answer.get("thread_ts") is None
    [stored] = messages(external_id=body["event_id"])
    assert stored.audience is None  # the asker's own access applies


def test_slack_retries_are_processed_once(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker = person(fake_slack)
    room = channel(fake_slack, [asker])
    body = payloads.mention(QUESTION, user=asker, channel=room)
    responses = [slack.event(body), slack.event(body, retry_num=1), slack.event(body, retry_num=2)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    answered_in(fake_slack, channel_id=room)
    time.sleep(1.0)  # anything duplicated would have been posted by now
    assert len(messages(external_id=body["event_id"])) == 1
    posts = [c for c in fake_slack.calls("chat.postMessage") if c.args.get("channel") == room]
    assert len(posts) == 1  # one placeholder, edited into the one answer
    with session_scope() as session:
        deliveries = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .join(Message, Message.id == Delivery.message_id)
            .where(Message.external_id == body["event_id"])
        )
    assert deliveries == 1


@pytest.mark.parametrize("problem", ["bad signature", "stale timestamp"])
def test_bad_or_stale_signatures_are_refused_and_nothing_is_stored(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack, problem: str
) -> None:
    asker = person(fake_slack)
    body = payloads.message(QUESTION, user=asker, channel="D0SIGNED1")
    if problem == "bad signature":
        response = slack.event(body, secret="not-the-secret")
    else:
        response = slack.event(body, timestamp=int(time.time()) - 600)
    assert response.status_code == 401
    assert problem.rsplit(maxsplit=1)[-1] in response.json()["error"]["message"]
    assert messages(external_id=body["event_id"]) == []
    assert fake_slack.calls() == []
    with session_scope() as session:
        reasons = list(
            session.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == "auth.failed"))
        )
    assert reasons  # refusals are audited


def test_bot_messages_are_ignored(slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack) -> None:
    body = payloads.json("squarebot/bot_message.json")
    body["event_id"] = "Ev" + uuid.uuid4().hex[:10].upper()
    assert slack.event(body).status_code == 200
    assert messages(external_id=body["event_id"]) == []
    assert fake_slack.calls("chat.postMessage") == []


def test_slash_command_answers_privately_and_shares_once(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker = person(fake_slack)
    room = channel(fake_slack, [asker])
    hook = uuid.uuid4().hex
    response = slack.form(
        payloads.command(QUESTION, user=asker, channel=room, response_url=fake_slack.response_url(hook))
    )
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    [reply] = fake_slack.wait_for(f"response_url:{hook}")
    assert reply.args["replace_original"] is True
    assert "Share in channel" in str(reply.args["blocks"])
    message_id = next(
        m.id for m in messages() if (m.reply_to or {}).get("response_url") == fake_slack.response_url(hook)
    )
    share = payloads.button(
        "plinth_share", str(message_id), user=asker, channel=room, response_url=fake_slack.response_url(hook)
    )
    assert slack.interaction(share).status_code == 200
    assert slack.interaction(share).status_code == 200
    time.sleep(0.5)
    shared = [c for c in fake_slack.calls("chat.postMessage") if c.args.get("channel") == room]
    assert len(shared) == 1
    assert "asked" in str(shared[0].args["blocks"])


def _answered_message(
    slack: SlackSender, payloads: SlackPayloads, fake: FakeSlack
) -> tuple[str, str, Message]:
    asker = person(fake)
    room = channel(fake, [asker])
    body = payloads.mention(QUESTION, user=asker, channel=room)
    assert slack.event(body).status_code == 200
    answered_in(fake, channel_id=room)
    [stored] = messages(external_id=body["event_id"])
    return asker, room, stored


def test_feedback_corrections_and_escalations_from_the_buttons(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker, room, stored = _answered_message(slack, payloads, fake_slack)
    hook = fake_slack.response_url(uuid.uuid4().hex)
    value = str(stored.id)
    assert (
        slack.interaction(
            payloads.button("plinth_feedback_up", value, user=asker, channel=room, response_url=hook)
        ).status_code
        == 200
    )
    assert (
        slack.interaction(
            payloads.button("plinth_feedback_down", value, user=asker, channel=room, response_url=hook)
        ).status_code
        == 200
    )
    [reason_modal] = fake_slack.wait_for("views.open")
    assert reason_modal.args["view"]["callback_id"] == "plinth_feedback_reason"
    reason = payloads.view_submission(
        "plinth_feedback_reason",
        value,
        user=asker,
        values={"reason": {"text": {"type": "plain_text_input", "value": "out of date"}}},
    )
    assert slack.interaction(reason).status_code == 200
    with session_scope() as session:
        ratings = [
            (f.rating, f.reason)
            for f in session.scalars(select(Feedback).where(Feedback.principal_id == stored.principal_id))
        ]
    assert ratings == [(-1, "out of date")]

    assert (
        slack.interaction(
            payloads.button("plinth_suggest_correction", value, user=asker, channel=room, response_url=hook)
        ).status_code
        == 200
    )
    modals = fake_slack.wait_for("views.open", count=2)
    assert modals[-1].args["view"]["callback_id"] == "plinth_correction"
    empty = payloads.view_submission(
        "plinth_correction", value, user=asker, values={"correction": {"text": {"value": "  "}}}
    )
    refused = slack.interaction(empty)
    assert refused.status_code == 200
    assert refused.json()["response_action"] == "errors"
    suggestion = payloads.view_submission(
        "plinth_correction",
        value,
        user=asker,
        values={"correction": {"text": {"value": "Sick leave is requested in the HR system."}}},
    )
    assert slack.interaction(suggestion).json()["response_action"] == "update"
    with session_scope() as session:
        [correction] = session.scalars(select(Correction).where(Correction.message_id == stored.id))
    assert correction.status == "pending"

    assert (
        slack.interaction(
            payloads.button("plinth_escalate", value, user=asker, channel=room, response_url=hook)
        ).status_code
        == 200
    )
    [posted] = fake_slack.wait_for("chat.postMessage", channel=ESCALATIONS)
    assert QUESTION in str(posted.args["blocks"])
    with session_scope() as session:
        [escalation] = session.scalars(select(Escalation).where(Escalation.message_id == stored.id))
        assert escalation.external_ref
        assert escalation.external_ref.startswith(ESCALATIONS)
        audited = set(
            session.scalars(
                select(AuditEvent.event_type).where(AuditEvent.correlation_id == stored.correlation_id)
            )
        )
    assert {
        "input.received",
        "output.generated",
        "output.delivered",
        "feedback.recorded",
        "correction.suggested",
        "escalation.requested",
    } <= audited


def test_rate_limits_are_waited_out_and_the_reply_lands_once(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker = person(fake_slack)
    room = channel(fake_slack, [asker])
    fake_slack.fail(
        "chat.update", Failure(status=429, retry_after=1, error="ratelimited", times=2, channel=room)
    )
    assert slack.event(payloads.mention(QUESTION, user=asker, channel=room)).status_code == 200
    answered_in(fake_slack, channel_id=room)
    updates = [c for c in fake_slack.calls("chat.update") if c.args.get("channel") == room]
    assert len(updates) == 3  # two answered 429, the third landed
    assert updates[1].at - updates[0].at >= 0.9  # Retry-After honoured
    assert len([c for c in fake_slack.calls("chat.postMessage") if c.args.get("channel") == room]) == 1


def test_a_reply_that_fails_for_good_is_recorded_for_admins(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack, stack: dict[str, str]
) -> None:
    asker = person(fake_slack)
    room = channel(fake_slack, [asker])
    # Every edit fails: the streamed progress updates (best effort) and then the answer itself.
    fake_slack.fail(
        "chat.update",
        Failure(status=200, retry_after=None, error="channel_not_found", channel=room, times=50),
    )
    body = payloads.mention(QUESTION, user=asker, channel=room)
    assert slack.event(body).status_code == 200
    [stored] = messages(external_id=body["event_id"])
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline and status != "failed":
        with session_scope() as session:
            status = session.scalar(select(Delivery.status).where(Delivery.message_id == stored.id))
        time.sleep(0.2)
    assert status == "failed"
    listed = run_cli("slack", "failed", env=plinth_env(stack))
    assert listed.returncode == 0, listed.stderr
    assert str(stored.id) in listed.stdout
    assert "channel_not_found" in listed.stdout


def test_thread_follow_ups_join_the_conversation(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker = person(fake_slack)
    room = channel(fake_slack, [asker])
    first = payloads.mention(QUESTION, user=asker, channel=room)
    assert slack.event(first).status_code == 200
    answered_in(fake_slack, channel_id=room)
    thread = first["event"]["ts"]
    follow_up = payloads.message(
        "And how many hours do I get?", user=asker, channel=room, im=False, thread_ts=thread
    )
    chatter = payloads.message("lunch?", user=asker, channel=room, im=False)
    assert slack.event(follow_up).status_code == 200
    assert slack.event(chatter).status_code == 200
    [earlier] = messages(external_id=first["event_id"])
    [later] = messages(external_id=follow_up["event_id"])
    assert later.conversation_id == earlier.conversation_id
    assert messages(external_id=chatter["event_id"]) == []  # not addressed to Plinth


def test_app_home_shows_recent_questions(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker, _, _ = _answered_message(slack, payloads, fake_slack)
    body = payloads.json("squarebot/message.im.json")
    body["event_id"] = "Ev" + uuid.uuid4().hex[:10].upper()
    body["event"] = {
        "type": "app_home_opened",
        "user": asker,
        "channel": "D0HOME",
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    assert slack.event(body).status_code == 200
    [published] = fake_slack.wait_for("views.publish", user_id=asker)
    assert QUESTION in str(published.args["view"])


def test_message_shortcut_asks_about_a_message(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack
) -> None:
    asker = person(fake_slack)
    room = channel(fake_slack, [asker])
    payload = payloads.form_payload("opsdroid/payload_message_action.urlencoded")
    hook = uuid.uuid4().hex
    payload.update(
        callback_id="ask_plinth", response_url=fake_slack.response_url(hook), trigger_id=uuid.uuid4().hex
    )
    payload["user"] = {**payload["user"], "id": asker}
    payload["team"] = {**payload["team"], "id": TEAM}
    payload["channel"] = {**payload["channel"], "id": room}
    payload["message"] = {**payload["message"], "text": QUESTION}
    assert slack.interaction(payload).status_code == 200
    fake_slack.wait_for("chat.postEphemeral", channel=room, user=asker)
    [reply] = fake_slack.wait_for(f"response_url:{hook}")
    assert "Share in channel" in str(reply.args["blocks"])


def test_files_shared_in_a_dm_are_ingested_or_refused_with_reasons(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack, shared_data: Path
) -> None:
    asker = person(fake_slack)
    dm = "D" + uuid.uuid4().hex[:9].upper()
    body = payloads.json("zulip-webhook-fixtures/message_with_variety_files.json")
    body["event_id"] = "Ev" + uuid.uuid4().hex[:10].upper()
    body["event"].update(user=asker, channel=dm, channel_type="im")
    by_name = {f["name"]: f for f in body["event"]["files"]}
    document, binary = by_name["channels.json"], by_name["discord-0.0.55.deb"]
    document.update(name="travel.md", id="F" + uuid.uuid4().hex[:8].upper())
    source = shared_data / "qa/handbook-18F/pages/travel-and-leave/overtime.md"
    document["url_private_download"] = fake_slack.add_file(document["id"], source.read_bytes())
    binary["url_private_download"] = fake_slack.add_file(binary["id"], bytes(range(256)) * 8)
    body["event"]["files"] = [document, binary]
    assert slack.event(body).status_code == 200
    [confirmation] = fake_slack.wait_for("chat.postMessage", channel=dm, timeout_s=120)
    text = confirmation.args["text"]
    assert ":white_check_mark: Added" in text
    assert "Could not add *discord-0.0.55.deb*" in text
    downloads = [c for c in fake_slack.calls() if c.method.startswith("files:")]
    assert {c.token for c in downloads} == {BOT_TOKEN}
    with session_scope() as session:
        refused = session.scalars(
            select(AuditEvent.payload).where(AuditEvent.event_type == "document.refused")
        ).all()
    assert refused


def test_socket_mode_takes_events_over_the_websocket(
    slack: SlackSender, payloads: SlackPayloads, fake_slack: FakeSlack, stack: dict[str, str], tmp_path: Path
) -> None:
    env = plinth_env({**stack, "PLINTH_SLACK_APP_TOKEN": "xapp-test-plinth"})
    socket = ManagedProcess(
        "socket", [sys.executable, "-m", "app.cli", "slack", "socket"], env, tmp_path / "socket.log"
    )
    socket.start()
    try:
        deadline = time.monotonic() + 60
        while not fake_slack.state.socket_connected:
            assert socket.exited() is None, (tmp_path / "socket.log").read_text()
            assert time.monotonic() < deadline, "Socket Mode client did not connect"
            time.sleep(0.1)
        asker = person(fake_slack)
        room = channel(fake_slack, [asker])
        body = payloads.mention(QUESTION, user=asker, channel=room)
        envelope = {
            "envelope_id": uuid.uuid4().hex,
            "type": "events_api",
            "payload": body,
            "accepts_response_payload": False,
            "retry_attempt": 0,
        }
        with fake_slack.state.lock:
            fake_slack.state.outbox.append(envelope)
        placeholder = fake_slack.wait_for("chat.postMessage", channel=room, thread_ts=body["event"]["ts"])
        assert len(placeholder) == 1
        assert any(a.get("envelope_id") == envelope["envelope_id"] for a in fake_slack.state.socket_acks)
        [stored] = messages(external_id=body["event_id"])
        assert stored.audience == f"slack:{TEAM}:{room}"
    finally:
        socket.stop()
