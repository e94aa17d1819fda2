"""Slack users → principals: linked once (provider `slack`, namespace the team id); the first time, the
email address Slack holds for the user (users.info) finds an existing principal or a new one is made."""

from __future__ import annotations

import uuid

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from app.core.errors import PermissionDenied
from app.domains.principals import external

PROVIDER = "slack"


def principal_id(session: Session, client: WebClient, *, team_id: str, user_id: str) -> uuid.UUID:
    linked = external.linked_principal_id(session, provider=PROVIDER, namespace=team_id, external_id=user_id)
    if linked is not None:
        return linked
    return link(session, team_id=team_id, user=client.users_info(user=user_id)["user"])


def link(session: Session, *, team_id: str, user: dict[str, object]) -> uuid.UUID:
    """Link the Slack user (as users.info describes it) to a principal."""
    if user.get("is_bot") or user.get("deleted"):
        raise PermissionDenied(f"Slack user {user.get('id')} is a bot or deactivated")
    profile = user.get("profile")
    profile = profile if isinstance(profile, dict) else {}
    name = user.get("real_name") or profile.get("real_name") or user.get("name")
    return external.link_principal(
        session,
        provider=PROVIDER,
        namespace=team_id,
        external_id=str(user["id"]),
        email=profile.get("email"),
        name=str(name) if name else None,
    ).id


def is_external(user: dict[str, object], *, team_id: str) -> bool:
    """A Slack Connect member: someone whose home workspace is not this one."""
    home = user.get("team_id")
    return bool(user.get("is_stranger")) or (isinstance(home, str) and home != team_id)
