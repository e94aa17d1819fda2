"""Channel settings, members and the rules for answering in a channel. An answer in a channel uses only
what every member may read (or the channel's configured scope), so nobody learns something through a
colleague's question."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.domains.channels.models import Channel, ChannelMember
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store

CHANNEL_CONFIGURED = "channel.configured"
CHANNEL_MEMBERS_SYNCED = "channel.members_synced"


def slack_audience(team_id: str, channel_id: str) -> str:
    return f"slack:{team_id}:{channel_id}"


def ensure_channel(session: Session, *, audience: str, name: str | None = None) -> Channel:
    """The channel's settings, created with the defaults on first sight."""
    # On the acknowledgement path of every Slack question: a known channel costs one lookup (none when
    # the session has it already), and only a new one the insert.
    known = session.get(Channel, audience)
    if known is not None:
        return known
    session.execute(
        pg_insert(Channel)
        .values(
            audience=audience,
            name=name,
            enabled=True,
            mentions_only=False,
            allowed_users=[],
            has_external_members=False,
            allow_external=False,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["audience"])
    )
    channel = session.get(Channel, audience)
    assert channel is not None
    return channel


def get_channel(session: Session, *, audience: str) -> Channel:
    channel = session.get(Channel, audience)
    if channel is None:
        raise NotFound(f"no channel {audience}")
    return channel


def list_channels(session: Session) -> Sequence[Channel]:
    return session.scalars(select(Channel).order_by(Channel.audience)).all()


def configure(
    session: Session,
    *,
    audience: str,
    by: uuid.UUID | None,
    enabled: bool | None = None,
    scope: list[str] | None = None,
    clear_scope: bool = False,
    mentions_only: bool | None = None,
    allowed_users: list[str] | None = None,
    allow_external: bool | None = None,
) -> Channel:
    """Change a channel's settings (only what is given); audited with before and after."""
    if scope is not None and clear_scope:
        raise InvalidInput("give a scope or clear it, not both")
    channel = ensure_channel(session, audience=audience)
    before = settings_of(channel)
    if enabled is not None:
        channel.enabled = enabled
    if scope is not None:
        channel.scope = principals.resolve_grants(session, scope)
    if clear_scope:
        channel.scope = None
    if mentions_only is not None:
        channel.mentions_only = mentions_only
    if allowed_users is not None:
        channel.allowed_users = sorted(set(allowed_users))
    if allow_external is not None:
        channel.allow_external = allow_external
    channel.updated_at = utcnow()
    audit_store.append(
        session,
        event_type=CHANNEL_CONFIGURED,
        actor=principals.actor(by),
        channel=audience.split(":", 1)[0],
        subject=f"channel:{audience}",
        payload={"before": before, "after": settings_of(channel)},
    )
    session.flush()
    return channel


def settings_of(channel: Channel) -> dict[str, object]:
    return {
        "enabled": channel.enabled,
        "scope": channel.scope,
        "mentions_only": channel.mentions_only,
        "allowed_users": list(channel.allowed_users),
        "allow_external": channel.allow_external,
        "has_external_members": channel.has_external_members,
    }


def members_fresh(channel: Channel, *, ttl_s: float) -> bool:
    synced = channel.members_synced_at
    return synced is not None and synced > utcnow() - timedelta(seconds=ttl_s)


def replace_members(
    session: Session, *, audience: str, principal_ids: Sequence[uuid.UUID], has_external_members: bool
) -> None:
    """Make the stored member list the one just read from the channel's system; audited when it changes."""
    channel = ensure_channel(session, audience=audience)
    session.execute(select(Channel).where(Channel.audience == audience).with_for_update())
    current = set(audience_members(session, audience=audience))
    wanted = set(principal_ids)
    if wanted - current:
        session.execute(
            pg_insert(ChannelMember)
            .values([{"audience": audience, "principal_id": p} for p in wanted - current])
            .on_conflict_do_nothing()
        )
    if current - wanted:
        session.execute(
            delete(ChannelMember).where(
                ChannelMember.audience == audience, ChannelMember.principal_id.in_(current - wanted)
            )
        )
    changed = current != wanted or channel.has_external_members != has_external_members
    channel.has_external_members = has_external_members
    channel.members_synced_at = utcnow()
    if changed:
        audit_store.append(
            session,
            event_type=CHANNEL_MEMBERS_SYNCED,
            actor=events.SYSTEM_ACTOR,
            channel=audience.split(":", 1)[0],
            subject=f"channel:{audience}",
            payload={
                "added": sorted(str(p) for p in wanted - current),
                "removed": sorted(str(p) for p in current - wanted),
                "has_external_members": has_external_members,
            },
        )
    session.flush()


def add_member(session: Session, *, audience: str, principal_id: uuid.UUID) -> None:
    ensure_channel(session, audience=audience)
    session.execute(
        pg_insert(ChannelMember).values(audience=audience, principal_id=principal_id).on_conflict_do_nothing()
    )
    session.flush()


def remove_member(session: Session, *, audience: str, principal_id: uuid.UUID) -> None:
    session.execute(
        delete(ChannelMember).where(
            ChannelMember.audience == audience, ChannelMember.principal_id == principal_id
        )
    )
    session.flush()


def audience_members(session: Session, *, audience: str) -> list[uuid.UUID]:
    """The principals who read this audience (kept in sync with the channel), in a stable order."""
    return list(
        session.scalars(
            select(ChannelMember.principal_id)
            .where(ChannelMember.audience == audience)
            .order_by(ChannelMember.principal_id)
        )
    )


def audience_grants(session: Session, *, audience: str) -> list[str]:
    """The channel's configured scope (grants answers here may use), empty when none is set."""
    channel = session.get(Channel, audience)
    return sorted(channel.scope) if channel is not None and channel.scope else []


@dataclass(frozen=True)
class Decision:
    answer: bool
    reason: str | None = None  # why not, in words the asker can act on
    silent: bool = False  # not addressed to Plinth: ignore without telling anyone


def may_answer(
    session: Session, *, audience: str, asker_external_id: str, mentioned: bool, allow_external_default: bool
) -> Decision:
    """Whether Plinth answers this question in this channel."""
    channel = ensure_channel(session, audience=audience)
    if not channel.enabled:
        return Decision(False, "Plinth is turned off in this channel. Ask me in a direct message instead.")
    if channel.mentions_only and not mentioned:
        return Decision(False, silent=True)
    if channel.has_external_members and not (channel.allow_external or allow_external_default):
        return Decision(
            False,
            "This channel has people from outside the company (Slack Connect), so I don't answer here. "
            "Ask me in a direct message instead.",
        )
    if channel.allowed_users and asker_external_id not in channel.allowed_users:
        return Decision(
            False, "Only some people may ask me in this channel. Ask me in a direct message instead."
        )
    return Decision(True)
