"""Query parameters shared by the Conversations page and its JSON endpoint."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import Query

from app.core.errors import InvalidInput
from app.domains.conversations.browse import ConversationFilter, Outcome, Rating


def conversation_filter(
    *,
    q: str | None = Query(None, max_length=200, description="Words in the question or the answer."),
    channel: str | None = Query(None, max_length=50),
    outcome: Outcome | Literal[""] | None = None,
    asker: str | None = Query(None, max_length=200, description="Part of the asker's handle."),
    rating: Rating | Literal[""] | None = Query(
        None, description="Answers rated 👍 (up), 👎 (down), or not rated (none)."
    ),
    since: date | Literal[""] | None = None,
    until: date | Literal[""] | None = None,
) -> ConversationFilter:
    for name, value in (("q", q), ("channel", channel), ("asker", asker)):
        if value and "\x00" in value:
            raise InvalidInput(f"{name} contains a NUL character")
    # An empty form field means "any", not "the empty string".
    return ConversationFilter(
        q=q or None,
        channel=channel or None,
        outcome=outcome or None,
        asker=asker or None,
        rating=rating or None,
        since=since or None,
        until=until or None,
    )
