"""`plinth audit ...`: verify the chain, checkpoint it, export it, and make or check evidence bundles."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from app.cli import audit_retention
from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.domains.principals import service as principals
from audit import bundle, events, evidence, maintenance, query
from audit import store as audit_store
from audit.signing import default_signer, key_id
from audit.verify import VerificationFailed, chain_head, pending_count, verify_published
from audit.wormstore import default_store

cli = typer.Typer(
    help="The audit store: verify, checkpoint, export, bundles, retention.", no_args_is_help=True
)
audit_retention.register(cli)

AS_USER = typer.Option("cli", "--as", help="Who runs this (recorded as the actor of the audit event).")


def parse_time(value: str | None, option: str) -> datetime | None:
    """ISO 8601 date or time; without a zone it is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{option} {value!r} is not an ISO 8601 date or time (e.g. 2026-12-01T09:00Z)"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def actor_for(handle: str) -> str:
    with session_scope() as session:
        return principals.actor(principals.ensure_local(session, handle=handle).id)


def _filters(
    *,
    since: str | None,
    until: str | None,
    event_type: list[str],
    actor: str | None,
    channel: str | None,
    correlation_id: str | None,
    text: str | None,
) -> query.EventFilter:
    return query.EventFilter(
        since=parse_time(since, "--from"),
        until=parse_time(until, "--to"),
        event_types=tuple(event_type),
        actor=actor,
        channel=channel,
        correlation_id=correlation_id,
        text=text,
    )


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


