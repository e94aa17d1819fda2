"""Which PostgreSQL text search configuration a text should be indexed with: the language whose common
words it uses most (English or German here), else `simple`, which only lower-cases."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_STOPWORDS = {
    "english": frozenset(
        [
            "the",
            "of",
            "and",
            "to",
            "in",
            "is",
            "that",
            "for",
            "it",
            "as",
            "was",
            "with",
            "be",
            "by",
            "on",
            "not",
            "he",
            "this",
            "are",
            "or",
            "his",
            "from",
            "at",
            "which",
            "but",
            "have",
            "an",
            "they",
            "you",
            "were",
            "her",
            "all",
            "she",
            "there",
            "their",
            "one",
            "has",
            "been",
            "would",
            "will",
            "what",
            "when",
            "who",
            "can",
        ]
    ),
    "german": frozenset(
        [
            "der",
            "die",
            "und",
            "in",
            "den",
            "von",
            "zu",
            "das",
            "mit",
            "sich",
            "des",
            "auf",
            "für",
            "ist",
            "im",
            "dem",
            "nicht",
            "ein",
            "eine",
            "als",
            "auch",
            "es",
            "an",
            "werden",
            "aus",
            "er",
            "hat",
            "dass",
            "sie",
            "nach",
            "wird",
            "bei",
            "einer",
            "um",
            "am",
            "sind",
            "noch",
            "wie",
            "einem",
            "über",
            "einen",
            "so",
            "zum",
            "war",
        ]
    ),
}
_MIN_HITS = 3


def text_search_config(text: str, *, sample_chars: int = 20_000) -> str:
    words = Counter(w.lower() for w in _WORD.findall(text[:sample_chars]))
    hits = {lang: sum(words[w] for w in stop) for lang, stop in _STOPWORDS.items()}
    language, count = max(hits.items(), key=lambda item: item[1])
    return language if count >= _MIN_HITS else "simple"
