"""Events recorded on their own (audit.group_commit): concurrent writers share transactions yet each gets
a durable, gapless place in the chain, mixed with events appended in other transactions; the database
checks what it is given; a stale connection is replaced; a forked child records through its own."""

from __future__ import annotations

import multiprocessing
import threading

import psycopg
import pytest
from sqlalchemy import select, text

from app.core.db import engine, session_scope
from app.core.errors import InvalidInput
from audit import group_commit, store
from audit.models import AuditEvent, AuditPayload
from audit.verify import verify_database
from tests.support.audit import append_events

WRITERS, PER_WRITER = 16, 40


def test_concurrent_writers_each_get_a_durable_seq_and_the_chain_verifies(database_url: str) -> None:
    seqs: list[int] = []
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for i in range(PER_WRITER):
                seqs.append(
                    group_commit.record(
                        engine(), event_type="test.alone", actor=f"w{writer}", channel="api", payload={"i": i}
                    )
                )
                if i % 10 == 0:  # events in transactions of their own, in between
                    append_events(2, event_type="test.in_transaction")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    total = WRITERS * PER_WRITER
    assert len(set(seqs)) == total
    with session_scope() as session:
        summary = verify_database(session, checkpoints=[])
        alone = session.execute(
            select(AuditEvent.seq, AuditEvent.actor, AuditPayload.body)
            .join(AuditPayload, AuditPayload.event_id == AuditEvent.id)
            .where(AuditEvent.event_type == "test.alone")
        ).all()
    in_transaction = WRITERS * (PER_WRITER // 10) * 2
    assert (summary.events, summary.pending) == (total + in_transaction, 0)
    assert sorted(seq for seq, _, _ in alone) == sorted(seqs)  # what record returned is where it is
    assert {(actor, body) for _, actor, body in alone} == {
        (f"w{w}", f'{{"i":{i}}}') for w in range(WRITERS) for i in range(PER_WRITER)
    }


def test_a_bad_event_is_refused_before_it_joins_a_batch(database_url: str) -> None:
    with pytest.raises(InvalidInput, match="non-empty actor"):
        group_commit.record(engine(), event_type="test.alone", actor="", payload={})
    with pytest.raises(InvalidInput, match="JSON object"):
        group_commit.record(engine(), event_type="test.alone", actor="system", payload=[1])  # type: ignore[arg-type]
    assert group_commit.record(engine(), event_type="test.alone", actor="system", payload={}) == 1


@pytest.mark.parametrize(
    ("arrays", "reason"),
    [
        ((["t"], ["system", "other"], [None], [None], [None], ["{}"]), "one value per event"),
        ((["t"], [""], [None], [None], [None], ["{}"]), "an event type and an actor"),
        ((["t"], ["system"], [None], [None], [None], ["[1]"]), "must be a JSON object"),
    ],
)
def test_the_database_checks_a_batch_it_is_given(
    database_url: str, arrays: tuple[list[str | None], ...], reason: str
) -> None:
    with session_scope() as session:
        assert session.execute(text("SELECT current_user")).scalar() == "plinth_app"
        driver = session.connection().connection.driver_connection
        assert driver is not None
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=reason):
            driver.execute(
                "SELECT audit.append_sealed(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
                "%s::text[])",
                arrays,
            )


def test_a_connection_closed_by_the_server_is_replaced(database_url: str) -> None:
    group_commit.record(engine(), event_type="test.alone", actor="system", payload={"n": 1})
    with psycopg.connect(database_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed is not None
    assert killed[0] >= 1
    assert group_commit.record(engine(), event_type="test.alone", actor="system", payload={"n": 2}) == 2


def _record_in_child(out: multiprocessing.Queue[int | str]) -> None:
    try:
        out.put(group_commit.record(engine(), event_type="test.child", actor="system", payload={}))
    except BaseException as exc:
        out.put(repr(exc))


def test_a_forked_child_records_through_a_flusher_of_its_own(database_url: str) -> None:
    assert group_commit.record(engine(), event_type="test.parent", actor="system", payload={}) == 1
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[int | str] = context.Queue()
    child = context.Process(target=_record_in_child, args=(out,))
    child.start()
    assert out.get(timeout=60) == 2
    child.join(timeout=60)
    assert group_commit.record(engine(), event_type="test.parent", actor="system", payload={}) == 3
    with session_scope() as session:
        assert store.sync(session)
        assert verify_database(session, checkpoints=[]).events == 3
