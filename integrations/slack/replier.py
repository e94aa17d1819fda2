"""Replies in Slack: the "working on it" placeholder, the answer that replaces it (exactly once across
retries, through the delivery bookkeeping), streamed progress, and where a reply finally failed.

The placeholder and the delivery serialise on the message row: the placeholder is posted only while no
delivery has begun, and a delivery edits the placeholder when there is one, so a thread never shows two."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import select

from app.core.db import session_scope, utcnow
from app.core.errors import AppError
from app.core.settings import get_settings
from app.domains.conversations import deliveries
from app.domains.conversations import service as conversations
from app.domains.knowledge.models import Document, DocumentVersion
from integrations.slack import blocks
from integrations.slack.client import NotInstalled, retry_handlers, team_token, web_client
from workers import client as queue

logger = logging.getLogger(__name__)

# Slack errors worth another attempt later (429s and 5xx are already retried inside each call).
TRANSIENT_SLACK_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


class DeliveryError(AppError):
    code = "slack_delivery_failed"

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def _lock_reply_to(message_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """Lock the message row (optionally adding fields) and return its reply context."""
    with session_scope() as session:
        return conversations.lock_reply_to(session, message_id=message_id, **fields)


def post_placeholder(client: WebClient, *, message_id: uuid.UUID) -> str | None:
    """Post "working on it" (or, past the queue's busy depth, that it will take a while) in the thread
    unless a delivery has begun; returns its ts."""
    settings = get_settings()
    text = settings.queue.busy_notice if queue.is_busy() else settings.slack.placeholder_text
    with session_scope() as session:
        reply_to = conversations.lock_reply_to(session, message_id=message_id)  # row lock until commit
        if reply_to.get("placeholder_ts") or reply_to.get("delivering") or reply_to.get("response_url"):
            return None
        posted = client.chat_postMessage(
            channel=reply_to["channel"],
            thread_ts=_thread(reply_to),
            text=text,
            blocks=blocks.notice_blocks(text),
        )
        ts = str(posted["ts"])
        conversations.lock_reply_to(session, message_id=message_id, placeholder_ts=ts)
    return ts


def _thread(reply_to: dict[str, Any]) -> str | None:
    # Direct messages are answered in the conversation itself, channels in the question's thread.
    return None if reply_to.get("is_dm") else reply_to.get("thread_ts")


def _sources(answer: Any) -> dict[int, blocks.SourceInfo]:
    stale_after = utcnow() - timedelta(days=get_settings().slack.stale_source_days)
    wanted = {(c.document_id, c.version_no): c.number for c in answer.citations}
    if not wanted:
        return {}
    with session_scope() as session:
        rows = session.execute(
            select(
                DocumentVersion.document_id,
                DocumentVersion.version_no,
                DocumentVersion.received_at,
                Document.review_at,
            )
            .join(Document, Document.id == DocumentVersion.document_id)
            .where(DocumentVersion.document_id.in_([d for d, _ in wanted]))
        ).all()
    found: dict[int, blocks.SourceInfo] = {}
    for document_id, version_no, received_at, review_at in rows:
        number = wanted.get((document_id, version_no))
        if number is not None:
            overdue = review_at is not None and review_at < utcnow()
            found[number] = blocks.SourceInfo(
                received_at=received_at, stale=overdue or received_at < stale_after
            )
    return found


def _send(
    client: WebClient, reply_to: dict[str, Any], existing_ts: str | None, content: dict[str, Any]
) -> str:
    """Edit what is already there (an earlier attempt's post, or the placeholder), else post."""
    if reply_to.get("response_url"):
        webhook = WebhookClient(reply_to["response_url"], retry_handlers=retry_handlers())
        response = webhook.send(
            replace_original=reply_to.get("replace", True), response_type="ephemeral", **content
        )
        if response.status_code != 200:
            raise DeliveryError(
                f"response_url answered {response.status_code}: {response.body}",
                transient=response.status_code >= 500,
            )
        return "response_url"
    ts = existing_ts or reply_to.get("placeholder_ts")
    if ts:
        client.chat_update(channel=reply_to["channel"], ts=ts, **content)
        return str(ts)
    posted = client.chat_postMessage(channel=reply_to["channel"], thread_ts=_thread(reply_to), **content)
    return str(posted["ts"])


def deliver(*, message_id: uuid.UUID, final_attempt: bool, client: WebClient | None = None) -> str | None:
    """Post the message's answer (once). Returns where it went, None when it already had. Raises
    DeliveryError (transient or not) after recording the failed attempt."""
    with session_scope() as session:
        attempt = deliveries.start_attempt(session, message_id=message_id)
        if attempt is None:
            return None
        answer = conversations.answer_view(session, message_id=message_id)
    assert answer is not None
    reply_to = _lock_reply_to(message_id, delivering=True)
    content = {
        "text": blocks.fallback_text(answer),
        "blocks": blocks.answer_blocks(
            answer, sources=_sources(answer), ephemeral=bool(reply_to.get("response_url"))
        ),
    }
    try:
        # The workspace's own bot token (OAuth mode: from its installation, by the stored team).
        ref = _send(client or web_client(team_token(reply_to)), reply_to, attempt.external_ref, content)
    except (SlackApiError, DeliveryError, NotInstalled, OSError) as exc:
        transient = _transient(exc)
        with session_scope() as session:
            deliveries.mark_failed(
                session,
                delivery_id=attempt.delivery_id,
                error=_describe(exc),
                final=final_attempt or not transient,
            )
        raise DeliveryError(_describe(exc), transient=transient) from exc
    with session_scope() as session:
        deliveries.mark_delivered(session, delivery_id=attempt.delivery_id, external_ref=ref)
    return ref


def share(client: WebClient, *, message_id: uuid.UUID) -> str | None:
    """Post a private answer in the channel it was asked in (once, however often the button is pressed)."""
    with session_scope() as session:
        attempt = deliveries.start_attempt(session, message_id=message_id, purpose="share")
        if attempt is None:
            return None
        answer = conversations.answer_view(session, message_id=message_id)
        reply_to = dict(conversations.get_message(session, message_id=message_id).reply_to or {})
    assert answer is not None
    intro = f"<@{reply_to['user']}> asked: {blocks.safe_mrkdwn(answer.question)}"
    posted = client.chat_postMessage(
        channel=reply_to["channel"],
        text=blocks.fallback_text(answer),
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": intro[: blocks.SECTION_LIMIT]}},
            *blocks.answer_blocks(answer, sources=_sources(answer)),
        ],
    )
    with session_scope() as session:
        deliveries.mark_delivered(session, delivery_id=attempt.delivery_id, external_ref=str(posted["ts"]))
    return str(posted["ts"])


def _transient(exc: Exception) -> bool:
    if isinstance(exc, DeliveryError):
        return exc.transient
    if isinstance(exc, NotInstalled):
        return False  # uninstalled: no retry brings the token back
    if isinstance(exc, SlackApiError):
        return exc.response.status_code >= 500 or exc.response.get("error") in TRANSIENT_SLACK_ERRORS
    return True  # connection trouble


def _describe(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.status_code}: {exc.response.get('error')}"
    return str(exc) or type(exc).__name__


def progress_updater(message_id: uuid.UUID) -> Callable[[str], None] | None:
    """A callback for a streaming answer: edits the placeholder with the text so far, at most once per
    `PLINTH_SLACK_PROGRESS_INTERVAL_S` (Slack allows about one message update per second per channel),
    the first time one interval after the answer started — a quick answer simply replaces the
    placeholder. Best effort: an update Slack refuses (a 429 included) is skipped, never waited for, so
    the model's stream is not held up. None when the message has no placeholder to edit."""
    reply_to = _lock_reply_to(message_id)
    ts, channel = reply_to.get("placeholder_ts"), reply_to.get("channel")
    if not ts or not channel:
        return None
    try:
        client = web_client(team_token(reply_to), retries=False)
    except NotInstalled:
        return None
    interval = get_settings().slack.progress_interval_s
    state = {"last": time.monotonic()}
    lock = threading.Lock()

    def update(text_so_far: str) -> None:
        now = time.monotonic()
        with lock:
            if now - state["last"] < interval:
                return
            state["last"] = now
        try:
            partial = text_so_far[: blocks.SECTION_LIMIT - 100] + " …"
            client.chat_update(
                channel=channel, ts=ts, text=blocks.safe_mrkdwn(partial), blocks=blocks.notice_blocks(partial)
            )
        except SlackApiError as exc:  # progress is best effort; the final answer is what must land
            logger.warning("progress update of %s failed: %s", message_id, _describe(exc))

    return update
