"""Channel settings, members and the rules for answering in a channel (PostgreSQL, no Slack)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.domains.channels import service as channels
from app.domains.principals import external
from app.domains.principals import service as principals
from audit.models import AuditEvent

AUDIENCE = "slack:T1:C1"


def test_members_follow_the_channel_and_changes_are_audited(database_url: str) -> None:
    with session_scope() as session:
        a, b, c = (principals.ensure_local(session, handle=h).id for h in ("a", "b", "c"))
        channels.replace_members(session, audience=AUDIENCE, principal_ids=[a, b], has_external_members=False)
    with session_scope() as session:
        assert set(channels.audience_members(session, audience=AUDIENCE)) == {a, b}
        channels.replace_members(session, audience=AUDIENCE, principal_ids=[b, c], has_external_members=False)
    with session_scope() as session:
        assert set(channels.audience_members(session, audience=AUDIENCE)) == {b, c}
        channels.replace_members(session, audience=AUDIENCE, principal_ids=[b, c], has_external_members=False)
        assert channels.audience_members(session, audience="slack:T1:unknown") == []
        synced = session.scalars(
            select(AuditEvent.payload).where(AuditEvent.event_type == channels.CHANNEL_MEMBERS_SYNCED)
        ).all()
    assert len(synced) == 2  # the unchanged third sync is not an event


def test_a_configured_scope_bounds_the_channel(database_url: str) -> None:
    with session_scope() as session:
        assert channels.audience_grants(session, audience=AUDIENCE) == []
        channels.configure(session, audience=AUDIENCE, by=None, scope=["group:hr", "org"])
    with session_scope() as session:
        assert channels.audience_grants(session, audience=AUDIENCE) == ["group:hr", "org"]
        channels.configure(session, audience=AUDIENCE, by=None, clear_scope=True)
    with session_scope() as session:
        assert channels.audience_grants(session, audience=AUDIENCE) == []
        with pytest.raises(InvalidInput, match="access entry"):
            channels.configure(session, audience=AUDIENCE, by=None, scope=["everyone"])


def test_who_may_ask_where(database_url: str) -> None:
    def decide(user: str = "U1", mentioned: bool = True, allow_external: bool = False) -> channels.Decision:
        with session_scope() as session:
            return channels.may_answer(
                session,
                audience=AUDIENCE,
                asker_external_id=user,
                mentioned=mentioned,
                allow_external_default=allow_external,
            )

    assert decide().answer
    with session_scope() as session:
        channels.configure(session, audience=AUDIENCE, by=None, mentions_only=True)
    assert decide(mentioned=False) == channels.Decision(False, silent=True)
    with session_scope() as session:
        channels.replace_members(session, audience=AUDIENCE, principal_ids=[], has_external_members=True)
    assert "Slack Connect" in (decide().reason or "")
    assert decide(allow_external=True).answer
    with session_scope() as session:
        channels.configure(session, audience=AUDIENCE, by=None, allow_external=True, allowed_users=["U2"])
    assert "Only some people" in (decide().reason or "")
    assert decide(user="U2").answer
    with session_scope() as session:
        channels.configure(session, audience=AUDIENCE, by=None, enabled=False)
    assert "turned off" in (decide(user="U2").reason or "")


def test_slack_identities_link_by_email_once(database_url: str) -> None:
    with session_scope() as session:
        known = principals.ensure_local(session, handle="ann@example.com")
        linked = external.link_principal(
            session, provider="slack", namespace="T1", external_id="U1", email="Ann@Example.com", name="Ann"
        )
        assert linked.id == known.id
        again = external.link_principal(
            session, provider="slack", namespace="T1", external_id="U1", email=None, name=None
        )
        assert again.id == known.id
        stranger = external.link_principal(
            session, provider="slack", namespace="T1", external_id="U9", email=None, name="X"
        )
        assert stranger.id != known.id
        assert stranger.handle.startswith("slack-")
