from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audit.canonical import canonical_json
from audit.store import GENESIS_HASH, EventHeader, event_hash


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()


def test_canonical_json_refuses_values_without_a_canonical_form() -> None:
    with pytest.raises(ValueError, match="NaN"):
        canonical_json({"x": float("nan")})


def _header(seq: int = 1, event_type: str = "input.received") -> EventHeader:
    return EventHeader(
        seq=seq,
        ts=datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
        event_type=event_type,
        actor="system",
        channel="cli",
        subject=None,
        correlation_id="c-1",
    )


def test_event_hash_covers_header_payload_digest_and_previous_hash() -> None:
    digest = b"\x01" * 32
    base = event_hash(_header(), digest, GENESIS_HASH)
    assert base == event_hash(_header(), digest, GENESIS_HASH)
    assert base != event_hash(_header(seq=2), digest, GENESIS_HASH)
    assert base != event_hash(_header(event_type="output.generated"), digest, GENESIS_HASH)
    assert base != event_hash(_header(), b"\x02" * 32, GENESIS_HASH)
    assert base != event_hash(_header(), digest, b"\x03" * 32)
