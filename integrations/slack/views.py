"""Modal submissions: a suggested correction (awaiting review) and the reason for a 👎."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from app.core.db import session_scope
from app.core.errors import AppError
from app.domains.conversations import feedback
from app.domains.conversations import service as conversations
from app.domains.corrections import service as corrections
from integrations.slack import blocks, identity
from integrations.slack.intake import CHANNEL


def _submitted(view: dict[str, Any], block_id: str) -> str:
    return str(
        ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get("text", {}).get("value") or ""
    )


def _asker(body: dict[str, Any], client: WebClient, context: BoltContext, session: Any) -> uuid.UUID:
    team_id = str((body.get("team") or {}).get("id") or context.team_id)
    return identity.principal_id(session, client, team_id=team_id, user_id=str(body["user"]["id"]))


def on_correction(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    text = _submitted(view, "correction")
    try:
        with session_scope() as session:
            corrections.suggest(
                session,
                message_id=uuid.UUID(view["private_metadata"]),
                principal_id=_asker(body, client, context, session),
                text=text,
                channel=CHANNEL,
            )
    except AppError as exc:
        # Shown under the field; the modal stays open with what was typed.
        ack(response_action="errors", errors={"correction": exc.message})
        return
    ack(response_action="update", view=_done("Thanks — your correction is waiting for review."))


def on_feedback_reason(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    reason = _submitted(view, "reason").strip()
    if not reason:
        ack()
        return
    try:
        with session_scope() as session:
            answer = conversations.find_answer(session, message_id=uuid.UUID(view["private_metadata"]))
            if answer is None:
                raise AppError("that answer is not there any more")
            feedback.record(
                session,
                answer_id=answer.id,
                principal_id=_asker(body, client, context, session),
                rating=-1,
                reason=reason,
                channel=CHANNEL,
            )
    except AppError as exc:
        ack(response_action="errors", errors={"reason": exc.message})
        return
    ack()


def _done(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Plinth"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks.notice_blocks(text),
    }


def register(app: App) -> None:
    app.view(blocks.VIEW_CORRECTION)(on_correction)
    app.view(blocks.VIEW_FEEDBACK_REASON)(on_feedback_reason)
