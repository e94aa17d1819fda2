"""The audit store: intake (appended in the caller's transaction, no global lock), the chain (gapless
seq, hashes, sealed in batches by one sequencer at a time), payloads kept apart (purgeable), signed
checkpoints, retention policies, legal holds and two-approver purges.

The application role writes only through SECURITY DEFINER functions (`audit.append` records an event;
`audit.chain_pending` takes no data and seals committed events; `audit.record_checkpoint` and
`audit.purge_payloads` check what they are asked to do) and reads everything. UPDATE, DELETE and TRUNCATE
are refused by grants and, for the owner too, by triggers. Hash definitions: audit/chain.py.

Events recorded under the previous layout are re-sealed into the new chain in their order, keeping their
time; their payloads keep PostgreSQL's rendering of the stored JSON.

Revision ID: 20261201_audit_store
Revises: 20261201_app_role
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261201_audit_store"
down_revision: str | None = "20261201_app_role"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "plinth_app"
TS_SQL = """to_char(p_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""

FUNCTIONS = [
    # The canonical JSON of an event (RFC 8785: keys sorted, strings escaped as JSON does), as in
    # audit.chain.event_json.
    f"""
    CREATE FUNCTION audit.event_json(
        p_ts timestamptz, p_event_type text, p_actor text, p_channel text, p_subject text,
        p_correlation_id text, p_payload_digest bytea
    ) RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
        SELECT '{{"actor":' || to_json(p_actor)::text
            || ',"channel":' || coalesce(to_json(p_channel)::text, 'null')
            || ',"correlation_id":' || coalesce(to_json(p_correlation_id)::text, 'null')
            || ',"payload_sha256":"' || encode(p_payload_digest, 'hex')
            || '","subject":' || coalesce(to_json(p_subject)::text, 'null')
            || ',"ts":"' || {TS_SQL}
            || '","type":' || to_json(p_event_type)::text || '}}'
    $$
    """,
    """
    CREATE FUNCTION audit.append(
        p_event_type text, p_actor text, p_channel text, p_subject text, p_correlation_id text,
        p_payload text
    ) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
        v_ts timestamptz := clock_timestamp();
        v_payload_digest bytea;
        v_id bigint;
    BEGIN
        IF coalesce(p_event_type, '') = '' OR coalesce(p_actor, '') = '' THEN
            RAISE EXCEPTION 'an audit event needs an event type and an actor'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF p_payload IS NULL OR json_typeof(p_payload::json) <> 'object' THEN
            RAISE EXCEPTION 'an audit payload must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_payload_digest := sha256(convert_to(p_payload, 'UTF8'));
        INSERT INTO audit.intake
            (ts, event_type, actor, channel, subject, correlation_id, payload_digest, event_digest)
        VALUES (
            v_ts, p_event_type, p_actor, p_channel, p_subject, p_correlation_id, v_payload_digest,
            sha256(convert_to(audit.event_json(
                v_ts, p_event_type, p_actor, p_channel, p_subject, p_correlation_id, v_payload_digest
            ), 'UTF8'))
        )
        RETURNING id INTO v_id;
        INSERT INTO audit.payloads (event_id, body) VALUES (v_id, p_payload);
        RETURN v_id;
    END $$
    """,
    # Seal committed intake rows into the chain, oldest id first: one sequencer at a time (advisory
    # lock held to commit), seq = head + 1, each hash over the previous one. events.id is unique, so a
    # row can never be chained twice; it leaves the intake in the same transaction. With p_durable
    # false the sealing transaction commits without waiting for its WAL flush: its input is durable
    # already, and a crash can only undo a sealing (redone at the next run), never lose an event.
    """
    CREATE FUNCTION audit.chain_pending(p_limit integer DEFAULT 1000, p_durable boolean DEFAULT true)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
        v_head bigint;
        v_prev bytea;
        v_ids bigint[];
        v_digests bytea[];
        v_prevs bytea[] := '{}';
        v_hashes bytea[] := '{}';
        v_n integer;
    BEGIN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'audit.chain_pending must run at READ COMMITTED'
                USING ERRCODE = 'invalid_transaction_state';
        END IF;
        IF NOT p_durable THEN
            PERFORM set_config('synchronous_commit', 'off', true);
        END IF;
        PERFORM pg_advisory_xact_lock(88288577606728 /* audit.store.CHAIN_LOCK_KEY */);
        SELECT seq, hash INTO v_head, v_prev FROM audit.events ORDER BY seq DESC LIMIT 1;
        IF v_head IS NULL THEN
            v_head := 0;
            v_prev := decode(repeat('00', 32), 'hex');
        END IF;
        SELECT array_agg(b.id ORDER BY b.id), array_agg(b.event_digest ORDER BY b.id)
          INTO v_ids, v_digests
          FROM (SELECT id, event_digest FROM audit.intake ORDER BY id LIMIT p_limit) AS b;
        v_n := coalesce(array_length(v_ids, 1), 0);
        IF v_n = 0 THEN
            RETURN 0;
        END IF;
        FOR i IN 1..v_n LOOP
            v_prevs[i] := v_prev;
            v_prev := sha256('\\x00'::bytea || v_prev || int8send(v_head + i) || v_digests[i]);
            v_hashes[i] := v_prev;
        END LOOP;
        INSERT INTO audit.events (seq, id, ts, event_type, actor, channel, subject, correlation_id,
                                  payload_digest, event_digest, prev_hash, hash)
        SELECT v_head + b.ord, i.id, i.ts, i.event_type, i.actor, i.channel, i.subject, i.correlation_id,
               i.payload_digest, i.event_digest, b.prev, b.hash
          FROM unnest(v_ids, v_prevs, v_hashes) WITH ORDINALITY AS b(id, prev, hash, ord)
          JOIN audit.intake i ON i.id = b.id;
        PERFORM set_config('plinth.audit_chaining', 'on', true);
        DELETE FROM audit.intake WHERE id = ANY (v_ids);
        PERFORM set_config('plinth.audit_chaining', '', true);
        RETURN v_n;
    END $$
    """,
    """
    CREATE FUNCTION audit.record_checkpoint(
        p_tree_size bigint, p_root_hash bytea, p_head_hash bytea, p_key_id text, p_statement text,
        p_signature bytea, p_frontier bytea
    ) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
        IF NOT EXISTS (SELECT FROM audit.events WHERE seq = p_tree_size AND hash = p_head_hash) THEN
            RAISE EXCEPTION 'checkpoint at size % does not end at the chain''s event %', p_tree_size, p_tree_size
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF EXISTS (SELECT FROM audit.checkpoints WHERE tree_size >= p_tree_size) THEN
            RAISE EXCEPTION 'a checkpoint at size % or later exists', p_tree_size
                USING ERRCODE = 'unique_violation';
        END IF;
        INSERT INTO audit.checkpoints
            (tree_size, root_hash, head_hash, key_id, statement, signature, frontier, created_at)
        VALUES (p_tree_size, p_root_hash, p_head_hash, p_key_id, p_statement, p_signature, p_frontier,
                clock_timestamp());
    END $$
    """,
    # Delete the payloads a purge request covers, once two different people approved it and the
    # retention of its event type has passed; events under an active legal hold keep theirs.
    """
    CREATE FUNCTION audit.purge_payloads(p_request uuid, OUT purged bigint, OUT held bigint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
        r audit.purge_requests;
        v_days integer;
        v_approvers integer;
    BEGIN
        SELECT * INTO r FROM audit.purge_requests WHERE id = p_request FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no purge request %', p_request USING ERRCODE = 'no_data_found';
        END IF;
        IF r.executed_at IS NOT NULL THEN
            RAISE EXCEPTION 'purge request % was already carried out', p_request
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT count(DISTINCT approver) INTO v_approvers FROM audit.purge_approvals WHERE request_id = p_request;
        IF v_approvers < 2 THEN
            RAISE EXCEPTION 'purge request % needs two different approvers (has %)', p_request, v_approvers
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        SELECT retain_days INTO v_days FROM audit.retention_policies WHERE event_type = r.event_type;
        IF v_days IS NULL OR r.cutoff > clock_timestamp() - make_interval(days => v_days) THEN
            RAISE EXCEPTION 'the retention of % events before % has not ended', r.event_type, r.cutoff
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        PERFORM set_config('plinth.audit_purging', 'on', true);
        WITH candidates AS (
            SELECT e.id, EXISTS (
                       SELECT FROM audit.legal_holds h
                        WHERE h.released_at IS NULL
                          AND (h.event_type IS NULL OR h.event_type = e.event_type)
                          AND (h.actor IS NULL OR h.actor = e.actor)
                          AND (h.correlation_id IS NULL OR h.correlation_id = e.correlation_id)
                          AND (h.subject IS NULL OR h.subject = e.subject)) AS is_held
              FROM audit.events e JOIN audit.payloads p ON p.event_id = e.id
             WHERE e.event_type = r.event_type AND e.ts < r.cutoff AND e.seq <= r.through_seq
        ), deleted AS (
            DELETE FROM audit.payloads p USING candidates c
             WHERE p.event_id = c.id AND NOT c.is_held RETURNING 1
        )
        SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM candidates WHERE is_held)
          INTO purged, held;
        PERFORM set_config('plinth.audit_purging', '', true);
        UPDATE audit.purge_requests
           SET executed_at = clock_timestamp(), purged_count = purged, held_count = held
         WHERE id = p_request;
    END $$
    """,
    # Refusals: always for the chain and checkpoints; intake rows leave only through chain_pending, and
    # payloads only through purge_payloads.
    """
    CREATE FUNCTION audit.refuse_change_of() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND TG_NARGS = 1 AND current_setting(TG_ARGV[0], true) = 'on' THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'audit.% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
]

PROTECTED = {  # table -> setting that lets its own function delete rows (None: never)
    "events": None,
    "checkpoints": None,
    "intake": "plinth.audit_chaining",
    "payloads": "plinth.audit_purging",
    "purge_approvals": None,
}


def _audit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("payload_digest", sa.LargeBinary(), nullable=False),
        sa.Column("event_digest", sa.LargeBinary(), nullable=False),
    ]


def _create_tables() -> None:
    op.create_table(
        "intake",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        *_audit_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake")),
        schema="audit",
    )
    op.create_table(
        "payloads",
        sa.Column("event_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_payloads")),
        schema="audit",
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        *_audit_columns(),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("id", name=op.f("uq_events_id")),
        schema="audit",
    )
    for column in ("ts", "correlation_id", "event_type", "actor"):
        op.create_index(f"ix_audit_events_{column}", "events", [column], unique=False, schema="audit")
    op.create_table(
        "checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("head_hash", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_checkpoints")),
        schema="audit",
    )
    op.create_table(
        "retention_policies",
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("retain_days", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("retain_days > 0", name=op.f("ck_retention_policies_positive_days")),
        sa.PrimaryKeyConstraint("event_type", name=op.f("pk_retention_policies")),
        schema="audit",
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.Text(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.Text(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "num_nonnulls(event_type, actor, correlation_id, subject) > 0",
            name=op.f("ck_legal_holds_has_scope"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
        schema="audit",
    )
    op.create_table(
        "purge_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("through_seq", sa.BigInteger(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_count", sa.BigInteger(), nullable=True),
        sa.Column("held_count", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purge_requests")),
        schema="audit",
    )
    op.create_table(
        "purge_approvals",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("approver", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["audit.purge_requests.id"],
            name=op.f("fk_purge_approvals_request_id_purge_requests"),
        ),
        sa.PrimaryKeyConstraint("request_id", "approver", name=op.f("pk_purge_approvals")),
        schema="audit",
    )


def _protect() -> None:
    # Statement-level: one check per statement, and a statement touching no row is refused as well.
    for table, setting in PROTECTED.items():
        argument = f"'{setting}'" if setting else ""
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON audit.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change_of()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON audit.{table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change_of({argument})"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON audit.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change_of()"
        )
    for table in ("legal_holds", "purge_requests"):  # released or carried out, never removed
        for operation in ("DELETE", "TRUNCATE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON audit.{table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change_of()"
            )


def _grant() -> None:
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM PUBLIC")
    op.execute("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA audit FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA audit TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA audit TO {APP_ROLE}")
    op.execute(f"GRANT INSERT, UPDATE, DELETE ON audit.retention_policies TO {APP_ROLE}")
    op.execute(f"GRANT INSERT, UPDATE ON audit.legal_holds, audit.purge_requests TO {APP_ROLE}")
    op.execute(f"GRANT INSERT ON audit.purge_approvals TO {APP_ROLE}")
    for function in (
        "audit.append(text, text, text, text, text, text)",
        "audit.chain_pending(integer, boolean)",
        "audit.record_checkpoint(bigint, bytea, bytea, text, text, bytea, bytea)",
        "audit.purge_payloads(uuid)",
        "audit.event_json(timestamptz, text, text, text, text, text, bytea)",
    ):
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {APP_ROLE}")


def upgrade() -> None:
    op.execute(
        """
        DO $$ BEGIN
            IF pg_encoding_to_char((SELECT encoding FROM pg_database WHERE datname = current_database()))
               <> 'UTF8' THEN
                RAISE EXCEPTION 'the audit store needs a UTF8 database (digests are over UTF-8 bytes)';
            END IF;
        END $$
        """
    )
    # The previous layout: one table with the payload inline and a hash chain sealed under a lock.
    for column in ("ts", "event_type", "correlation_id"):
        op.drop_index(f"ix_audit_events_{column}", table_name="events", schema="audit")
    op.execute("ALTER TABLE audit.events RENAME TO events_v0")
    op.execute("ALTER TABLE audit.events_v0 RENAME CONSTRAINT pk_events TO pk_events_v0")
    _create_tables()
    for statement in FUNCTIONS:
        op.execute(statement)
    op.execute(
        """
        INSERT INTO audit.intake (id, ts, event_type, actor, channel, subject, correlation_id,
                                  payload_digest, event_digest)
        SELECT seq, ts, event_type, actor, channel, subject, correlation_id,
               sha256(convert_to(payload::text, 'UTF8')),
               sha256(convert_to(audit.event_json(ts, event_type, actor, channel, subject, correlation_id,
                                                  sha256(convert_to(payload::text, 'UTF8'))), 'UTF8'))
          FROM audit.events_v0
        """
    )
    op.execute("INSERT INTO audit.payloads (event_id, body) SELECT seq, payload::text FROM audit.events_v0")
    op.execute(
        "SELECT setval(pg_get_serial_sequence('audit.intake', 'id'), "
        "(SELECT coalesce(max(seq), 0) + 1 FROM audit.events_v0), false)"
    )
    op.execute("SELECT audit.chain_pending(2147483647)")
    op.execute("DROP TABLE audit.events_v0")
    _protect()
    _grant()


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA audit FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA audit FROM {APP_ROLE}")
    # Back to one table: unchained events are sealed first; purged payloads come back empty.
    op.execute("SELECT audit.chain_pending(2147483647)")
    op.execute("ALTER TABLE audit.events RENAME TO events_v1")
    op.execute("ALTER TABLE audit.events_v1 RENAME CONSTRAINT pk_events TO pk_events_v1")
    for column in ("ts", "correlation_id", "event_type", "actor"):
        op.drop_index(f"ix_audit_events_{column}", table_name="events_v1", schema="audit")
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payload_digest", sa.LargeBinary(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        schema="audit",
    )
    op.execute(
        """
        INSERT INTO audit.events (seq, ts, event_type, actor, channel, subject, correlation_id, payload,
                                  payload_digest, prev_hash, hash)
        SELECT e.seq, e.ts, e.event_type, e.actor, e.channel, e.subject, e.correlation_id,
               coalesce(p.body::jsonb, '{}'::jsonb), e.payload_digest, e.prev_hash, e.hash
          FROM audit.events_v1 e LEFT JOIN audit.payloads p ON p.event_id = e.id
        """
    )
    op.create_index(
        "ix_audit_events_correlation_id", "events", ["correlation_id"], unique=False, schema="audit"
    )
    op.create_index("ix_audit_events_event_type", "events", ["event_type"], unique=False, schema="audit")
    op.create_index("ix_audit_events_ts", "events", ["ts"], unique=False, schema="audit")
    op.execute(
        "CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON audit.events "
        "FOR EACH ROW EXECUTE FUNCTION audit.refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON audit.events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()"
    )
    for table in (
        "purge_approvals",
        "purge_requests",
        "legal_holds",
        "retention_policies",
        "checkpoints",
        "events_v1",
        "payloads",
        "intake",
    ):
        op.drop_table(table, schema="audit")
    for function in (
        "audit.purge_payloads(uuid)",
        "audit.record_checkpoint(bigint, bytea, bytea, text, text, bytea, bytea)",
        "audit.chain_pending(integer, boolean)",
        "audit.append(text, text, text, text, text, text)",
        "audit.event_json(timestamptz, text, text, text, text, text, bytea)",
        "audit.refuse_change_of()",
    ):
        op.execute(f"DROP FUNCTION {function}")
