"""Langfuse tracing: one trace per question (spans receive, retrieve, generate, deliver), the thread as
the Langfuse session, a pseudonymous principal id as the user, feedback and corrections as scores.

Everything is masked (app.core.masking) before the SDK sees it. The SDK exports over OTLP/HTTP and posts
scores from background threads, so a slow or absent Langfuse never delays an answer; every call here
also swallows its own errors. The trace id derives from the message id, so later events (delivery,
feedback, corrections) reach the same trace from any process without storing it."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core import masking
from app.core.settings import get_settings, settings_scoped

log = logging.getLogger(__name__)
_MAX_ID = 200  # Langfuse's limit for user and session ids (US-ASCII)


class Observation:
    """A span (or generation) in progress; `update` adds attributes, masked."""

    def __init__(self, inner: Any = None) -> None:
        self._inner = inner

    def update(self, **attributes: Any) -> None:
        if self._inner is None:
            return
        try:
            self._inner.update(**attributes)
        except Exception:
            log.warning("tracing: could not update a span", exc_info=True)


class Tracer:
    """Langfuse when configured; otherwise every method does nothing."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def enabled(self) -> bool:
        return self._client is not None

    def trace_id(self, message_id: uuid.UUID) -> str:
        from langfuse import Langfuse

        return str(Langfuse.create_trace_id(seed=str(message_id)))

    @contextlib.contextmanager
    def question(
        self, *, message_id: uuid.UUID, session_id: str, user_id: str, question: str, metadata: dict[str, Any]
    ) -> Iterator[Observation]:
        """The root span of a question's trace; spans opened inside it nest under it."""
        if self._client is None:
            yield Observation()
            return
        with contextlib.ExitStack() as stack:
            try:
                from langfuse import propagate_attributes

                stack.enter_context(
                    propagate_attributes(
                        user_id=user_id, session_id=_ascii_id(session_id), trace_name="question"
                    )
                )
                root = stack.enter_context(
                    self._client.start_as_current_observation(
                        name="question",
                        as_type="span",
                        trace_context={"trace_id": self.trace_id(message_id)},
                        input=question,
                        metadata=metadata,
                    )
                )
            except Exception:
                log.warning("tracing: could not start a trace", exc_info=True)
                root = None
            yield Observation(root)

    @contextlib.contextmanager
    def span(self, name: str, *, as_type: str = "span", **attributes: Any) -> Iterator[Observation]:
        """A child of the current span (a `generation` for model calls)."""
        if self._client is None:
            yield Observation()
            return
        try:
            manager = self._client.start_as_current_observation(name=name, as_type=as_type, **attributes)
            inner = manager.__enter__()
        except Exception:
            log.warning("tracing: could not start span %s", name, exc_info=True)
            yield Observation()
            return
        try:
            yield Observation(inner)
        finally:
            with contextlib.suppress(Exception):
                manager.__exit__(None, None, None)

    def event_span(self, *, message_id: uuid.UUID, name: str, metadata: dict[str, Any]) -> None:
        """A finished span attached to a question's trace later (e.g. delivery, in another process)."""
        if self._client is None:
            return
        try:
            span = self._client.start_observation(
                name=name, trace_context={"trace_id": self.trace_id(message_id)}, metadata=metadata
            )
            span.end()
        except Exception:
            log.warning("tracing: could not record span %s", name, exc_info=True)

    def score(
        self,
        *,
        message_id: uuid.UUID,
        name: str,
        value: float | str,
        data_type: str = "NUMERIC",
        comment: str | None = None,
    ) -> None:
        if self._client is None:
            return
        try:
            self._client.create_score(
                name=name,
                value=value,
                trace_id=self.trace_id(message_id),
                data_type=data_type,
                comment=masking.mask_text(comment) if comment else None,
            )
        except Exception:
            log.warning("tracing: could not record score %s", name, exc_info=True)

    def flush(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.flush()


def _ascii_id(value: str) -> str:
    masked = masking.mask_text(value)
    if masked.isascii() and len(masked) <= _MAX_ID:
        return masked
    return hashlib.sha256(value.encode()).hexdigest()


@settings_scoped
def get_tracer() -> Tracer:
    settings = get_settings().tracing
    if not settings.enabled or settings.langfuse_secret_key is None:
        return Tracer()
    from langfuse import Langfuse

    client = Langfuse(
        public_key=settings.langfuse_public_key,
        secret_key=settings.langfuse_secret_key.get_secret_value(),
        base_url=settings.langfuse_host,
        environment=settings.environment,
        timeout=max(1, int(settings.flush_timeout_s)),
        mask=masking.mask,
    )
    return Tracer(client)


def pseudonym(principal_id: uuid.UUID) -> str:
    """A stable id for a person that Langfuse can group by but that says nothing about who it is."""
    return hmac.new(_salt(), str(principal_id).encode(), hashlib.sha256).hexdigest()[:32]


@functools.cache
def _salt() -> bytes:
    settings = get_settings()
    if settings.tracing.pseudonym_salt is not None:
        return settings.tracing.pseudonym_salt.get_secret_value().encode()
    path = settings.keys_dir / "trace-pseudonym-salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed (never for a rolled-back one), so
    scores and spans describe only what happened."""

    def run(_: Session) -> None:
        try:
            action()
        except Exception:
            log.warning("tracing: after-commit action failed", exc_info=True)

    event.listen(session, "after_commit", run, once=True)
