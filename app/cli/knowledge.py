"""`plinth ingest`: add files (or whole directories) to the knowledge base."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import typer

from app.core.blobs import default_blob_store
from app.core.db import session_scope
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from rag.errors import IngestRefused

CLI_SOURCE = "cli"


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


def register(cli: typer.Typer) -> None:
    @cli.command()
    def ingest(
        paths: list[Path] = typer.Argument(..., help="Files or directories (recursively)."),
        as_user: str = typer.Option("cli", "--as", help="Submit as this user."),
        access: list[str] = typer.Option(
            ["org"], help="Who may read it: org, group:NAME, user:HANDLE (repeatable)."
        ),
    ) -> None:
        """Ingest files: each is ingested, skipped as unchanged, or refused with the reason."""
        blobs = default_blob_store()
        with session_scope() as session:
            submitter = principals.ensure_local(session, handle=as_user)
            grants = principals.resolve_grants(session, access)
        refused = 0
        for path in expand(paths):
            name = str(path)
            try:
                with path.open("rb") as stream, session_scope() as session:
                    outcome = knowledge.ingest(
                        session,
                        blobs=blobs,
                        stream=stream,
                        original_name=path.name,
                        source_name=CLI_SOURCE,
                        source_key=knowledge.cli_source_key(path),
                        channel="cli",
                        submitted_by=submitter.id,
                        access=grants,
                    )
            except (IngestRefused, OSError) as exc:
                error = (
                    exc
                    if isinstance(exc, IngestRefused)
                    else IngestRefused("unreadable", f"cannot read the file ({exc.strerror})")
                )
                with session_scope() as session:
                    knowledge.record_refusal(
                        session,
                        original_name=path.name,
                        channel="cli",
                        submitted_by=submitter.id,
                        error=error,
                    )
                typer.echo(f"refused {name}: {error.message}", err=True)
                refused += 1
                continue
            if outcome.status == "duplicate":
                typer.echo(f"unchanged {name}: already ingested as version {outcome.version_no}")
            else:
                version, chunks = outcome.version_no, outcome.chunks
                typer.echo(f'ingested {name}: "{outcome.title}" version {version}, {chunks} chunks')
        if refused:
            raise typer.Exit(1)
