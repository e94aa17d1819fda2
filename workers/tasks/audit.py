from __future__ import annotations

import logging

from audit import maintenance
from audit.signing import default_signer
from audit.wormstore import default_store
from workers import names
from workers.base import PlinthTask
from workers.celery_app import app

logger = logging.getLogger(__name__)


@app.task(name=names.TASK_AUDIT_MAINTENANCE, base=PlinthTask)
def audit_maintenance() -> int | None:
    """Seal stragglers and checkpoint when due; a run already in progress elsewhere holds the lock and
    this one does nothing. Returns the size of a new checkpoint, if one was made."""
    run = maintenance.run(signer=default_signer(), store=default_store())
    if not run.ran:
        logger.info("audit maintenance already running elsewhere; skipped")
        return None
    if run.sealed:
        logger.warning("sealed %d audit events left in the intake", run.sealed)
    return run.checkpoint.tree_size if run.checkpoint else None
