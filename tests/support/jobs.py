"""Failed tasks for tests, recorded through the same service the workers use."""

from __future__ import annotations

import itertools
import uuid

from app.core.db import session_scope
from app.domains.jobs import service as jobs

_counter = itertools.count()


def failed_task(task_name: str = "plinth.answer", **kwargs: object) -> uuid.UUID:
    with session_scope() as session:
        row = jobs.record_failure(
            session,
            task_name=task_name,
            queue="answers",
            kwargs=kwargs or {"message_id": f"not-a-uuid-{next(_counter)}-{uuid.uuid4()}"},
            task_id=str(uuid.uuid4()),
            error="ValueError: badly formed hexadecimal UUID string",
            traceback="Traceback (most recent call last):\n  ...\nValueError: badly formed UUID string",
            attempts=1,
            transient=False,
        )
        return row.id
