"""Evidence bundles an auditor verifies offline, without the database or Plinth's settings.

    DIR/manifest.json       what is in the bundle and the SHA-256 of every other file
    DIR/manifest.sig        Ed25519 signature over manifest.json (raw 64 bytes)
    DIR/public-key.pem      the signing key; its fingerprint (key_id) is compared out of band
    DIR/events.jsonl        the events, one canonical JSON object per line, payloads as canonical text
    DIR/checkpoints/        the signed checkpoints, as in the write-once store
    DIR/proofs/consistency.jsonl   RFC 6962 consistency proofs between consecutive checkpoints
    DIR/proofs/inclusion.jsonl     for a bundle of selected events: each one's inclusion proof

A complete bundle (every event) is verified by recomputing the chain and the Merkle roots; a selection
by recomputing each event's hash and checking its inclusion proof against the last signed checkpoint.
Any single changed byte fails: files are hashed in the signed manifest, and parsed only in canonical
form."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import events as event_types
from audit.canonical import canonical_json
from audit.chain import ChainedEvent
from audit.checkpoints import CheckpointError, SignedCheckpoint, parse_checkpoint
from audit.merkle import MerkleTree, verify_consistency, verify_inclusion
from audit.recompute import ChainVerifier, PurgeRule, VerificationFailed
from audit.signing import key_id, verify_signature

FORMAT = "plinth-audit-bundle/1"
MANIFEST, SIGNATURE, PUBLIC_KEY, EVENTS = "manifest.json", "manifest.sig", "public-key.pem", "events.jsonl"
CONSISTENCY, INCLUSION = "proofs/consistency.jsonl", "proofs/inclusion.jsonl"


def event_line(event: ChainedEvent) -> bytes:
    return canonical_json(
        {
            "seq": event.seq,
            "ts": event.ts,
            "event_type": event.event_type,
            "actor": event.actor,
            "channel": event.channel,
            "subject": event.subject,
            "correlation_id": event.correlation_id,
            "payload": event.payload,
            "payload_sha256": event.payload_digest.hex(),
            "prev_hash": event.prev_hash.hex(),
            "hash": event.hash.hex(),
        }
    )


def _proof_line(fields: dict[str, Any], proof: list[bytes]) -> bytes:
    return canonical_json({**fields, "proof": [p.hex() for p in proof]})


@dataclass(frozen=True)
class BundleContents:
    events: list[ChainedEvent]
    complete: bool  # every event 1..tree_size
    checkpoints: list[bytes]  # checkpoint files, in order of size
    final: SignedCheckpoint
    tree: MerkleTree  # every chain hash up to final.tree_size
    filters: dict[str, Any]
    created_at: str


def write(
    directory: Path, contents: BundleContents, *, public_key_pem: bytes, sign: Callable[[bytes], bytes]
) -> dict[str, Any]:
    """Write the bundle; `sign(bytes) -> bytes` signs the manifest. Returns the manifest."""
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty")
    files: dict[str, bytes] = {
        PUBLIC_KEY: public_key_pem,
        EVENTS: b"".join(event_line(e) + b"\n" for e in contents.events),
    }
    sizes = []
    for data in contents.checkpoints:
        checkpoint = parse_checkpoint(data, public_key_pem)
        files[f"checkpoints/{checkpoint.name}"] = data
        sizes.append(checkpoint.tree_size)
    files[CONSISTENCY] = b"".join(
        _proof_line({"from": a, "to": b}, contents.tree.consistency_proof(a, b)) + b"\n"
        for a, b in itertools.pairwise(sizes)
    )
    if not contents.complete:
        size = contents.final.tree_size
        files[INCLUSION] = b"".join(
            _proof_line({"seq": e.seq, "tree_size": size}, contents.tree.inclusion_proof(e.seq - 1, size))
            + b"\n"
            for e in contents.events
        )
    manifest = {
        "format": FORMAT,
        "created_at": contents.created_at,
        "key_id": key_id(public_key_pem),
        "complete": contents.complete,
        "events": len(contents.events),
        "first_seq": contents.events[0].seq if contents.events else None,
        "last_seq": contents.events[-1].seq if contents.events else None,
        "tree_size": contents.final.tree_size,
        "filters": contents.filters,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    manifest_bytes = canonical_json(manifest)
    for name, data in {**files, MANIFEST: manifest_bytes, SIGNATURE: sign(manifest_bytes)}.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return manifest


@dataclass(frozen=True)
class BundleReport:
    key_id: str
    events: int
    complete: bool
    tree_size: int
    checkpoints: int


class BundleInvalid(Exception):
    pass


def _canonical_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleInvalid(f"{what} is not JSON ({exc})") from exc
    if not isinstance(value, dict) or canonical_json(value) != data:
        raise BundleInvalid(f"{what} is not a canonical JSON object")
    return value


def _lines(data: bytes, what: str) -> Iterator[dict[str, Any]]:
    if data and not data.endswith(b"\n"):
        raise BundleInvalid(f"{what} does not end with a newline")
    for number, line in enumerate(data.split(b"\n")[:-1], start=1):
        yield _canonical_object(line, f"{what} line {number}")


def _hex(value: object, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64 or value.lower() != value:
        raise BundleInvalid(f"{what} is not a lower-case SHA-256 hex digest")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise BundleInvalid(f"{what} is not hex") from exc


def _event(fields: dict[str, Any], where: str) -> ChainedEvent:
    try:
        return ChainedEvent(
            seq=int(fields["seq"]),
            ts=str(fields["ts"]),
            event_type=str(fields["event_type"]),
            actor=str(fields["actor"]),
            channel=fields["channel"],
            subject=fields["subject"],
            correlation_id=fields["correlation_id"],
            payload=fields["payload"],
            payload_digest=_hex(fields["payload_sha256"], f"{where} payload_sha256"),
            prev_hash=_hex(fields["prev_hash"], f"{where} prev_hash"),
            hash=_hex(fields["hash"], f"{where} hash"),
        )
    except KeyError as exc:
        raise BundleInvalid(f"{where} lacks {exc}") from exc


def _read_files(directory: Path, expected_key_id: str | None) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        manifest_bytes = (directory / MANIFEST).read_bytes()
        signature = (directory / SIGNATURE).read_bytes()
        public_key = (directory / PUBLIC_KEY).read_bytes()
    except OSError as exc:
        raise BundleInvalid(f"not a bundle: {exc}") from exc
    if not verify_signature(public_key, signature, manifest_bytes):
        raise BundleInvalid("the manifest's signature does not verify with the bundled public key")
    manifest = _canonical_object(manifest_bytes, MANIFEST)
    signer = key_id(public_key)
    if manifest.get("format") != FORMAT or manifest.get("key_id") != signer:
        raise BundleInvalid("the manifest is not a Plinth audit bundle signed by its own key")
    if expected_key_id is not None and signer != expected_key_id:
        raise BundleInvalid(f"signed by key {signer}, not by the expected {expected_key_id}")
    listed: dict[str, str] = manifest.get("files") or {}
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    unlisted = present - set(listed) - {MANIFEST, SIGNATURE}
    if unlisted:
        raise BundleInvalid(f"files not in the manifest: {', '.join(sorted(unlisted))}")
    files: dict[str, bytes] = {}
    for name, digest in listed.items():
        path = directory / name
        if not path.is_file():
            raise BundleInvalid(f"{name} is listed but missing")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise BundleInvalid(f"{name} does not match its digest in the manifest")
        files[name] = data
    return manifest, files


def verify_bundle(directory: Path, *, expected_key_id: str | None = None) -> BundleReport:
    """Verify a bundle offline. Raises BundleInvalid or VerificationFailed (with the first failing seq)."""
    manifest, files = _read_files(directory, expected_key_id)
    public_key = files[PUBLIC_KEY]
    try:
        checkpoints = sorted(
            (
                parse_checkpoint(data, public_key)
                for name, data in files.items()
                if name.startswith("checkpoints/")
            ),
            key=lambda c: c.tree_size,
        )
    except CheckpointError as exc:
        raise BundleInvalid(f"checkpoint: {exc}") from exc
    if not checkpoints or checkpoints[-1].tree_size != manifest["tree_size"]:
        raise BundleInvalid("the bundle's last checkpoint is missing")
    _check_consistency(checkpoints, _lines(files.get(CONSISTENCY, b""), CONSISTENCY))
    events = [_event(f, f"{EVENTS} line {n}") for n, f in enumerate(_lines(files[EVENTS], EVENTS), start=1)]
    if len(events) != manifest["events"]:
        raise BundleInvalid("the number of events differs from the manifest")
    if manifest["complete"]:
        verifier = ChainVerifier(checkpoints=checkpoints)
        verifier.feed_all(events)
        verifier.finish()
        if verifier.next_seq - 1 != checkpoints[-1].tree_size:
            raise VerificationFailed(verifier.next_seq, "missing: the bundle ends before its last checkpoint")
    else:
        _check_selection(events, checkpoints[-1], _lines(files.get(INCLUSION, b""), INCLUSION))
    return BundleReport(
        key_id=manifest["key_id"],
        events=len(events),
        complete=bool(manifest["complete"]),
        tree_size=checkpoints[-1].tree_size,
        checkpoints=len(checkpoints),
    )


def _check_consistency(checkpoints: list[SignedCheckpoint], proofs: Iterable[dict[str, Any]]) -> None:
    by_pair = {(p["from"], p["to"]): [_hex(h, "consistency proof") for h in p["proof"]] for p in proofs}
    for old, new in itertools.pairwise(checkpoints):
        proof = by_pair.pop((old.tree_size, new.tree_size), None)
        if proof is None or not verify_consistency(
            old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof
        ):
            raise BundleInvalid(
                f"the checkpoints at sizes {old.tree_size} and {new.tree_size} are not proven consistent"
            )
    if by_pair:
        raise BundleInvalid("consistency proofs for checkpoints the bundle does not hold")


def _check_selection(
    events: list[ChainedEvent], final: SignedCheckpoint, proofs: Iterable[dict[str, Any]]
) -> None:
    by_seq = {p["seq"]: p for p in proofs}
    purges = [
        PurgeRule.parse(e.seq, e.payload)
        for e in events
        if e.event_type == event_types.AUDIT_PAYLOADS_PURGED and e.payload is not None
    ]
    previous: ChainedEvent | None = None
    for event in events:
        if previous is not None and event.seq <= previous.seq:
            raise VerificationFailed(event.seq, "out of order or repeated")
        if previous is not None and event.seq == previous.seq + 1 and event.prev_hash != previous.hash:
            raise VerificationFailed(event.seq, f"its link to {previous.seq} is broken")
        single = ChainVerifier(checkpoints=[], next_seq=event.seq, prev_hash=event.prev_hash, frontier=None)
        single.feed(event)
        if event.payload is None and not any(r.covers(event.seq, event.event_type, event.ts) for r in purges):
            raise VerificationFailed(event.seq, "its payload is missing and no approved purge covers it")
        proof = by_seq.pop(event.seq, None)
        if proof is None or proof["tree_size"] != final.tree_size:
            raise VerificationFailed(event.seq, "no inclusion proof for it in the last checkpoint")
        path = [_hex(h, "inclusion proof") for h in proof["proof"]]
        if not verify_inclusion(event.seq - 1, final.tree_size, event.hash, path, final.root_hash):
            raise VerificationFailed(event.seq, "its inclusion proof does not lead to the signed root")
        previous = event
    if by_seq:
        raise BundleInvalid("inclusion proofs for events the bundle does not hold")
