"""`audit.append_sealed`: append a batch of events straight into the chain, in the caller's transaction.

For events that stand alone (audit/group_commit.py): one transaction carries a whole batch of writers'
events, so taking the chain lock to its commit costs one lock hold per batch, and the events are written
once instead of passing through the intake. Intake ids come from the intake's own sequence, so ids stay
unique across both paths; the digests and hashes are those of `audit.append` and `audit.chain_pending`.

Revision ID: 20261204_audit_append_sealed
Revises: 20261203_answer_cache_hits
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "20261204_audit_append_sealed"
down_revision: str | None = "20261203_answer_cache_hits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "plinth_app"
SIGNATURE = "audit.append_sealed(text[], text[], text[], text[], text[], text[])"

APPEND_SEALED = """
CREATE FUNCTION audit.append_sealed(
    p_event_types text[], p_actors text[], p_channels text[], p_subjects text[], p_correlation_ids text[],
    p_payloads text[]
) RETURNS SETOF bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_n integer := coalesce(array_length(p_event_types, 1), 0);
    v_head bigint;
    v_prev bytea;
    v_ids bigint[];
    v_ts timestamptz[];
    v_payload_digests bytea[];
    v_event_digests bytea[];
    v_prevs bytea[] := '{}';
    v_hashes bytea[] := '{}';
BEGIN
    IF v_n = 0 THEN
        RETURN;
    END IF;
    IF coalesce(array_length(p_actors, 1), 0) <> v_n OR coalesce(array_length(p_channels, 1), 0) <> v_n
       OR coalesce(array_length(p_subjects, 1), 0) <> v_n
       OR coalesce(array_length(p_correlation_ids, 1), 0) <> v_n
       OR coalesce(array_length(p_payloads, 1), 0) <> v_n THEN
        RAISE EXCEPTION 'every field of a batch of audit events needs one value per event'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM unnest(p_event_types, p_actors) AS u(event_type, actor)
                WHERE coalesce(u.event_type, '') = '' OR coalesce(u.actor, '') = '') THEN
        RAISE EXCEPTION 'an audit event needs an event type and an actor'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM unnest(p_payloads) AS u(payload)
                WHERE u.payload IS NULL OR json_typeof(u.payload::json) <> 'object') THEN
        RAISE EXCEPTION 'an audit payload must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Everything that does not depend on the chain's head is computed before taking its lock.
    SELECT array_agg(r.id ORDER BY r.n), array_agg(r.ts ORDER BY r.n), array_agg(r.payload_digest ORDER BY r.n),
           array_agg(sha256(convert_to(audit.event_json(r.ts, r.event_type, r.actor, r.channel, r.subject,
                                                        r.correlation_id, r.payload_digest), 'UTF8'))
                     ORDER BY r.n)
      INTO v_ids, v_ts, v_payload_digests, v_event_digests
      FROM (SELECT u.*, nextval('audit.intake_id_seq') AS id, clock_timestamp() AS ts,
                   sha256(convert_to(u.payload, 'UTF8')) AS payload_digest
              FROM unnest(p_event_types, p_actors, p_channels, p_subjects, p_correlation_ids, p_payloads)
                   WITH ORDINALITY AS u(event_type, actor, channel, subject, correlation_id, payload, n)
             OFFSET 0) AS r;
    PERFORM pg_advisory_xact_lock(88288577606728 /* audit.store.CHAIN_LOCK_KEY */);
    SELECT seq, hash INTO v_head, v_prev FROM audit.events ORDER BY seq DESC LIMIT 1;
    IF v_head IS NULL THEN
        v_head := 0;
        v_prev := decode(repeat('00', 32), 'hex');
    END IF;
    FOR i IN 1..v_n LOOP
        v_prevs[i] := v_prev;
        v_prev := sha256('\\x00'::bytea || v_prev || int8send(v_head + i) || v_event_digests[i]);
        v_hashes[i] := v_prev;
    END LOOP;
    INSERT INTO audit.events (seq, id, ts, event_type, actor, channel, subject, correlation_id,
                              payload_digest, event_digest, prev_hash, hash)
    SELECT v_head + u.n, u.id, u.ts, u.event_type, u.actor, u.channel, u.subject, u.correlation_id,
           u.payload_digest, u.event_digest, u.prev, u.hash
      FROM unnest(v_ids, v_ts, p_event_types, p_actors, p_channels, p_subjects, p_correlation_ids,
                  v_payload_digests, v_event_digests, v_prevs, v_hashes) WITH ORDINALITY
           AS u(id, ts, event_type, actor, channel, subject, correlation_id, payload_digest, event_digest,
                prev, hash, n);
    INSERT INTO audit.payloads (event_id, body) SELECT * FROM unnest(v_ids, p_payloads);
    RETURN QUERY SELECT v_head + g FROM generate_series(1, v_n) AS g;
END $$
"""


def upgrade() -> None:
    op.execute(APPEND_SEALED)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
