"""Verify the whole chain from the console: in a background thread, one run at a time per process, and
the request waits a bounded time (PLINTH_CONSOLE_VERIFY_WAIT_S). A run that outlasts the wait keeps going
and records its outcome as an `audit.verified` event like every run; the page says so."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from app.console.access import Access
from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.principals import service as principals
from audit import events
from audit import store as audit_store
from audit.signing import default_signer
from audit.verify import verify_published
from audit.wormstore import default_store

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-verify")
_lock = threading.Lock()
_running: Future[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Verification:
    finished: bool
    result: dict[str, Any] | None  # as recorded in the audit.verified event; None while running
    joined: bool  # another caller's run was already under way


def _run(principal_id: uuid.UUID | None) -> dict[str, Any]:
    with session_scope() as session:
        result = verify_published(
            session, store=default_store(), public_key_pem=default_signer().public_key_pem()
        )
    with session_scope() as session:
        audit_store.append(
            session,
            event_type=events.AUDIT_VERIFIED,
            actor=principals.actor(principal_id),
            channel="console",
            payload=result,
        )
    return result


def verify(access: Access) -> Verification:
    global _running  # noqa: PLW0603 - the one run in progress in this process
    with _lock:
        joined = _running is not None and not _running.done()
        if not joined:
            _running = _executor.submit(_run, access.caller.principal_id)
        running = _running
    assert running is not None
    try:
        result = running.result(timeout=get_settings().console.verify_wait_s)
    except FutureTimeout:
        return Verification(finished=False, result=None, joined=joined)
    return Verification(finished=True, result=result, joined=joined)
