"""The audit store: the application role can only append and read, even the owner cannot change or
remove events, committed events are sealed gaplessly exactly once — under concurrency and when a backend
is killed mid-way — and the database hashes exactly as the verifier does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.core.db import engine, session_role_options, session_scope, sqlalchemy_url
from app.core.errors import InvalidInput
from audit import store
from audit.models import AuditEvent, AuditIntake
from audit.verify import iter_events, verify_database
from tests.support.audit import append_events

APP_REFUSED = [
    "UPDATE audit.events SET actor = 'x'",
    "DELETE FROM audit.events",
    "TRUNCATE audit.events",
    "INSERT INTO audit.events SELECT * FROM audit.events",
    "UPDATE audit.payloads SET body = '{}'",
    "DELETE FROM audit.payloads",
    "TRUNCATE audit.payloads",
    "DELETE FROM audit.intake",
    "INSERT INTO audit.intake (ts, event_type, actor, payload_digest, event_digest) "
    "VALUES (now(), 't', 'a', '\\x00', '\\x00')",
    "TRUNCATE audit.checkpoints",
    "SELECT audit.refuse_change_of()",
]


@pytest.mark.parametrize("statement", APP_REFUSED)
def test_the_application_role_cannot_change_the_audit_store(database_url: str, statement: str) -> None:
    append_events(2)
    with session_scope() as session:
        assert session.execute(text("SELECT current_user")).scalar() == "plinth_app"
        with pytest.raises(DBAPIError) as refused:
            session.execute(text(statement))
    assert isinstance(
        refused.value.orig, psycopg.errors.InsufficientPrivilege | psycopg.errors.UndefinedFunction
    )
    with session_scope() as session:
        assert session.scalar(select(AuditEvent.actor).where(AuditEvent.seq == 1)) == "system"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit.events SET actor = 'x'",
        "DELETE FROM audit.events WHERE seq = 1",
        "TRUNCATE audit.events",
        "UPDATE audit.payloads SET body = '{}'",
        "DELETE FROM audit.payloads",
        "TRUNCATE audit.payloads",
        "UPDATE audit.intake SET actor = 'x'",
        "DELETE FROM audit.intake",
        "TRUNCATE audit.intake",
        "TRUNCATE audit.purge_approvals",
        "TRUNCATE audit.checkpoints",
    ],
)
def test_triggers_refuse_changes_even_for_the_owner(database_url: str, statement: str) -> None:
    append_events(2)
    with psycopg.connect(database_url) as conn:  # the superuser that ran the migrations
        conn.execute("SELECT audit.append('t', 'system', null, null, null, '{}')")  # one left in the intake
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)


def test_an_event_is_sealed_when_its_transaction_commits_and_vanishes_with_a_rollback(
    database_url: str,
) -> None:
    def failing_action() -> None:
        with session_scope() as session:
            store.append(session, event_type="test.lost", actor="system", payload={})
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        failing_action()
    with session_scope() as session:
        record = store.append(
            session, event_type="test.kept", actor="system", payload={"n": 1}, channel="cli"
        )
    with session_scope() as session:
        events = session.scalars(select(AuditEvent)).all()
        assert session.scalar(select(AuditIntake.id)) is None
    assert [(e.seq, e.id, e.event_type, e.payload) for e in events] == [(1, record, "test.kept", {"n": 1})]
    assert events[0].ts.utcoffset() is not None


def test_a_commit_is_sealed_even_when_it_held_the_pools_last_connection(database_url: str) -> None:
    # The sequencer's first run borrows a connection from the committer's pool; had the committer kept
    # its own while waiting, a pool of one would have none left to give.
    tight = create_engine(
        sqlalchemy_url(database_url),
        pool_size=1,
        max_overflow=0,
        pool_timeout=2,
        connect_args=session_role_options(),
    )
    try:
        with sessionmaker(bind=tight)() as session:
            record = store.append(session, event_type="test.tight", actor="system", payload={})
            session.commit()
            assert session.scalar(select(AuditEvent.seq).where(AuditEvent.id == record)) is not None
    finally:
        tight.dispose()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"event_type": ""}, "non-empty event type"),
        ({"actor": "a\x00b"}, "NUL"),
        ({"payload": {"x": float("nan")}}, "RFC 8785"),
        ({"payload": ["not", "an", "object"]}, "JSON object"),
    ],
)
def test_bad_events_are_refused_with_the_reason(
    database_url: str, fields: dict[str, object], message: str
) -> None:
    event = {"event_type": "test", "actor": "system", "payload": {}, **fields}
    with pytest.raises(InvalidInput, match=message), session_scope() as session:
        store.append(session, **event)  # type: ignore[arg-type]


NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    actor=NAMES.filter(bool),
    channel=st.none() | NAMES,
    subject=st.none() | NAMES,
    correlation_id=st.none() | NAMES,
    # Integers within JSON's safe range: RFC 8785 refuses the rest (test_bad_events_are_refused...).
    payload=st.dictionaries(
        NAMES, st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | NAMES, max_size=4
    ),
)
def test_the_database_hashes_exactly_as_the_verifier(
    database_url: str,
    *,
    actor: str,
    channel: str | None,
    subject: str | None,
    correlation_id: str | None,
    payload: dict[str, object],
) -> None:
    with session_scope() as session:
        store.append(
            session,
            event_type="test.hash",
            actor=actor,
            channel=channel,
            subject=subject,
            correlation_id=correlation_id,
            payload=payload,
        )
    with session_scope() as session:
        verify_database(session, checkpoints=[])


def _backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_backend_killed_mid_append_leaves_the_event_absent(database_url: str) -> None:
    append_events(3)
    session = Session(bind=engine())
    store.append(session, event_type="test.killed", actor="system", payload={"big": "x" * 10_000})
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (_backend_pid(session),))
    with pytest.raises(DBAPIError):
        session.commit()
    session.close()
    with session_scope() as session:
        summary = verify_database(session, checkpoints=[])
        leftover = session.execute(text("SELECT count(*) FROM audit.payloads")).scalar()
    assert (summary.events, summary.pending, leftover) == (3, 0, 3)


def test_a_sequencer_killed_mid_batch_leaves_every_event_whole(database_url: str) -> None:
    """The sealing is blocked inside its transaction (an admin holds a lock on the chain), killed, and
    the events, committed, wait in the intake until the next run seals them exactly once."""
    with psycopg.connect(database_url) as blocker:
        blocker.execute("LOCK TABLE audit.events IN SHARE MODE")
        writer = threading.Thread(target=append_events, args=(50,))
        writer.start()
        with psycopg.connect(database_url, autocommit=True) as admin:
            pid = None
            deadline = time.monotonic() + 30
            while pid is None and time.monotonic() < deadline:
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE query LIKE '%chain_pending%' "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                ).fetchone()
                pid = row[0] if row else None
                time.sleep(0.05)
            assert pid is not None, "the sequencer never reached the chain"
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        writer.join(timeout=30)
        blocker.rollback()
    with session_scope() as session:
        assert session.scalar(select(AuditEvent.seq)) is None  # nothing sealed by the killed run
        assert session.execute(text("SELECT count(*) FROM audit.intake")).scalar() == 50
    with engine().connect() as connection:
        assert store.chain_pending(connection) == 50
    with session_scope() as session:
        summary = verify_database(session, checkpoints=[])
    assert (summary.events, summary.pending) == (50, 0)


@pytest.fixture
def writers_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    writers = create_engine(
        sqlalchemy_url(database_url), pool_size=64, max_overflow=0, connect_args=session_role_options()
    )
    yield sessionmaker(bind=writers)
    writers.dispose()


@pytest.mark.slow
@pytest.mark.timeout(1800)  # 640,000 durable appends: minutes on two busy cores
def test_64_concurrent_writers_of_10000_events_leave_no_gap_and_no_duplicate(
    writers_factory: sessionmaker[Session], database_url: str
) -> None:
    writers, per_writer, per_transaction = 64, 10_000, 50
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for start in range(0, per_writer, per_transaction):
                with writers_factory() as session:
                    for i in range(start, start + per_transaction):
                        store.append(session, event_type="test.load", actor=f"w{writer}", payload={"i": i})
                    if start % 1000 == 500:  # an abandoned transaction must leave no trace
                        store.append(session, event_type="test.load", actor=f"w{writer}", payload={"i": -1})
                        session.rollback()
                        continue
                    session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with engine().connect() as connection:
        store.chain_pending(connection)
    total = writers * (per_writer - per_writer // 1000 * per_transaction)
    with psycopg.connect(database_url) as admin:
        count, low, high, ids = admin.execute(
            "SELECT count(*), min(seq), max(seq), count(DISTINCT id) FROM audit.events"
        ).fetchone()  # type: ignore[misc]
        per_event = admin.execute(
            "SELECT count(*) FROM (SELECT actor, p.body FROM audit.events e JOIN audit.payloads p "
            "ON p.event_id = e.id GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()
    assert (count, low, high, ids) == (total, 1, total, total)
    assert per_event == (0,)
    with session_scope() as session:
        assert sum(1 for _ in iter_events(session, start_seq=1, end_seq=total)) == total
