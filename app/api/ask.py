"""POST /api/v1/ask: record a question, queue it for a worker, and (by default) wait for the answer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.api.auth import require_api_token
from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.conversations import service as conversations
from app.domains.conversations.schemas import AnswerOut
from app.intake import submit_question

router = APIRouter(prefix="/api/v1", tags=["ask"], dependencies=[Depends(require_api_token)])


class AskIn(BaseModel):
    question: str = Field(description="The question, in any language.")
    user: str = Field(default="api", description="Handle of the person asking; their access applies.")
    groups: list[str] | None = Field(default=None, description="Groups to add to a new or known user.")
    wait: bool = Field(default=True, description="Wait for the answer instead of returning 202.")
    timeout_s: float | None = Field(default=None, gt=0, le=600)


class Accepted(BaseModel):
    message_id: uuid.UUID
    status: str = "queued"


@router.post("/ask", response_model=AnswerOut | Accepted)
async def ask(body: AskIn, response: Response) -> AnswerOut | Accepted:
    message_id = await run_in_threadpool(
        submit_question, question=body.question, user=body.user, groups=body.groups, channel="api"
    )
    if not body.wait:
        response.status_code = 202
        return Accepted(message_id=message_id)
    return await run_in_threadpool(
        conversations.wait_for_answer,
        message_id=message_id,
        timeout_s=body.timeout_s or get_settings().limits.answer_wait_s,
    )


@router.get("/messages/{message_id}/answer", response_model=AnswerOut | Accepted)
async def get_answer(message_id: uuid.UUID, response: Response) -> AnswerOut | Accepted:
    def load() -> AnswerOut | None:
        with session_scope() as session:
            return conversations.answer_view(session, message_id=message_id)

    answer = await run_in_threadpool(load)
    if answer is None:
        response.status_code = 202
        return Accepted(message_id=message_id)
    return answer
