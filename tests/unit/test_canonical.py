from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from audit.canonical import canonical_json
from audit.chain import GENESIS_HASH, ChainedEvent, chain_hash, event_json, format_ts


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()


def test_canonical_json_writes_numbers_as_rfc8785_does() -> None:
    assert canonical_json({"a": 1e-7, "b": 1e21, "c": -0.0, "d": 1.0}) == b'{"a":1e-7,"b":1e+21,"c":0,"d":1}'


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**60])
def test_canonical_json_refuses_values_without_a_canonical_form(value: float) -> None:
    with pytest.raises(ValueError, match="RFC 8785"):
        canonical_json({"x": value})


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@given(
    actor=TEXT.filter(bool),
    event_type=TEXT.filter(bool),
    channel=st.none() | TEXT,
    subject=st.none() | TEXT,
    correlation_id=st.none() | TEXT,
)
def test_event_json_is_the_rfc8785_form_of_the_header(
    actor: str, event_type: str, channel: str | None, subject: str | None, correlation_id: str | None
) -> None:
    fields = {
        "actor": actor,
        "channel": channel,
        "correlation_id": correlation_id,
        "payload_sha256": "ab" * 32,
        "subject": subject,
        "ts": "2026-12-01T12:00:00.000001Z",
        "type": event_type,
    }
    built = event_json(
        ts=fields["ts"],
        event_type=event_type,
        actor=actor,
        channel=channel,
        subject=subject,
        correlation_id=correlation_id,
        payload_digest_hex="ab" * 32,
    )
    assert built.encode() == rfc8785.dumps(fields)
    assert json.loads(built) == fields


def test_timestamps_are_utc_with_microseconds() -> None:
    assert format_ts(datetime(2026, 12, 1, 12, 0, 0, 5, tzinfo=UTC)) == "2026-12-01T12:00:00.000005Z"


def _event(seq: int = 1, event_type: str = "input.received") -> ChainedEvent:
    return ChainedEvent(
        seq=seq,
        ts="2026-12-01T12:00:00.000000Z",
        event_type=event_type,
        actor="system",
        channel="cli",
        subject=None,
        correlation_id="c-1",
        payload_digest=b"\x01" * 32,
        prev_hash=GENESIS_HASH,
        hash=b"",
        payload=None,
    )


def test_chain_hash_covers_position_contents_and_previous_hash() -> None:
    digest = _event().recomputed_digest()
    base = chain_hash(GENESIS_HASH, 1, digest)
    assert base == chain_hash(GENESIS_HASH, 1, digest)
    assert base != chain_hash(GENESIS_HASH, 2, digest)
    assert base != chain_hash(GENESIS_HASH, 1, _event(event_type="output.generated").recomputed_digest())
    assert base != chain_hash(b"\x03" * 32, 1, digest)
