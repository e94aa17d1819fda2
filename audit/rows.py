"""Reading events back as stored, on a plain psycopg connection (the verification workers have no ORM):
headers by a range of seqs, payloads by the range of their event ids beside them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_HEADERS = """
SELECT e.seq, to_char(e.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.event_type, e.actor,
       e.channel, e.subject, e.correlation_id, e.payload_digest, e.prev_hash, e.hash, e.id
  FROM audit.events e
"""
EVENTS_SQL = _HEADERS + " WHERE e.seq >= %s AND e.seq <= %s ORDER BY e.seq"
EVENTS_BY_SEQ_SQL = _HEADERS + " WHERE e.seq = ANY(%s) ORDER BY e.seq"
# Payloads are fetched by a range (or list) of event ids beside the headers: a join would be planned as
# a scan of every payload per batch, and an index lookup per event costs the server more than the second
# query. Verification reads them as their UTF-8 bytes, which is what the digest covers.
TEXT_BODY, UTF8_BODY = "body", "convert_to(body, 'UTF8')"
PAYLOADS_BY_RANGE_SQL = "SELECT event_id, {body} FROM audit.payloads WHERE event_id BETWEEN %s AND %s"
PAYLOADS_BY_IDS_SQL = "SELECT event_id, {body} FROM audit.payloads WHERE event_id = ANY(%s)"


def with_payloads(
    cursor: Any, headers: list[tuple[Any, ...]], body: str = TEXT_BODY
) -> list[tuple[Any, ...]]:
    """Headers (ending with the event id) → rows in ChainedEvent's field order, payload last."""
    if not headers:
        return []
    ids = [h[-1] for h in headers]
    low, high = min(ids), max(ids)
    if high - low < 4 * len(ids) + 1000:
        cursor.execute(PAYLOADS_BY_RANGE_SQL.format(body=body), (low, high))
    else:
        cursor.execute(PAYLOADS_BY_IDS_SQL.format(body=body), (ids,))
    get = dict(cursor.fetchall()).get
    return [(*header[:-1], get(header[-1])) for header in headers]


def batches(
    connection: Any, *, start_seq: int, end_seq: int, batch: int, body: str = TEXT_BODY
) -> Iterator[list[tuple[Any, ...]]]:
    """Events start_seq..end_seq (a psycopg connection) in ranges of `batch` seqs: short index-range
    queries, no snapshot held for the whole run."""
    with connection.cursor(binary=True) as cursor:
        for low in range(start_seq, end_seq + 1, batch):
            cursor.execute(EVENTS_SQL, (low, min(low + batch - 1, end_seq)))
            yield with_payloads(cursor, cursor.fetchall(), body)
