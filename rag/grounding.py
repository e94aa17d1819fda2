"""Check a generated answer against the passages it was given, before anyone sees it.

An answer is grounded when it points at passages — explicitly with [n], or, for models that do not
cite, through the passage whose words it reuses most — and enough of its content words occur in
those passages. Otherwise it is treated as invented."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_CITATION = re.compile(r"\[(\d{1,2})\]")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Words that carry no claim: their presence says nothing about support.
_STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is
    it its may me might must my no not of on or our shall should so than that the their them then there
    these they this those to was we were what when where which who why will with would you your yes
    according answer based question sources source document documents""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Grounding:
    cited: list[int]  # 1-based passage numbers the answer rests on
    support: float  # share of the answer's content words found in those passages
    inferred: bool  # True when the model cited nothing and the passage was attributed


def content_words(text: str) -> set[str]:
    return {
        w
        for w in (m.lower() for m in _WORD.findall(_CITATION.sub(" ", text)))
        if len(w) > 1 and w not in _STOPWORDS
    }


def explicit_citations(text: str, passage_count: int) -> list[int]:
    return sorted({n for n in (int(m) for m in _CITATION.findall(text)) if 1 <= n <= passage_count})


def check(answer: str, passages: Sequence[str]) -> Grounding:
    words = content_words(answer)
    passage_words = [content_words(p) for p in passages]
    cited = explicit_citations(answer, len(passages))
    inferred = False
    if not cited and words:
        best = max(range(len(passages)), key=lambda i: len(words & passage_words[i]), default=None)
        if best is not None and words & passage_words[best]:
            cited, inferred = [best + 1], True
    if not cited or not words:
        return Grounding(cited=cited, support=0.0, inferred=inferred)
    covered = set().union(*(passage_words[n - 1] for n in cited))
    return Grounding(cited=cited, support=len(words & covered) / len(words), inferred=inferred)
