"""Files shared with the bot in a direct message become documents the sharer may read: each is
downloaded with the workspace's bot token (the client's), ingested (stored first, then checked, parsed,
chunked), and the sharer is told what happened — added, unchanged, or refused with the reason."""

from __future__ import annotations

import io
from typing import Any

import httpx
from slack_sdk import WebClient

from app.core.blobs import FileBlobStore
from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from integrations.slack import blocks, identity
from rag.errors import IngestRefused

SOURCE = "slack"
FILE_FIELDS = ("id", "name", "title", "size", "url_private_download", "url_private")


def shared_files(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields of each shared file the ingestion needs (the rest of the event is not queued)."""
    return [{k: f.get(k) for k in FILE_FIELDS} for f in event.get("files") or []]


def _download(file: dict[str, Any], token: str) -> bytes:
    url = file.get("url_private_download") or file.get("url_private")
    if not url:
        raise IngestRefused("unreadable", "Slack gave no download link for it")
    limit = get_settings().limits.max_file_bytes
    with httpx.stream(
        "GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=get_settings().slack.timeout_s
    ) as response:
        if response.status_code != 200:
            raise IngestRefused("unreadable", f"Slack answered {response.status_code} to the download")
        data = bytearray()
        for chunk in response.iter_bytes():
            data.extend(chunk)
            if len(data) > limit:
                raise IngestRefused("too_large", f"it is over the limit of {limit} bytes")
    return bytes(data)


def ingest_shared(
    client: WebClient, *, team_id: str, user_id: str, channel_id: str, files: list[dict[str, Any]]
) -> list[str]:
    """Ingest each file and tell the sharer the outcome; returns the lines posted."""
    with session_scope() as session:
        sharer = identity.principal_id(session, client, team_id=team_id, user_id=user_id)
    lines = []
    for file in files:
        name = str(file.get("name") or file.get("title") or file.get("id"))
        try:
            data = _download(file, client.token or "")
            with session_scope() as session:
                outcome = knowledge.ingest(
                    session,
                    blobs=FileBlobStore(get_settings().blobs_dir),
                    stream=io.BytesIO(data),
                    original_name=name,
                    source_name=SOURCE,
                    source_key=f"slack:{team_id}:{file.get('id')}",
                    channel=SOURCE,
                    submitted_by=sharer,
                    access=[principals.user_grant(sharer)],
                )
        except (IngestRefused, httpx.HTTPError) as exc:
            error = (
                exc
                if isinstance(exc, IngestRefused)
                else IngestRefused("unreadable", f"the download failed ({exc})")
            )
            with session_scope() as session:
                knowledge.record_refusal(
                    session, original_name=name, channel=SOURCE, submitted_by=sharer, error=error
                )
            lines.append(
                f":x: Could not add *{blocks.safe_mrkdwn(name)}*: {blocks.safe_mrkdwn(error.message)}"
            )
            continue
        if outcome.status == "duplicate":
            lines.append(f":information_source: *{blocks.safe_mrkdwn(name)}* is already in, unchanged.")
        else:
            title = blocks.safe_mrkdwn(outcome.title)
            lines.append(
                f":white_check_mark: Added *{title}* ({outcome.chunks} passages), for your questions only."
            )
    if lines:
        client.chat_postMessage(channel=channel_id, text="\n".join(lines), mrkdwn=True)
    return lines
