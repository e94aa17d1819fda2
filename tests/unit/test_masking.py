from __future__ import annotations

import pytest

from app.core.masking import CARD, EMAIL, PHONE, TOKEN, mask, mask_text


@pytest.mark.parametrize(
    ("text", "hidden", "placeholder"),
    [
        ("mail jane.doe+hr@example.co.uk today", "jane.doe+hr@example.co.uk", EMAIL),
        ("call +1 (415) 555-0132 now", "555-0132", PHONE),
        ("call 030 1234 5678", "1234 5678", PHONE),
        ("my card 4111 1111 1111 1111 expires", "4111 1111 1111 1111", CARD),
        ("card 5500-0000-0000-0004", "5500-0000-0000-0004", CARD),
        ("slack xoxb-1234567890-abcdefghijkl", "xoxb-1234567890", TOKEN),
        ("key sk-lf-0123456789abcdef0123", "sk-lf-0123456789abcdef0123", TOKEN),
        ("aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", TOKEN),
        ("Authorization: Bearer abcdef0123456789xyz", "abcdef0123456789xyz", TOKEN),
        ("password=hunter2hunter2", "hunter2hunter2", TOKEN),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "eyJhbGci", TOKEN),
    ],
)
def test_masks(text: str, hidden: str, placeholder: str) -> None:
    masked = mask_text(text)
    assert hidden not in masked
    assert placeholder in masked


@pytest.mark.parametrize(
    "text",
    [
        "Employees earn 4 hours of annual leave per pay period.",
        "The policy changed on 2026-12-01 at 14:30.",
        "Order 12345 shipped; 3 items, total 199.99",
        "4111 1111 1111 1112 fails the Luhn check",  # not a card number
        "Section 4.2.1 of the handbook",
    ],
)
def test_leaves_ordinary_text_alone(text: str) -> None:
    assert mask_text(text) == text


def test_masks_nested_structures_and_keeps_other_types() -> None:
    data = {"input": ["a@b.io", {"n": 3, "s": "xoxp-1234567890-zzzzzzzzzz"}], "ok": True}
    assert mask(data=data) == {"input": [EMAIL, {"n": 3, "s": TOKEN}], "ok": True}
