"""Keep a channel's stored members in step with Slack (conversations.members, then users.info for people
not linked yet), and notice Slack Connect members."""

from __future__ import annotations

import logging
import uuid

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from app.domains.channels import service as channels
from app.domains.principals import external
from integrations.slack import identity

logger = logging.getLogger(__name__)


def sync(session: Session, client: WebClient, *, team_id: str, channel_id: str) -> None:
    audience = channels.slack_audience(team_id, channel_id)
    info = client.conversations_info(channel=channel_id)["channel"]
    shared = bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared"))
    member_ids: list[str] = []
    for page in client.conversations_members(channel=channel_id, limit=1000):
        member_ids.extend(page["members"])
    principal_ids: list[uuid.UUID] = []
    for user_id in member_ids:
        linked = external.linked_principal(
            session, provider=identity.PROVIDER, namespace=team_id, external_id=user_id
        )
        if linked is not None:
            principal_ids.append(linked.id)
            continue
        try:
            user = client.users_info(user=user_id)["user"]
        except SlackApiError as exc:
            # One unreadable member must not keep the channel's question from being taken.
            logger.warning(
                "Slack user %s of %s not readable: %s", user_id, channel_id, exc.response.get("error")
            )
            continue
        if identity.is_external(user, team_id=team_id):
            shared = True
            continue
        if user.get("is_bot") or user.get("deleted"):
            continue
        principal_ids.append(identity.link(session, team_id=team_id, user=user))
    channels.ensure_channel(session, audience=audience, name=info.get("name"))
    channels.replace_members(
        session, audience=audience, principal_ids=principal_ids, has_external_members=shared
    )
