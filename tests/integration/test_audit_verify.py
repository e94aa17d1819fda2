"""`verify` trusts neither the database nor its hashes: a superuser who edits one byte of an old event,
deletes a middle event, swaps two, truncates the tail, or rewrites and re-hashes the whole chain is
caught — the last one through the signed checkpoint — with the first failing seq and why."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import psycopg
import pytest

from app.core.db import session_scope
from app.core.errors import Conflict
from audit import maintenance, verify
from audit.chain import GENESIS_HASH, chain_hash
from audit.checkpoints import CheckpointError, load_checkpoints, parse_checkpoint
from audit.recompute import ChainVerifier
from audit.signing import FileSigner
from audit.verify import VerificationFailed, verify_database
from audit.wormstore import DirectoryStore
from tests.conftest import Env
from tests.support.audit import append_events, tamper

pytestmark = pytest.mark.usefixtures("verify_mode")


@pytest.fixture
def signed(database_url: str, env: Env) -> tuple[FileSigner, DirectoryStore]:
    """20 events, a checkpoint at 10 and one at 20."""
    signer, store = FileSigner(env.home / "keys" / "audit.pem"), DirectoryStore(env.home / "worm")
    append_events(10, channel="cli", subject="message:1", correlation_id="c-1")
    maintenance.run(signer=signer, store=store, force=True)
    append_events(10, event_type="other.event")
    maintenance.run(signer=signer, store=store, force=True)
    return signer, store


def _verify(signer: FileSigner, store: DirectoryStore, from_seq: int = 1) -> int:
    with session_scope() as session:
        checkpoints = load_checkpoints(store, signer.public_key_pem())
        return verify_database(session, checkpoints=checkpoints, from_seq=from_seq).events


def _failure(signer: FileSigner, store: DirectoryStore, from_seq: int = 1) -> VerificationFailed:
    with pytest.raises(VerificationFailed) as caught:
        _verify(signer, store, from_seq)
    return caught.value


def test_an_intact_chain_verifies_against_both_checkpoints(signed: tuple[FileSigner, DirectoryStore]) -> None:
    signer, store = signed
    assert [c.tree_size for c in load_checkpoints(store, signer.public_key_pem())] == [10, 20]
    assert _verify(*signed) == 20
    assert _verify(*signed, from_seq=15) == 6


def test_with_workers_this_process_links_their_runs(
    signed: tuple[FileSigner, DirectoryStore], verify_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed: list[tuple[object, ...]] = []
    feed_all = ChainVerifier.feed_all

    def counting(self: ChainVerifier, rows: Iterable[tuple[object, ...]]) -> None:
        rows = list(rows)
        fed.extend(rows)
        feed_all(self, rows)

    monkeypatch.setattr(ChainVerifier, "feed_all", counting)
    assert _verify(*signed) == 20
    # with workers, this process recomputes only the runs it takes on while they start
    head_start = verify.HEAD_START_BATCHES * verify.VERIFY_BATCH
    assert len(fed) == (head_start if verify_mode == "workers" else 20)


def test_one_byte_of_an_old_payload_changed_is_caught(
    database_url: str, signed: tuple[FileSigner, DirectoryStore]
) -> None:
    tamper(database_url, "UPDATE audit.payloads SET body = replace(body, '3', '4') WHERE event_id = 4")
    failure = _failure(*signed)
    assert (failure.seq, failure.reason) == (4, "the payload does not match the digest the chain covers")


def test_one_byte_of_an_old_header_changed_is_caught(
    database_url: str, signed: tuple[FileSigner, DirectoryStore]
) -> None:
    tamper(database_url, "UPDATE audit.events SET actor = 'systen' WHERE seq = 3")
    failure = _failure(*signed)
    assert failure.seq == 3
    assert "contents do not match its hash" in failure.reason


def test_a_deleted_middle_event_is_caught(
    database_url: str, signed: tuple[FileSigner, DirectoryStore]
) -> None:
    tamper(database_url, "DELETE FROM audit.events WHERE seq = 7")
    failure = _failure(*signed)
    assert (failure.seq, failure.reason) == (7, "missing: the chain jumps from 6 to 8")


def test_two_swapped_events_are_caught(database_url: str, signed: tuple[FileSigner, DirectoryStore]) -> None:
    tamper(
        database_url,
        "UPDATE audit.events SET seq = -5 WHERE seq = 5",
        "UPDATE audit.events SET seq = 5 WHERE seq = 6",
        "UPDATE audit.events SET seq = 6 WHERE seq = -5",
    )
    failure = _failure(*signed)
    assert failure.seq == 5
    assert "link to 4 is broken" in failure.reason


def test_a_truncated_tail_is_caught_by_the_checkpoint(
    database_url: str, signed: tuple[FileSigner, DirectoryStore]
) -> None:
    tamper(database_url, "DELETE FROM audit.events WHERE seq > 16")
    failure = _failure(*signed)
    assert failure.seq == 17
    assert "checkpoint at size 20 covers events up to 20 but the chain ends at 16" in failure.reason


def test_a_rewritten_and_rehashed_chain_is_caught_by_the_signed_checkpoint(
    database_url: str, signed: tuple[FileSigner, DirectoryStore]
) -> None:
    """The attacker changes one actor and recomputes every digest and hash after it (and the database's
    own copy of the checkpoints): only the signed checkpoints outside the database can tell."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE audit.events SET actor = 'mallory' WHERE seq = 2")
        conn.execute(
            "UPDATE audit.events SET event_digest = sha256(convert_to(audit.event_json("
            "ts, event_type, actor, channel, subject, correlation_id, payload_digest), 'UTF8'))"
        )
        rows = conn.execute("SELECT seq, event_digest FROM audit.events ORDER BY seq").fetchall()
        prev = GENESIS_HASH
        for seq, digest in rows:
            link = chain_hash(prev, seq, digest)
            conn.execute(
                "UPDATE audit.events SET prev_hash = %s, hash = %s WHERE seq = %s", (prev, link, seq)
            )
            prev = link
        conn.execute("DELETE FROM audit.checkpoints")
    with session_scope() as session:
        assert verify_database(session, checkpoints=[]).events == 20  # consistent in itself
    failure = _failure(*signed)
    assert failure.seq == 1
    assert "do not match the signed checkpoint at size 10" in failure.reason
    failure = _failure(*signed, from_seq=11)  # from a later seq the checkpoint's head hash catches it
    assert failure.seq == 11
    assert "checkpoint at size 20" in failure.reason


def test_checkpoint_files_are_write_once_and_any_changed_byte_is_refused(
    signed: tuple[FileSigner, DirectoryStore], tmp_path: Path
) -> None:
    signer, store = signed
    name = store.names()[0]
    data = store.get(name)
    with pytest.raises(Conflict, match="never overwritten"):
        store.put(name, b"{}")
    assert parse_checkpoint(data, signer.public_key_pem()).tree_size == 10
    for i in range(len(data)):
        changed = bytearray(data)
        changed[i] ^= 0x01
        with pytest.raises(CheckpointError):
            parse_checkpoint(bytes(changed), signer.public_key_pem())
    other = FileSigner(tmp_path / "other.pem")
    with pytest.raises(CheckpointError, match="signed by key"):
        parse_checkpoint(data, other.public_key_pem())
    assert store.get(name) == data
