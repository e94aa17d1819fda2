"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme): the same value always serialises to the
same bytes, so a digest of it is stable wherever it is computed."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of `value`. Refuses what has no canonical form (NaN, infinities, integers beyond
    2^53, non-string keys) with a ValueError that says so."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"an audit payload must be canonical JSON (RFC 8785): {exc}") from exc


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
