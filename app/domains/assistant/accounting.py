"""Store an answer with what it cost: usage and cost per answer, the fallback counted and audited."""

from __future__ import annotations

import dataclasses
import time

from sqlalchemy.orm import Session

from app.core import metrics
from app.domains.conversations import service as conversations
from app.domains.conversations.schemas import AnswerSummary
from app.domains.models import service as models
from app.domains.usage import service as usage
from audit import events
from audit import store as audit_store
from rag.generation import DraftAnswer
from rag.llm import Completion


def account(
    session: Session,
    *,
    message: conversations.Message,
    scope: usage.UsageScope,
    draft: DraftAnswer,
    cost: float,
    started: float,
    record: dict[str, object],
    warnings: list[str] | None = None,
) -> AnswerSummary:
    """Store the answer with its usage; `cost` is priced once by the caller, as its trace reports it."""
    if warnings:
        draft = dataclasses.replace(draft, text=draft.text + "\n\n" + "\n".join(warnings))
    completion = draft.completion
    if completion is not None:
        record = {**record, "endpoint": completion.endpoint, "llm_attempts": completion.attempts}
    processing_ms = (time.perf_counter() - started) * 1000
    stored = conversations.store_answer(
        session, message=message, draft=draft, processing_ms=processing_ms, settings={**record, "cost": cost}
    )
    usage.record(
        session,
        answer_id=stored.id,
        scope=scope,
        mode=draft.mode,
        model=completion.model if completion else None,
        endpoint=completion.endpoint if completion else None,
        prompt_tokens=completion.prompt_tokens if completion else 0,
        completion_tokens=completion.completion_tokens if completion else 0,
        llm_latency_ms=completion.latency_ms if completion else 0.0,
        total_latency_ms=processing_ms,
        cost=cost,
        cached="cached_from" in record,
    )
    if draft.fallback_kind is not None:
        metrics.LLM_FALLBACKS.labels(draft.fallback_kind).inc()
        if draft.fallback_kind == "unavailable":
            audit_event(
                session,
                message=message,
                event_type=events.OUTPUT_FALLBACK,
                subject=f"answer:{stored.id}",
                payload={"reason": draft.fallback_reason, "endpoints": record.get("endpoints")},
            )
    if warnings:
        audit_event(
            session,
            message=message,
            event_type=usage.BUDGET_WARNED,
            subject=f"answer:{stored.id}",
            payload={"warnings": warnings},
        )
    return AnswerSummary.model_validate(stored)


def answer_cost(session: Session, completion: Completion | None) -> float:
    if completion is None:
        return 0.0
    price = models.pricing(session, endpoint_name=completion.endpoint)
    return usage.cost(
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        price_in_per_1k=price.price_in_per_1k,
        price_out_per_1k=price.price_out_per_1k,
        gpu_hour_cost=price.gpu_hour_cost,
        throughput_tokens_per_s=price.throughput_tokens_per_s,
    )


def audit_event(
    session: Session,
    *,
    message: conversations.Message,
    event_type: str,
    subject: str,
    payload: dict[str, object],
) -> None:
    """A system event about answering `message`, in its correlation."""
    audit_store.append(
        session,
        event_type=event_type,
        actor=events.SYSTEM_ACTOR,
        channel=message.channel,
        subject=subject,
        correlation_id=message.correlation_id,
        payload=payload,
    )
