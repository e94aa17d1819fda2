"""Payload purges after retention: per event type, blocked by legal holds, carried out only with two
different approvers — and the chain stays verifiable, while a payload removed any other way is caught."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app.core.db import session_scope
from app.core.errors import InvalidInput, PermissionDenied
from audit import retention
from audit.chain import GENESIS_HASH, chain_hash
from audit.models import AuditEvent
from audit.verify import VerificationFailed, verify_database
from tests.support.audit import append_events, tamper

pytestmark = pytest.mark.usefixtures("verify_mode")

ALICE, BOB = "principal:alice", "principal:bob"


def _age_events(database_url: str, days: int) -> None:
    """Move the events back in time and re-seal them, as if they had been recorded then."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(f"UPDATE audit.events SET ts = ts - interval '{days} days'")
        rows = conn.execute(
            "SELECT seq, ts, event_type, actor, channel, subject, correlation_id, payload_digest "
            "FROM audit.events ORDER BY seq"
        ).fetchall()
        prev = GENESIS_HASH
        for seq, *_ in rows:
            digest = conn.execute(
                "SELECT sha256(convert_to(audit.event_json(ts, event_type, actor, channel, subject, "
                "correlation_id, payload_digest), 'UTF8')) FROM audit.events WHERE seq = %s",
                (seq,),
            ).fetchone()[0]  # type: ignore[index]
            link = chain_hash(prev, seq, digest)
            conn.execute(
                "UPDATE audit.events SET event_digest = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                (digest, prev, link, seq),
            )
            prev = link


@pytest.fixture
def old_events(database_url: str) -> None:
    append_events(4, event_type="input.received", correlation_id="case-1")
    append_events(2, event_type="input.received", correlation_id="case-2")
    append_events(1, event_type="output.generated")
    _age_events(database_url, 40)


def _payloads() -> dict[int, object]:
    with session_scope() as session:
        return {e.seq: e.payload for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))}


def test_a_purge_needs_retention_two_approvers_and_spares_held_events(old_events: None) -> None:
    with session_scope() as session, pytest.raises(InvalidInput, match="no retention period"):
        retention.request_purge(session, event_type="input.received", by=ALICE)
    with session_scope() as session:
        retention.set_retention(session, event_type="input.received", days=30, by=ALICE)
        hold = retention.place_hold(session, reason="matter 42", correlation_id="case-2", by=ALICE)
        request = retention.request_purge(session, event_type="input.received", by=ALICE)
    with session_scope() as session, pytest.raises(PermissionDenied, match="two different approvers"):
        retention.approve_purge(session, request_id=request.id, by=ALICE)
    assert all(p is not None for p in _payloads().values())
    with session_scope() as session:
        outcome = retention.approve_purge(session, request_id=request.id, by=BOB)
    assert (outcome.executed, outcome.purged, outcome.held, outcome.approvers) == (True, 4, 2, [ALICE, BOB])
    payloads = _payloads()
    assert [seq for seq in range(1, 8) if payloads[seq] is None] == [1, 2, 3, 4]  # held 5, 6; 7 other type
    with session_scope() as session:
        summary = verify_database(session, checkpoints=[])
        retention.release_hold(session, hold_id=hold.id, by=BOB)
    assert summary.purged_payloads == 4


def test_the_retention_period_is_checked_again_when_the_purge_runs(
    database_url: str, old_events: None
) -> None:
    with session_scope() as session:
        retention.set_retention(session, event_type="input.received", days=30, by=ALICE)
        request = retention.request_purge(session, event_type="input.received", by=ALICE)
        retention.set_retention(session, event_type="input.received", days=3650, by=ALICE)
    with (
        pytest.raises(DBAPIError, match=r"retention of input\.received events before"),
        session_scope() as session,
    ):
        retention.approve_purge(session, request_id=request.id, by=BOB)
    assert all(p is not None for p in _payloads().values())


def test_a_payload_removed_outside_a_purge_is_caught(database_url: str, old_events: None) -> None:
    tamper(
        database_url,
        "DELETE FROM audit.payloads WHERE event_id = (SELECT id FROM audit.events WHERE seq = 3)",
    )
    with session_scope() as session, pytest.raises(VerificationFailed) as caught:
        verify_database(session, checkpoints=[])
    assert (caught.value.seq, caught.value.reason) == (
        3,
        "its payload is missing and no approved purge covers it",
    )
