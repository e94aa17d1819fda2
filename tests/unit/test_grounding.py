from __future__ import annotations

from rag.grounding import check, content_words

SOURCES = [
    "Annual leave accrues at 4 hours per pay period for employees with fewer than 3 years of service.",
    "Travel must be booked through Concur at least two weeks before departure.",
]


def test_content_words_ignore_markers_case_and_filler() -> None:
    assert content_words("The answer is: Travel [2] must be BOOKED.") == {"travel", "booked"}


def test_explicit_citations_are_checked_for_support() -> None:
    grounded = check("Book travel through Concur two weeks before departure [2].", SOURCES)
    assert grounded.cited == [2]
    assert not grounded.inferred
    assert grounded.support > 0.8
    wrong_source = check("Book travel through Concur two weeks before departure [1].", SOURCES)
    assert wrong_source.support < 0.3


def test_uncited_answer_is_attributed_to_the_passage_it_reuses() -> None:
    result = check(
        "The answer to your question is: 4 hours per pay period for employees with fewer than 3 years"
        " of service.",
        SOURCES,
    )
    assert result.cited == [1]
    assert result.inferred
    assert result.support >= 0.6


def test_out_of_range_markers_do_not_count_as_citations() -> None:
    result = check("Penguins are birds [9].", SOURCES)
    assert result.cited == []
    assert result.support == 0.0
