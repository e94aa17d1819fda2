"""Masking of secrets and personal data before anything leaves the process (traces, exports to
observability tools). Applied recursively to strings inside dicts, lists and tuples."""

from __future__ import annotations

import re
from typing import Any

EMAIL = "[email]"
PHONE = "[phone]"
TOKEN = "[secret]"  # noqa: S105 - a placeholder, not a secret
CARD = "[card]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SECRETS = [
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\bxapp-\d-[A-Za-z0-9-]{10,}"),  # Slack app-level tokens
    re.compile(
        r"\b(?:sk|pk|rk)-(?:[A-Za-z0-9_-]{2,}-)?[A-Za-z0-9_-]{16,}"
    ),  # OpenAI/Langfuse/Stripe style keys
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key ids
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),  # GitHub tokens
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWTs
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{12,}"),
    re.compile(r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|token)\s*[:=]\s*\S+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
]
# 13 to 19 digits, optionally grouped by spaces or dashes; masked only when the Luhn check passes.
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
# International or national phone numbers: +, groups of digits with separators, at least 8 digits.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)?\d{1,3}?[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?!\w)"
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    # E.164 numbers have at most 15 digits; dates (2026-12-01) and short numbers are not phones.
    if not 8 <= len(digits) <= 15 or re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        return text
    return PHONE


def mask_text(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(TOKEN, text)
    text = _EMAIL.sub(EMAIL, text)
    text = _CARD.sub(_card, text)
    return _PHONE.sub(_phone, text)


def mask(data: Any, **_: Any) -> Any:
    """Masked copy of `data` (the signature Langfuse's `mask` hook calls: `mask(data=...)`)."""
    if isinstance(data, str):
        return mask_text(data)
    if isinstance(data, dict):
        return {k: mask(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(mask(v) for v in data)
    return data
