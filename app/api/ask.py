"""POST /api/v1/ask: record a question, queue it for a worker, and (by default) wait for the answer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.api.auth import Caller, current_caller
from app.core.db import session_scope
from app.core.errors import PermissionDenied
from app.core.settings import get_settings
from app.domains.conversations import service as conversations
from app.domains.conversations.schemas import AnswerOut
from app.intake import submit_question
from workers import client

router = APIRouter(prefix="/api/v1", tags=["ask"])


class AskIn(BaseModel):
    question: str = Field(description="The question, in any language.")
    user: str | None = Field(
        default=None,
        description="Service token only: handle of the person asking (default `api`); their access applies.",
    )
    groups: list[str] | None = Field(default=None, description="Service token only: groups of that user.")
    wait: bool = Field(default=True, description="Wait for the answer instead of returning 202.")
    timeout_s: float | None = Field(default=None, gt=0, le=600)


class Accepted(BaseModel):
    message_id: uuid.UUID
    status: str = "queued"
    notice: str | None = Field(
        default=None, description="Set when answers are backed up: it will take a while."
    )


class AskAnswer(AnswerOut):
    notice: str | None = Field(default=None, description="Set when answers were backed up as it was asked.")


@router.post("/ask", response_model=AskAnswer | Accepted)
async def ask(
    body: AskIn, response: Response, caller: Caller = Depends(current_caller)
) -> AskAnswer | Accepted:
    if caller.is_service:
        user, groups = body.user or "api", body.groups
    elif body.user not in (None, caller.handle) or body.groups:
        raise PermissionDenied(
            "a personal token asks as its own user; only the service token may set user or groups"
        )
    else:
        user, groups = caller.handle, None
    # Past the configured backlog the question is still taken and answered; the asker is told to wait.
    notice = get_settings().queue.busy_notice if await run_in_threadpool(client.is_busy) else None
    message_id = await run_in_threadpool(
        submit_question, question=body.question, user=user, groups=groups, channel="api"
    )
    if not body.wait:
        response.status_code = 202
        return Accepted(message_id=message_id, notice=notice)
    answer = await run_in_threadpool(
        conversations.wait_for_answer,
        message_id=message_id,
        timeout_s=body.timeout_s or get_settings().limits.answer_wait_s,
    )
    return AskAnswer(**answer.model_dump(), notice=notice)


@router.get("/messages/{message_id}/answer", response_model=AnswerOut | Accepted)
async def get_answer(
    message_id: uuid.UUID, response: Response, caller: Caller = Depends(current_caller)
) -> AnswerOut | Accepted:
    def load() -> AnswerOut | None:
        with session_scope() as session:
            # A personal token sees only its own questions; another's is reported as not found.
            asker = None if caller.is_service else caller.principal_id
            return conversations.answer_view(session, message_id=message_id, asked_by=asker)

    answer = await run_in_threadpool(load)
    if answer is None:
        response.status_code = 202
        return Accepted(message_id=message_id)
    return answer
