"""The App Home tab: how to use Plinth, the person's recent questions and their usage."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from sqlalchemy import func, select

from app.core.db import session_scope
from app.domains.conversations.models import Answer, Feedback, Message
from integrations.slack import blocks, identity
from integrations.slack.intake import CHANNEL

RECENT = 10


def on_home_opened(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    if event.get("tab") not in (None, "home"):
        return
    team_id = str(body.get("team_id") or context.team_id)
    with session_scope() as session:
        principal_id = identity.principal_id(session, client, team_id=team_id, user_id=event["user"])
        rows = session.execute(
            select(Message.text, Message.status, Answer.mode, Answer.answered)
            .outerjoin(Answer, Answer.message_id == Message.id)
            .where(Message.principal_id == principal_id, Message.channel == CHANNEL)
            .order_by(Message.received_at.desc())
            .limit(RECENT)
        ).all()
        asked = (
            session.scalar(
                select(func.count()).select_from(Message).where(Message.principal_id == principal_id)
            )
            or 0
        )
        rated = (
            session.scalar(
                select(func.count()).select_from(Feedback).where(Feedback.principal_id == principal_id)
            )
            or 0
        )
    recent = [(text, _status(status, mode, answered)) for text, status, mode, answered in rows]
    client.views_publish(
        user_id=event["user"], view=blocks.home_view(recent=recent, asked=asked, rated=rated)
    )


def _status(status: str, mode: str | None, answered: bool | None) -> str:
    if status != "answered" or mode is None:
        return "being answered"
    if not answered:
        return "not found in the documents"
    return {"curated": "answered (reviewed by a person)", "extractive": "answered (quoted passages)"}.get(
        mode, "answered"
    )


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)
