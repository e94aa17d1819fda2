"""Email tasks: process a stored inbound message, send answers and document receipts (with retries
for relay trouble), and re-queue stored messages whose processing task was lost."""

from __future__ import annotations

import logging
import uuid

from celery import Task

from app.core.db import session_scope
from app.domains.inbox import service as inbox
from integrations.email import processing, replier
from integrations.email.listener import enqueue_processing
from integrations.email.outbound import SendFailed
from workers import client, names
from workers.base import PlinthTask, beat_lock
from workers.celery_app import app

logger = logging.getLogger(__name__)

SEND_RETRIES = 6
STALE_AFTER_S = 120.0


@app.task(name=names.TASK_EMAIL_PROCESS, base=PlinthTask)
def process(*, inbound_id: str) -> None:
    inbound_uuid = uuid.UUID(inbound_id)
    with session_scope() as session:
        outcome = processing.process(session, inbound_id=inbound_uuid)
    # After the commit: a lost send leaves the question to the answer sweep.
    if outcome.answer_message_id is not None:
        client.enqueue_answer(message_id=outcome.answer_message_id)
    if outcome.receipt_due:
        client.send(names.TASK_EMAIL_RECEIPT, queue=names.QUEUE_ANSWERS, inbound_id=inbound_id)


def _retry_send(task: Task, exc: SendFailed) -> None:
    if exc.transient and task.request.retries < SEND_RETRIES:
        raise task.retry(exc=exc, countdown=min(300, 5 * 2**task.request.retries))
    logger.error("giving up sending %s: %s", task.name, exc.message)


@app.task(name=names.TASK_EMAIL_DELIVER, base=PlinthTask, bind=True)
def deliver(self: Task, *, message_id: str) -> None:
    try:
        replier.deliver_answer(message_id=uuid.UUID(message_id), final=self.request.retries >= SEND_RETRIES)
    except SendFailed as exc:
        _retry_send(self, exc)


@app.task(name=names.TASK_EMAIL_RECEIPT, base=PlinthTask, bind=True)
def receipt(self: Task, *, inbound_id: str) -> None:
    try:
        replier.send_receipt(inbound_id=uuid.UUID(inbound_id))
    except SendFailed as exc:
        _retry_send(self, exc)


@app.task(name=names.TASK_SWEEP_EMAIL, base=PlinthTask)
def sweep() -> int:
    with beat_lock("sweep-email") as acquired, session_scope() as session:
        if not acquired:
            return 0
        stale = inbox.stale_received(session, older_than_s=STALE_AFTER_S, limit=500)
    for inbound_id in stale:
        enqueue_processing(inbound_id)
    if stale:
        logger.warning("re-queued %d stored inbound messages", len(stale))
    return len(stale)
