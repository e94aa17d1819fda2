from __future__ import annotations

import logging

from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.jobs import service as jobs
from workers import names, outbox
from workers.base import PlinthTask, beat_lock
from workers.celery_app import app

logger = logging.getLogger(__name__)


@app.task(name=names.TASK_OUTBOX_RELAY, base=PlinthTask)
def outbox_relay() -> int:
    """Send outbox entries whose after-commit send did not happen (broker down, process killed), and
    forget entries sent long ago."""
    queue = get_settings().queue
    with beat_lock("outbox-relay") as acquired:
        if not acquired:
            return 0
        sent = outbox.send_entries(older_than_s=queue.outbox_grace_s)
        with session_scope() as session:
            jobs.purge_sent(session, older_than_s=queue.outbox_keep_sent_days * 86400)
    if sent:
        logger.warning("outbox relay sent %d task(s) the after-commit send had left", sent)
    return sent
