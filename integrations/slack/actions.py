"""Buttons on an answer: 👍 / 👎 (👎 asks for an optional reason), "Suggest a correction" (opens the
modal), "Escalate to a human", and "Share in channel" for a private answer. Every one is audited by the
service it calls."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from app.core.db import session_scope
from app.core.errors import AppError
from app.core.settings import get_settings
from app.domains.conversations import escalations, feedback
from app.domains.conversations import service as conversations
from integrations.slack import blocks, identity, replier
from integrations.slack.intake import CHANNEL

ESCALATED = "Thanks — a person will pick this up."


def _context(body: dict[str, Any], context: BoltContext) -> tuple[str, str, uuid.UUID]:
    team_id = str((body.get("team") or {}).get("id") or context.team_id)
    user_id = str(body["user"]["id"])
    return team_id, user_id, uuid.UUID(body["actions"][0]["value"])


def on_feedback(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    team_id, user_id, message_id = _context(body, context)
    rating = 1 if body["actions"][0]["action_id"] == blocks.ACTION_FEEDBACK_UP else -1
    try:
        with session_scope() as session:
            asker = identity.principal_id(session, client, team_id=team_id, user_id=user_id)
            answer = conversations.find_answer(session, message_id=message_id)
            if answer is None:
                raise AppError("that answer is not there any more")
            feedback.record(
                session, answer_id=answer.id, principal_id=asker, rating=rating, reason=None, channel=CHANNEL
            )
    except AppError as exc:
        respond(
            text=f"Your rating was not recorded: {exc.message}",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    if rating < 0:
        client.views_open(
            trigger_id=body["trigger_id"], view=blocks.feedback_reason_modal(message_id=str(message_id))
        )


def on_suggest(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    _, _, message_id = _context(body, context)
    with session_scope() as session:
        message = conversations.get_message(session, message_id=message_id)
        answer = conversations.find_answer(session, message_id=message_id)
        question, text = message.text, answer.text if answer else ""
    client.views_open(
        trigger_id=body["trigger_id"],
        view=blocks.correction_modal(message_id=str(message_id), question=question, answer=text),
    )


def on_escalate(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    ack()
    team_id, user_id, message_id = _context(body, context)
    with session_scope() as session:
        asker = identity.principal_id(session, client, team_id=team_id, user_id=user_id)
        escalation = escalations.request(
            session, message_id=message_id, principal_id=asker, channel=CHANNEL, reason=None
        )
        escalation_id = escalation.id
        message = conversations.get_message(session, message_id=message_id)
        answer = conversations.find_answer(session, message_id=message_id)
        question, text, reply_to = message.text, answer.text if answer else None, dict(message.reply_to or {})
    target = get_settings().slack.escalation_channel
    if target:
        link = _permalink(client, reply_to)
        posted = client.chat_postMessage(
            channel=target,
            text=f"Escalated question: {blocks.safe_mrkdwn(question)[:200]}",
            blocks=blocks.escalation_blocks(question=question, answer=text, link=link, asker=user_id),
        )
        with session_scope() as session:
            escalations.mark_posted(
                session, escalation_id=escalation_id, external_ref=f"{target}/{posted['ts']}"
            )
    respond(text=ESCALATED, response_type="ephemeral", replace_original=False)


def _permalink(client: WebClient, reply_to: dict[str, Any]) -> str | None:
    ts = reply_to.get("thread_ts") or reply_to.get("placeholder_ts")
    if not ts or not reply_to.get("channel"):
        return None
    return str(client.chat_getPermalink(channel=reply_to["channel"], message_ts=ts)["permalink"])


def on_share(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
) -> None:
    """Post a private answer in the channel it was asked in, once."""
    ack()
    _, user_id, message_id = _context(body, context)
    with session_scope() as session:
        message = conversations.get_message(session, message_id=message_id)
        if message.reply_to is None or message.reply_to.get("user") != user_id:
            respond(
                text="Only the person who asked can share this answer.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
    replier.share(client, message_id=message_id)
    respond(delete_original=True)


def register(app: App) -> None:
    app.action(blocks.ACTION_FEEDBACK_UP)(on_feedback)
    app.action(blocks.ACTION_FEEDBACK_DOWN)(on_feedback)
    app.action(blocks.ACTION_SUGGEST)(on_suggest)
    app.action(blocks.ACTION_ESCALATE)(on_escalate)
    app.action(blocks.ACTION_SHARE)(on_share)
