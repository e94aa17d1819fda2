"""Checks of free text people send, with messages that say exactly what is wrong."""

from __future__ import annotations

from app.core.errors import InvalidInput


def bounded_text(text: str, *, what: str, limit: int) -> str:
    """`text` stripped; refused when empty or longer than `limit` characters."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(f"the {what} is empty")
    if len(cleaned) > limit:
        raise InvalidInput(f"the {what} is {len(cleaned)} characters long; the limit is {limit}")
    return cleaned
