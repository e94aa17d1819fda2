"""Events API listeners: mentions in channels, direct messages, thread follow-ups, channel membership.
Each acknowledges only once the question is stored and queued; the placeholder follows after the ack."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from app.core.db import session_scope
from app.domains.channels import service as channels
from app.domains.principals import external
from integrations.slack import files, intake, replier
from integrations.slack.identity import PROVIDER
from workers import client as queue

logger = logging.getLogger(__name__)
MESSAGE_ID = "plinth_message_id"
MEMBERS_STALE = "plinth_members_stale"


def _from_bot(event: dict[str, Any], context: BoltContext) -> bool:
    # Bolt drops the app's own events; other bots' messages are not questions either.
    return bool(
        event.get("bot_id")
        or event.get("subtype") == "bot_message"
        or event.get("user") == context.bot_user_id
    )


def _question(
    event: dict[str, Any], body: dict[str, Any], context: BoltContext, *, mentioned: bool
) -> intake.Question:
    is_dm = event.get("channel_type") == "im"
    return intake.Question(
        team_id=str(body.get("team_id") or context.team_id),
        user_id=str(event["user"]),
        text=intake.strip_mentions(event.get("text") or "", context.bot_user_id),
        external_id=str(body.get("event_id") or f"{event['channel']}:{event['ts']}"),
        channel_id=str(event["channel"]),
        is_dm=is_dm,
        mentioned=mentioned,
        thread_ts=None if is_dm else str(event.get("thread_ts") or event["ts"]),
        **intake.grid_of(context),
    )


def _take(ack: Ack, client: WebClient, context: BoltContext, question: intake.Question) -> None:
    outcome = intake.accept(client, question)  # raises → non-2xx → Slack retries
    ack()
    if outcome.refusal:
        context["plinth_refusal"] = outcome.refusal
    elif outcome.message_id and outcome.queued:
        context[MESSAGE_ID] = str(outcome.message_id)
    context[MEMBERS_STALE] = outcome.members_stale


def on_mention(
    ack: Ack, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    if _from_bot(event, context):
        ack()
        return
    _take(ack, client, context, _question(event, body, context, mentioned=True))


def on_message(
    ack: Ack, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    subtype = event.get("subtype")
    mentions_bot = bool(context.bot_user_id and f"<@{context.bot_user_id}" in (event.get("text") or ""))
    if _from_bot(event, context) or subtype not in (None, "file_share", "thread_broadcast") or mentions_bot:
        ack()  # edits, joins, bots; and mentions, which arrive as app_mention too
        return
    if subtype == "file_share" and event.get("channel_type") == "im":
        queue.enqueue_slack_files(
            team_id=str(body.get("team_id") or context.team_id),
            user_id=str(event["user"]),
            channel_id=str(event["channel"]),
            files=files.shared_files(event),
            grid=intake.grid_of(context),
        )  # raises → non-2xx → Slack retries
        ack()
        return
    if event.get("channel_type") != "im":
        thread_ts = event.get("thread_ts")
        with session_scope() as session:
            ours = thread_ts and intake.is_plinth_thread(
                session, team_id=str(body.get("team_id")), channel_id=event["channel"], thread_ts=thread_ts
            )
        if not ours:
            ack()  # channel chatter not addressed to Plinth
            return
    if not (event.get("text") or "").strip():
        ack()
        return
    _take(ack, client, context, _question(event, body, context, mentioned=False))


def after_question(
    body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """After the ack: the placeholder (or the refusal), then a member list found stale is refreshed."""
    message_id = context.get(MESSAGE_ID)
    refusal = context.get("plinth_refusal")
    if refusal:
        client.chat_postEphemeral(channel=event["channel"], user=event["user"], text=refusal)
    if message_id:
        replier.post_placeholder(client, message_id=uuid.UUID(message_id))
    if event.get("channel_type") != "im" and message_id and context.get(MEMBERS_STALE):
        intake.refresh_members(client, team_id=str(body.get("team_id")), channel_id=event["channel"])


def on_member_change(body: dict[str, Any], event: dict[str, Any], client: WebClient, ack: Ack) -> None:
    """Keep the member list current between full syncs (member_joined_channel / member_left_channel)."""
    ack()
    team_id = str(event.get("team") or body.get("team_id"))
    audience = channels.slack_audience(team_id, event["channel"])
    with session_scope() as session:
        principal = external.linked_principal(
            session, provider=PROVIDER, namespace=team_id, external_id=event["user"]
        )
        if event["type"] == "member_left_channel":
            if principal is not None:
                channels.remove_member(session, audience=audience, principal_id=principal.id)
            return
        if principal is None:
            intake.identity.principal_id(session, client, team_id=team_id, user_id=event["user"])
            principal = external.linked_principal(
                session, provider=PROVIDER, namespace=team_id, external_id=event["user"]
            )
        if principal is not None:
            channels.add_member(session, audience=audience, principal_id=principal.id)


def register(app: App) -> None:
    app.event("app_mention")(ack=on_mention, lazy=[after_question])
    app.event("message")(ack=on_message, lazy=[after_question])
    app.event("member_joined_channel")(on_member_change)
    app.event("member_left_channel")(on_member_change)
