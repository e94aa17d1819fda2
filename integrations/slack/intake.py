"""From a Slack payload to a recorded, queued question — the whole of the acknowledgement path. The
question is stored (and audited) and its answer task queued before Slack gets its 200; if either fails
the request fails, so Slack retries and nothing is lost. A retry finds the first receipt by event id."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.channels import service as channels
from app.domains.conversations import service as conversations
from app.domains.conversations.models import Conversation, Message
from integrations.slack import identity, members
from workers import client as queue

CHANNEL = "slack"
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(\|[^>]*)?>")


@dataclass(frozen=True)
class Question:
    team_id: str
    user_id: str
    text: str
    external_id: str  # the Slack event id (or trigger id for commands and shortcuts)
    channel_id: str
    is_dm: bool
    mentioned: bool
    thread_ts: str | None  # the thread to answer in (None: a private answer through response_url)
    reply: dict[str, Any] = field(default_factory=dict)  # extra reply context (response_url, ...)
    # Enterprise Grid: the organisation, and whether Plinth is installed org-wide (OAuth mode picks the
    # installation, and so the bot token, by these and the team).
    enterprise_id: str | None = None
    org_install: bool = False


@dataclass(frozen=True)
class Outcome:
    message_id: uuid.UUID | None
    duplicate: bool = False
    queued: bool = False  # its answer was queued by this request (a placeholder should follow)
    refusal: str | None = None  # told to the asker
    ignored: bool = False
    members_stale: bool = False  # the channel's stored member list is older than its TTL


def grid_of(context: Any) -> dict[str, Any]:
    """A request's Enterprise Grid fields for a Question (from Bolt's context)."""
    return {
        "enterprise_id": context.enterprise_id,
        "org_install": bool(context.is_enterprise_install),
    }


def strip_mentions(text: str, bot_user_id: str | None) -> str:
    """The question without the mention of the bot that addressed it."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return " ".join(text.split())


def conversation_key(question: Question) -> str:
    root = question.thread_ts or question.external_id
    return f"{question.team_id}:{question.channel_id}:{root}"


def is_plinth_thread(session: Session, *, team_id: str, channel_id: str, thread_ts: str) -> bool:
    """Whether Plinth already answers in this thread (a follow-up needs no mention)."""
    key = f"{team_id}:{channel_id}:{thread_ts}"
    return (
        session.scalar(
            select(Conversation.id).where(Conversation.channel == CHANNEL, Conversation.external_key == key)
        )
        is not None
    )


def _taken(session: Session, message_id: uuid.UUID) -> bool:
    row = session.execute(select(Message.status, Message.reply_to).where(Message.id == message_id)).one()
    reply_to = row.reply_to or {}
    return row.status != "received" or bool(reply_to.get("placeholder_ts") or reply_to.get("delivering"))


def accept(client: WebClient, question: Question) -> Outcome:
    """Record and queue the question (or say why not). Raises when it cannot be stored or queued."""
    settings = get_settings().slack
    with session_scope() as session:
        principal_id = identity.principal_id(
            session, client, team_id=question.team_id, user_id=question.user_id
        )
        audience = None
        members_stale = False
        if not question.is_dm:
            audience = channels.slack_audience(question.team_id, question.channel_id)
            channel = channels.ensure_channel(session, audience=audience)
            if channel.members_synced_at is None:
                members.sync(session, client, team_id=question.team_id, channel_id=question.channel_id)
            else:
                members_stale = not channels.members_fresh(channel, ttl_s=settings.members_ttl_s)
            decision = channels.may_answer(
                session,
                audience=audience,
                asker_external_id=question.user_id,
                mentioned=question.mentioned,
                allow_external_default=settings.answer_with_external_members,
            )
            if not decision.answer:
                if not decision.silent:
                    conversations.record_rejected(
                        session,
                        channel=CHANNEL,
                        principal_id=principal_id,
                        text=question.text,
                        reason=decision.reason or "not answered here",
                        external_id=question.external_id,
                        audience=audience,
                    )
                return Outcome(None, refusal=decision.reason, ignored=decision.silent)
        receipt = conversations.record_inbound(
            session,
            channel=CHANNEL,
            principal_id=principal_id,
            text=question.text,
            external_id=question.external_id,
            conversation_key=conversation_key(question),
            reply_to={
                "team": question.team_id,
                "channel": question.channel_id,
                "user": question.user_id,
                "thread_ts": question.thread_ts,
                "is_dm": question.is_dm,
                **({"enterprise": question.enterprise_id} if question.enterprise_id else {}),
                **({"org_install": True} if question.org_install else {}),
                **question.reply,
            },
            audience=audience,
        )
        pending = not receipt.duplicate or not _taken(session, receipt.message_id)
    # A retry of a receipt whose enqueue failed queues it now. One that was taken (its placeholder
    # follows every successful ack) is left alone; queuing twice would only cost time, answering and
    # delivering are idempotent.
    if pending:
        queue.enqueue_answer(message_id=receipt.message_id)
    return Outcome(
        receipt.message_id, duplicate=receipt.duplicate, queued=pending, members_stale=members_stale
    )


def refresh_members(client: WebClient, *, team_id: str, channel_id: str) -> None:
    """Re-read a channel's members when the stored list is (still) older than the configured TTL."""
    audience = channels.slack_audience(team_id, channel_id)
    with session_scope() as session:
        channel = channels.ensure_channel(session, audience=audience)
        if channels.members_fresh(channel, ttl_s=get_settings().slack.members_ttl_s):
            return
        members.sync(session, client, team_id=team_id, channel_id=channel_id)
