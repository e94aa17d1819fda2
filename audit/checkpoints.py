"""Signed checkpoint files: the RFC 6962 Merkle root of the chain's first `tree_size` events and the
chain's hash at that event, signed with Ed25519.

A checkpoint file is canonical JSON: the statement's fields plus `signature`, an Ed25519 signature over
the canonical JSON of the statement alone. Only byte-exact canonical files are accepted, so no byte of a
checkpoint can change unnoticed."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from audit.canonical import canonical_json
from audit.merkle import HASH_SIZE
from audit.signing import key_id, verify_signature
from audit.wormstore import WriteOnceStore

FORMAT = "plinth-audit-checkpoint/1"
FIELDS = frozenset({"format", "tree_size", "root_hash", "head_hash", "timestamp", "key_id", "signature"})


def file_name(tree_size: int) -> str:
    return f"checkpoint-{tree_size:015d}.json"


class CheckpointError(ValueError):
    """A checkpoint file that is malformed, not canonical, or not signed by the expected key."""


@dataclass(frozen=True)
class SignedCheckpoint:
    tree_size: int
    root_hash: bytes
    head_hash: bytes
    timestamp: str
    key_id: str
    signature: bytes

    @property
    def name(self) -> str:
        return file_name(self.tree_size)

    def statement(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "head_hash": self.head_hash.hex(),
            "timestamp": self.timestamp,
            "key_id": self.key_id,
        }

    def signed_bytes(self) -> bytes:
        return canonical_json(self.statement())

    def to_file(self) -> bytes:
        return canonical_json({**self.statement(), "signature": base64.b64encode(self.signature).decode()})


def _hex(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise CheckpointError(f"{what} is not a string")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise CheckpointError(f"{what} is not hex") from exc
    if raw.hex() != value or len(raw) != HASH_SIZE:
        raise CheckpointError(f"{what} is not a lower-case 32-byte hex digest")
    return raw


def parse_checkpoint(data: bytes, public_key_pem: bytes) -> SignedCheckpoint:
    """A checkpoint file, accepted only if canonical and signed by `public_key_pem`."""
    try:
        fields = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"not JSON ({exc})") from exc
    if not isinstance(fields, dict) or set(fields) != FIELDS:
        raise CheckpointError("not a checkpoint (unexpected fields)")
    if fields["format"] != FORMAT:
        raise CheckpointError(f"unknown format {fields['format']!r}")
    size, stamp, signer, signature = (
        fields["tree_size"],
        fields["timestamp"],
        fields["key_id"],
        fields["signature"],
    )
    if not isinstance(size, int) or size < 1 or not isinstance(stamp, str) or not isinstance(signer, str):
        raise CheckpointError("tree_size, timestamp or key_id malformed")
    try:
        raw_signature = base64.b64decode(signature, validate=True) if isinstance(signature, str) else b""
    except ValueError as exc:
        raise CheckpointError("signature is not base64") from exc
    checkpoint = SignedCheckpoint(
        tree_size=size,
        root_hash=_hex(fields["root_hash"], "root_hash"),
        head_hash=_hex(fields["head_hash"], "head_hash"),
        timestamp=stamp,
        key_id=signer,
        signature=raw_signature,
    )
    if checkpoint.to_file() != data:
        raise CheckpointError("not in canonical form")
    if signer != key_id(public_key_pem):
        raise CheckpointError(f"signed by key {signer}, not by {key_id(public_key_pem)}")
    if not verify_signature(public_key_pem, checkpoint.signature, checkpoint.signed_bytes()):
        raise CheckpointError("the signature does not verify")
    return checkpoint


def load_checkpoints(store: WriteOnceStore, public_key_pem: bytes) -> list[SignedCheckpoint]:
    """Every checkpoint in the store, verified, in order of size. Raises CheckpointError naming the file."""
    found: list[SignedCheckpoint] = []
    for name in store.names():
        if not name.startswith("checkpoint-"):
            continue
        try:
            checkpoint = parse_checkpoint(store.get(name), public_key_pem)
        except CheckpointError as exc:
            raise CheckpointError(f"{name}: {exc}") from exc
        if checkpoint.name != name:
            raise CheckpointError(f"{name}: holds the checkpoint at size {checkpoint.tree_size}")
        found.append(checkpoint)
    return sorted(found, key=lambda c: c.tree_size)
