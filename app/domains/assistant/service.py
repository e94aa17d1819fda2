"""Answer a recorded question: budget check, answer cache, corrections, retrieval of what the asker may
read, a cited answer from the model (streamed to `on_progress`) or an extractive fallback, then the
answer, its usage and cost, stored and audited; the whole path traced in Langfuse."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.core import metrics, tracing
from app.core.settings import get_settings
from app.domains.assistant import cache
from app.domains.assistant.accounting import account, answer_cost, audit_event
from app.domains.channels import service as channels
from app.domains.conversations import service as conversations
from app.domains.conversations.schemas import AnswerSummary
from app.domains.corrections import service as corrections
from app.domains.knowledge import service as knowledge
from app.domains.models import service as models
from app.domains.principals import service as principals
from app.domains.usage import service as usage
from rag import passages as passage_lookup
from rag.embedding_cache import get_cached_embedder
from rag.generation import DraftAnswer, compose_answer, curated_answer, refused_answer
from rag.llm import Endpoint, LlmClient
from rag.prompts import PromptTemplate

ProgressCallback = Callable[[str], None]
EARLIER_ANSWER_CHARS = 400  # of each earlier answer given to the model as context


@dataclass(frozen=True)
class _Thread:
    """A follow-up in a thread (Slack or email) is read with the turns before it."""

    search_text: str  # the previous question and this one: what retrieval looks for
    prompt_question: str  # this question, with the conversation so far as context for the model


def answer_message(
    session: Session, *, message_id: uuid.UUID, on_progress: ProgressCallback | None = None
) -> AnswerSummary:
    """Idempotent: a message that already has an answer gets that answer back, not a second one.
    `on_progress` gets the text generated so far while the model streams (at most every
    `llm.progress_interval_s`)."""
    message = conversations.get_message(session, message_id=message_id)
    existing = conversations.find_answer(session, message_id=message_id)
    if existing is not None:
        return AnswerSummary.model_validate(existing)
    tracer = tracing.get_tracer()
    with tracer.question(
        message_id=message.id,
        session_id=str(message.conversation_id),
        user_id=tracing.pseudonym(message.principal_id),
        question=message.text,
        metadata={"channel": message.channel, "correlation_id": message.correlation_id},
    ) as root:
        summary = _answer(session, message=message, on_progress=on_progress, tracer=tracer)
        root.update(
            metadata={"answer_id": str(summary.id), "mode": summary.mode, "answered": summary.answered}
        )
    return summary


def _answer(
    session: Session,
    *,
    message: conversations.Message,
    on_progress: ProgressCallback | None,
    tracer: tracing.Tracer,
) -> AnswerSummary:
    started = time.perf_counter()
    settings = get_settings()
    with tracer.span("receive", metadata={"channel": message.channel, "audience": message.audience}):
        asker = principals.get(session, principal_id=message.principal_id)
        scope = usage.scope_of(principal_id=asker.id, channel=message.channel, audience=message.audience)
        budget = usage.check(session, scope=scope)
    if budget.refusal is not None:
        metrics.BUDGET_REFUSALS.inc()
        audit_event(
            session,
            message=message,
            event_type=usage.BUDGET_REFUSED,
            subject=f"message:{message.id}",
            payload={"reason": budget.refusal, "resets_at": str(budget.resets_at)},
        )
        draft = refused_answer(budget.refusal)
        return account(
            session, message=message, scope=scope, draft=draft, cost=0.0, started=started, record={}
        )
    readers = _read_scope(session, message=message)
    endpoints = models.endpoints(session)
    template = models.active_prompt(session)
    retrieval_settings = {
        **knowledge.retrieval_settings(),
        "min_similarity": settings.retrieval.min_similarity,
        "min_support": settings.llm.min_support,
    }
    thread = _thread_context(session, message=message)
    key = cache.key_for(
        question=thread.prompt_question,
        scope=[*readers.grant_sets, ["shared", *readers.shared_grants]],
        corpus_version=knowledge.corpus_version(session),
        endpoints=endpoints,
        prompt_version=template.version,
        retrieval=retrieval_settings,
    )
    record: dict[str, object] = {
        **retrieval_settings,
        "endpoints": [e.name for e in endpoints],
        "prompt_version": template.version,
        "corpus_version": key.corpus_version,
        "correction_id": None,
    }
    hit = cache.lookup(session, key=key) if settings.cache.enabled else None
    metrics.ANSWER_CACHE.labels("hit" if hit else "miss").inc()
    if hit is not None:
        draft, first_answer = hit
        record["cached_from"] = str(first_answer)
        cost = answer_cost(session, draft.completion)
    else:
        draft, cost = _compose(
            session,
            message=message,
            thread=thread,
            readers=readers,
            endpoints=endpoints,
            template=template,
            record=record,
            on_progress=on_progress,
            tracer=tracer,
        )
    summary = account(
        session,
        message=message,
        scope=scope,
        draft=draft,
        cost=cost,
        started=started,
        record=record,
        warnings=budget.warnings,
    )
    if hit is None and settings.cache.enabled and cache.cacheable(draft):
        cache.store(session, key=key, draft=draft, answer_id=summary.id)
    return summary


def _compose(
    session: Session,
    *,
    message: conversations.Message,
    thread: _Thread,
    readers: knowledge.ReadScope,
    endpoints: Sequence[Endpoint],
    template: PromptTemplate,
    record: dict[str, object],
    on_progress: ProgressCallback | None,
    tracer: tracing.Tracer,
) -> tuple[DraftAnswer, float]:
    """The answer and what its model call cost."""
    settings = get_settings()
    with tracer.span("retrieve", input=message.text) as span:
        embedder = get_cached_embedder()
        query = embedder.embed([message.text])[0]
        conversations.remember_query_embedding(session, message=message, embedding=query.tolist())
        curated = corrections.match(
            session,
            question=message.text,
            query_embedding=query.tolist(),
            grant_sets=readers.grant_sets,
            shared_grants=readers.shared_grants,
        )
        if curated is not None:
            sources = passage_lookup.by_chunk_ids(
                session, chunk_ids=curated.cited_chunk_ids, score=curated.similarity
            )
            record["correction_id"] = str(curated.correction_id)
            span.update(metadata={"correction_id": str(curated.correction_id)})
            return curated_answer(curated.text, sources), 0.0  # a reviewed answer: no model call
        search_query = (
            query if thread.search_text == message.text else embedder.embed([thread.search_text])[0]
        )
        passages = knowledge.search(
            session,
            question=thread.search_text,
            query_embedding=search_query,
            scope=readers,
            k=settings.retrieval.top_k,
        )
        span.update(
            output=[{"chunk_id": p.chunk_id, "title": p.title, "score": round(p.score, 4)} for p in passages]
        )
    client = LlmClient(endpoints, settings.llm) if endpoints else None
    with tracer.span("generate", as_type="generation", version=template.version) as generation:
        draft = compose_answer(
            thread.prompt_question,
            passages,
            llm=client,
            min_similarity=settings.retrieval.min_similarity,
            min_support=settings.llm.min_support,
            template=template,
            budget_tokens=client.prompt_budget() if client else None,
            on_progress=on_progress,
            progress_interval_s=settings.llm.progress_interval_s,
        )
        completion = draft.completion
        cost = answer_cost(session, completion)
        generation.update(
            output=draft.text,
            model=completion.model if completion else None,
            usage_details=(
                {"input": completion.prompt_tokens, "output": completion.completion_tokens}
                if completion
                else None
            ),
            cost_details={"total": cost} if completion else None,
            metadata={
                "mode": draft.mode,
                "fallback_reason": draft.fallback_reason,
                "endpoint": completion.endpoint if completion else None,
                "latency_ms": round(completion.latency_ms, 1) if completion else None,
                "prompt_version": template.version,
            },
        )
    return draft, cost


def _thread_context(session: Session, *, message: conversations.Message) -> _Thread:
    turns = conversations.earlier_turns(session, message=message, limit=get_settings().llm.history_turns)
    if not turns:
        return _Thread(search_text=message.text, prompt_question=message.text)
    earlier = "\n".join(
        f"- asked: {question}" + (f"\n  answered: {answer[:EARLIER_ANSWER_CHARS]}" if answer else "")
        for question, answer in turns
    )
    return _Thread(
        search_text=f"{turns[-1][0]} {message.text}",
        prompt_question=f"{message.text}\n\n(Earlier in this conversation:\n{earlier})",
    )


def _read_scope(session: Session, *, message: conversations.Message) -> knowledge.ReadScope:
    """Who will read the answer: the asker alone, or everyone in the channel it is posted to (the asker
    included even before the member list is synced) — unless the channel has a configured scope."""
    if message.audience is None:
        return knowledge.read_scope(session, principal_ids=[message.principal_id])
    configured = channels.audience_grants(session, audience=message.audience)
    if configured:
        return knowledge.read_scope(session, principal_ids=[], shared_grants=configured)
    members = channels.audience_members(session, audience=message.audience)
    return knowledge.read_scope(session, principal_ids=[message.principal_id, *members])


def llm_endpoints(session: Session) -> list[Endpoint]:
    """The model endpoints answers would use: the registry's, else the settings'."""
    return models.endpoints(session)


def llm_healthy(endpoints: Sequence[Endpoint]) -> bool:
    """Whether any of the endpoints answers /health (called outside any transaction: it waits on HTTP)."""
    return bool(endpoints) and LlmClient(list(endpoints), get_settings().llm).healthy()
