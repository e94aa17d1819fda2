"""`plinth ingest` (files or whole directories) and `plinth docs ...` (list, show, delete, access, review,
refusals)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from app import intake
from app.core.blobs import BlobStore, default_blob_store
from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals

CLI_SOURCE = "cli"

docs = typer.Typer(help="Documents in the knowledge base: list, inspect, delete, access, review.")


def expand(paths: list[Path]) -> Iterator[Path]:
    """Files named, and every non-hidden file under directories named, in a stable order."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in relative.parts):
                    yield child
        else:
            yield path


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"invalid date {value!r}: use YYYY-MM-DD or an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ingest_one(
    path: Path,
    *,
    blobs: BlobStore,
    submitter: uuid.UUID,
    grants: list[str],
    dates: tuple[datetime | None, ...],
) -> bool:
    """Ingest one file and say what happened; False when it was refused (the refusal is recorded)."""
    done = intake.submit_document(
        blobs=blobs,
        opener=lambda: path.open("rb"),
        original_name=path.name,
        source_name=CLI_SOURCE,
        source_key=knowledge.cli_source_key(path),
        channel="cli",
        submitted_by=submitter,
        access=grants,
        review_at=dates[0],
        expires_at=dates[1],
    )
    if done.outcome is None:
        assert done.refused is not None
        typer.echo(f"refused {path}: {done.refused.message}", err=True)
        return False
    outcome = done.outcome
    if outcome.status == "duplicate":
        typer.echo(f"unchanged {path}: already ingested as version {outcome.version_no}")
    else:
        version, chunks = outcome.version_no, outcome.chunks
        typer.echo(f'ingested {path}: "{outcome.title}" version {version}, {chunks} chunks')
    for part in outcome.skipped:
        typer.echo(f"  left out {part}")
    return True


def ingest_paths(
    paths: list[Path],
    *,
    as_user: str = "cli",
    access: list[str] | None = None,
    review: str | None = None,
    expires: str | None = None,
) -> list[bool]:
    """What `plinth ingest` does: every file under the paths, one transaction each, one line printed
    per file; True per file ingested or unchanged, False per file refused."""
    blobs = default_blob_store()
    dates = (_date(review), _date(expires))
    with session_scope() as session:
        submitter = principals.ensure_local(session, handle=as_user).id
        grants = knowledge.resolve_access(session, access or ["org"])
    return [
        _ingest_one(path, blobs=blobs, submitter=submitter, grants=grants, dates=dates)
        for path in expand(paths)
    ]


def register(cli: typer.Typer) -> None:
    @cli.command()
    def ingest(
        paths: list[Path] = typer.Argument(..., help="Files or directories (recursively)."),
        as_user: str = typer.Option("cli", "--as", help="Submit as this user."),
        access: list[str] = typer.Option(
            ["org"], help="Who may read it: org, group:NAME, user:HANDLE, slack:TEAM:CHANNEL (repeatable)."
        ),
        review: str = typer.Option(None, help="Review date (YYYY-MM-DD): answers flag it as stale after."),
        expires: str = typer.Option(None, help="Expiry date (YYYY-MM-DD): answers flag it as stale after."),
    ) -> None:
        """Ingest files: each is ingested, skipped as unchanged, or refused with the reason."""
        results = ingest_paths(paths, as_user=as_user, access=access, review=review, expires=expires)
        if not all(results):
            raise typer.Exit(1)

    cli.add_typer(docs, name="docs")


def _echo(value: object) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, default=str))


@docs.command("list")
def list_docs(include_deleted: bool = typer.Option(False, help="Include deleted documents.")) -> None:
    """One JSON line per document: id, title, version, access, freshness."""
    with session_scope() as session:
        for doc in knowledge.list_documents(session, include_deleted=include_deleted):
            _echo(doc.model_dump(mode="json", exclude={"versions"}))


@docs.command("show")
def show(document_id: uuid.UUID) -> None:
    """A document with every version's provenance (hash, parser, submitter, channel, time)."""
    with session_scope() as session:
        _echo(knowledge.show_document(session, document_id=document_id).model_dump(mode="json"))


def _operator(session: Session, handle: str) -> uuid.UUID:
    return principals.ensure_local(session, handle=handle).id


@docs.command("delete")
def delete(document_id: uuid.UUID, as_user: str = typer.Option("cli", "--as")) -> None:
    """Delete a document: its chunks leave retrieval at once; its history stays."""
    with session_scope() as session:
        removed = knowledge.delete_document(session, document_id=document_id, by=_operator(session, as_user))
    typer.echo(f"deleted {document_id}: {removed} chunks removed from retrieval")


@docs.command("access")
def access(
    document_id: uuid.UUID,
    grant: list[str] = typer.Option(..., help="org, group:NAME, user:HANDLE, slack:TEAM:CHANNEL."),
    as_user: str = typer.Option("cli", "--as"),
) -> None:
    """Replace a document's access list."""
    with session_scope() as session:
        grants = knowledge.resolve_access(session, grant)
        knowledge.set_access(session, document_id=document_id, access=grants, by=_operator(session, as_user))
    typer.echo(f"access of {document_id}: {', '.join(grants)}")


@docs.command("review")
def review(
    document_id: uuid.UUID,
    review_at: str = typer.Option(None, "--review", help="Review date; empty clears it."),
    expires_at: str = typer.Option(None, "--expires", help="Expiry date; empty clears it."),
    as_user: str = typer.Option("cli", "--as"),
) -> None:
    """Set (or clear) a document's review and expiry dates."""
    with session_scope() as session:
        knowledge.set_review(
            session,
            document_id=document_id,
            review_at=_date(review_at),
            expires_at=_date(expires_at),
            by=_operator(session, as_user),
        )
    typer.echo(f"review of {document_id}: review {review_at or '-'}, expires {expires_at or '-'}")


@docs.command("refusals")
def refusals(limit: int = typer.Option(50, help="How many, newest first.")) -> None:
    """Refused files with the reason their submitter was told."""
    with session_scope() as session:
        for refusal in knowledge.list_refusals(session, limit=limit):
            _echo(refusal.model_dump(mode="json"))