@cli.command()
def verify(
    from_seq: int = typer.Option(1, "--from", help="Verify from this sequence number on."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    as_user: str = AS_USER,
) -> None:
    """Recompute the chain from the stored rows and check it against the signed checkpoints."""
    actor = actor_for(as_user)
    signer = default_signer()
    with session_scope() as session:
        result = verify_published(
            session, store=default_store(), public_key_pem=signer.public_key_pem(), from_seq=from_seq
        )
    with session_scope() as session:
        audit_store.append(
            session, event_type=events.AUDIT_VERIFIED, actor=actor, channel="cli", payload=result
        )
    if as_json:
        typer.echo(json.dumps(result))
    elif result["ok"]:
        typer.echo(
            f"intact: events {result['from_seq']}..{result['to_seq']} ({result['events']} verified, "
            f"{result['checkpoints_checked']} signed checkpoints matched, latest at "
            f"{result['latest_checkpoint'] or 'none yet'}); {result['purged_payloads']} payloads purged "
            f"under approved purges; {result['pending']} committed events not yet chained"
        )
    else:
        where = f"at seq {result['failed_seq']}" if result["failed_seq"] is not None else ""
        typer.echo(f"FAILED {where}: {result['reason']}", err=True)
    if not result["ok"]:
        raise typer.Exit(1)


@cli.command()
def status() -> None:
    """The chain head, events waiting to be chained, the latest checkpoint and the signing key."""
    from audit.checkpointing import latest

    signer = default_signer()
    with session_scope() as session:
        head, pending, last = chain_head(session), pending_count(session), latest(session)
        typer.echo(f"chain head      {head}")
        typer.echo(f"not yet chained {pending}")
        typer.echo(
            f"last checkpoint {f'{last.tree_size} at {last.created_at.isoformat()}' if last else 'none'}"
        )
    typer.echo(f"signing key     {key_id(signer.public_key_pem())}")


@cli.command()
def checkpoint() -> None:
    """Seal waiting events and sign a checkpoint now (beat does this every N events or T minutes)."""
    run = maintenance.run(signer=default_signer(), store=default_store(), force=True)
    if not run.ran:
        raise _fail("another audit maintenance run is in progress; try again")
    made = run.checkpoint
    typer.echo(f"checkpoint at size {made.tree_size}" if made else "no new events since the last checkpoint")


@cli.command()
def export(
    *,
    out: Path = typer.Option(..., "--out", help="File to write."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv."),
    since: str = typer.Option(None, "--from", help="From this time (inclusive, ISO 8601; UTC if no zone)."),
    until: str = typer.Option(None, "--to", help="Until this time (exclusive)."),
    event_type: list[str] = typer.Option([], "--type", help="Event type (repeatable)."),
    actor: str = typer.Option(None, help="Only this actor (e.g. principal:<id>, system)."),
    channel: str = typer.Option(None, help="Only this channel."),
    correlation_id: str = typer.Option(None, help="Only this correlation id."),
    text: str = typer.Option(None, help="Case-insensitive text in the payload, actor or subject."),
    as_user: str = AS_USER,
) -> None:
    """Export events (as chained; the export itself is audited)."""
    if fmt not in ("jsonl", "csv"):
        raise InvalidInput(f"--format {fmt!r}: use jsonl or csv")
    filters = _filters(
        since=since,
        until=until,
        event_type=event_type,
        actor=actor,
        channel=channel,
        correlation_id=correlation_id,
        text=text,
    )
    who = actor_for(as_user)
    with session_scope() as session:
        through = chain_head(session)
        audit_store.append(
            session,
            event_type=events.AUDIT_EXPORTED,
            actor=who,
            channel="cli",
            payload={"filters": filters.describe(), "format": fmt, "through_seq": through, "to": str(out)},
        )
    count = 0
    with session_scope() as session, out.open("w", encoding="utf-8", newline="") as sink:
        records = query.stream(session, filters=filters, through_seq=through)
        for line in query.render(records, fmt):  # type: ignore[arg-type]
            sink.write(line)
            count += line.count("\n") if fmt == "jsonl" else 0
    typer.echo(
        f"exported events up to seq {through} to {out}" + (f" ({count} events)" if fmt == "jsonl" else "")
    )


@cli.command("bundle")
def make_bundle(
    *,
    out: Path = typer.Option(..., "--out", help="Directory to create (must be new or empty)."),
    since: str = typer.Option(None, "--from", help="Only events from this time (default: all events)."),
    until: str = typer.Option(None, "--to", help="Only events before this time."),
    event_type: list[str] = typer.Option([], "--type", help="Only this event type (repeatable)."),
    correlation_id: str = typer.Option(None, help="Only this correlation id."),
    as_user: str = AS_USER,
) -> None:
    """Write an evidence bundle (events, signed checkpoints, proofs, public key) for offline checking."""
    filters = _filters(
        since=since,
        until=until,
        event_type=event_type,
        actor=None,
        channel=None,
        correlation_id=correlation_id,
        text=None,
    )
    who = actor_for(as_user)
    signer, store = default_signer(), default_store()
    maintenance.run(signer=signer, store=store, force=True)
    public_key = signer.public_key_pem()
    with session_scope() as session:
        contents = evidence.collect(session, filters=filters, store=store, public_key_pem=public_key)
        audit_store.append(
            session,
            event_type=events.AUDIT_BUNDLED,
            actor=who,
            channel="cli",
            payload={"filters": filters.describe(), "events": len(contents.events), "to": str(out)},
        )
    manifest = bundle.write(out, contents, public_key_pem=public_key, sign=signer.sign)
    typer.echo(
        f"bundle {out}: {manifest['events']} events, signed checkpoint at {manifest['tree_size']}, "
        f"key {manifest['key_id']}"
    )


@cli.command("verify-bundle")
def verify_bundle(
    directory: Path = typer.Argument(..., help="The bundle directory."),
    key: str = typer.Option(None, "--key-id", help="Expected signing key fingerprint (SHA256:...)."),
) -> None:
    """Verify a bundle offline: no database or settings needed."""
    try:
        report = bundle.verify_bundle(directory, expected_key_id=key)
    except (bundle.BundleInvalid, VerificationFailed) as exc:
        raise _fail(f"FAILED: {exc}") from exc
    kind = "every event" if report.complete else "selected events with inclusion proofs"
    typer.echo(
        f"verified: {report.events} events ({kind}) against {report.checkpoints} signed checkpoints up to "
        f"size {report.tree_size}; signing key {report.key_id} (compare it with the one you were given)"
    )
