"""Evidence bundles verify offline — every event, or a selection with inclusion proofs — and fail after
any single-byte change to any of their files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.core.db import session_scope
from audit import bundle, evidence, maintenance
from audit.query import EventFilter
from audit.signing import FileSigner, key_id
from audit.verify import VerificationFailed
from audit.wormstore import DirectoryStore
from tests.conftest import Env
from tests.support.audit import append_events, tamper


@pytest.fixture
def keys(database_url: str, env: Env) -> tuple[FileSigner, DirectoryStore]:
    signer, store = FileSigner(env.home / "keys" / "audit.pem"), DirectoryStore(env.home / "worm")
    append_events(3, correlation_id="case-1")
    maintenance.run(signer=signer, store=store, force=True)
    append_events(2, event_type="other.event", correlation_id="case-2")
    maintenance.run(signer=signer, store=store, force=True)
    return signer, store


def _write(keys: tuple[FileSigner, DirectoryStore], out: Path, filters: EventFilter) -> None:
    signer, store = keys
    with session_scope() as session:
        contents = evidence.collect(
            session, filters=filters, store=store, public_key_pem=signer.public_key_pem()
        )
    bundle.write(out, contents, public_key_pem=signer.public_key_pem(), sign=signer.sign)


def _every_byte_flipped(directory: Path, step: int = 1) -> int:
    """Flip each byte (or every `step`-th) of each file in turn; returns how many changes were caught
    (all of them, or the test fails)."""
    caught = 0
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        original = path.read_bytes()
        for i in range(0, len(original), step):
            changed = bytearray(original)
            changed[i] ^= 0x01
            path.write_bytes(bytes(changed))
            with pytest.raises((bundle.BundleInvalid, VerificationFailed)):
                bundle.verify_bundle(directory)
            caught += 1
        path.write_bytes(original)
    bundle.verify_bundle(directory)
    return caught


def test_a_complete_bundle_verifies_offline_and_any_changed_byte_fails(
    keys: tuple[FileSigner, DirectoryStore], tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    _write(keys, out, EventFilter())
    report = bundle.verify_bundle(out, expected_key_id=key_id(keys[0].public_key_pem()))
    assert (report.events, report.complete, report.checkpoints, report.tree_size) == (5, True, 2, 5)
    assert _every_byte_flipped(out) == sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def test_a_selection_carries_inclusion_proofs_and_any_changed_byte_fails(
    keys: tuple[FileSigner, DirectoryStore], tmp_path: Path
) -> None:
    out = tmp_path / "selection"
    _write(keys, out, EventFilter(correlation_id="case-2"))
    report = bundle.verify_bundle(out)
    assert (report.events, report.complete) == (2, False)
    assert (out / "proofs" / "inclusion.jsonl").read_text().count("\n") == 2
    assert _every_byte_flipped(out, step=7) > 0


def test_a_bundle_signed_by_another_key_or_with_a_file_added_fails(
    keys: tuple[FileSigner, DirectoryStore], tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    _write(keys, out, EventFilter())
    other = FileSigner(tmp_path / "other.pem")
    with pytest.raises(bundle.BundleInvalid, match="not by the expected"):
        bundle.verify_bundle(out, expected_key_id=key_id(other.public_key_pem()))
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "extra.json").write_text("{}")
    with pytest.raises(bundle.BundleInvalid, match="not in the manifest"):
        bundle.verify_bundle(copy)


def test_no_bundle_is_made_from_a_chain_that_no_longer_matches_its_checkpoints(
    database_url: str, keys: tuple[FileSigner, DirectoryStore], tmp_path: Path
) -> None:
    tamper(database_url, "UPDATE audit.events SET hash = sha256(hash) WHERE seq = 2")
    with pytest.raises(VerificationFailed, match="does not match the signed checkpoint"):
        _write(keys, tmp_path / "bundle", EventFilter())
