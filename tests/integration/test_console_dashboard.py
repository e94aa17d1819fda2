"""Dashboard figures and the conversation list, computed in SQL from known messages, answers and ratings."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.core.db import session_scope, utcnow
from app.domains.conversations import analytics, browse
from app.domains.conversations import service as conversations
from app.domains.conversations.models import Answer, Message
from app.domains.usage import service as usage
from tests.support import console as data


def test_figures_per_day_rates_latency_askers_and_unanswered(database_url: str) -> None:
    ada = data.person("ada@example.com", ["viewer"])
    bob = data.person("bob@example.com", [])
    answered = [data.question(ada.id, f"Answered {i}?") for i in range(3)]
    data.question(bob.id, "Fallback?", outcome="fallback", channel="slack")
    for _ in range(2):
        data.question(bob.id, "Where is  the gym?", outcome="dont_know", channel="slack")
    data.question(ada.id, "where is the gym", outcome="dont_know")
    data.question(ada.id, "Still waiting?", outcome="pending")
    data.rate(answered[0], ada.id, 1)
    data.rate(answered[0], bob.id, 1)
    data.rate(answered[1], bob.id, -1)
    with session_scope() as session:
        # Latencies of 1 s, 2 s and 3 s for the answered ones: p50 is 2 s.
        for seconds, message_id in enumerate(answered, start=1):
            received = session.get(Message, message_id).received_at  # type: ignore[union-attr]
            session.execute(
                update(Answer)
                .where(Answer.message_id == message_id)
                .values(created_at=received + timedelta(seconds=seconds))
            )
        # One question from ten days ago: outside a 7-day window, inside 30.
        old = data.question(ada.id, "Old question?")
        session.execute(
            update(Message).where(Message.id == old).values(received_at=utcnow() - timedelta(days=10))
        )

    with session_scope() as session:
        week = analytics.dashboard(session, days=7)
        month = analytics.dashboard(session, days=30)

    assert len(week.days) == 7
    today = week.days[-1]
    assert (today.questions, today.answered, today.fallback, today.dont_know) == (8, 3, 1, 3)
    assert (today.thumbs_up, today.thumbs_down) == (2, 1)
    assert week.totals.questions == 8
    assert week.totals.answered_rate == round(3 / 7, 4)
    assert week.totals.dont_know_rate == round(3 / 7, 4)
    assert week.totals.thumbs_up_rate == round(2 / 3, 4)
    assert week.totals.p50_ms is not None
    assert month.totals.questions == 9
    askers = {(w.channel, w.askers) for w in week.weekly_askers}
    assert askers == {("api", 1), ("slack", 1)}
    [top] = week.top_unanswered
    assert top.times == 3  # case and spacing do not make a different question


def test_conversations_filter_and_paginate(database_url: str) -> None:
    ada = data.person("ada@example.com", [])
    bob = data.person("bob@example.com", [])
    for i in range(30):
        data.question(ada.id, f"Leave question {i}?")
    gym = data.question(bob.id, "Is there a gym?", outcome="dont_know", channel="slack")
    data.rate(gym, ada.id, -1)
    with session_scope() as session:
        first = browse.list_conversations(session, filters=browse.ConversationFilter(), per_page=25)
        second = browse.list_conversations(session, filters=browse.ConversationFilter(), page=2, per_page=25)
        by_outcome = browse.list_conversations(
            session, filters=browse.ConversationFilter(outcome="dont_know")
        )
        by_text = browse.list_conversations(session, filters=browse.ConversationFilter(q="question 1"))
        by_rating = browse.list_conversations(session, filters=browse.ConversationFilter(rating="down"))
        by_asker = browse.list_conversations(
            session, filters=browse.ConversationFilter(asker="bob", channel="slack")
        )
        own = browse.list_conversations(session, filters=browse.ConversationFilter(), asked_by=bob.id)
        wildcard = browse.list_conversations(session, filters=browse.ConversationFilter(q="%"))
    assert (first.total, len(first.rows), len(second.rows)) == (31, 25, 6)
    assert {r.message_id for r in first.rows}.isdisjoint({r.message_id for r in second.rows})
    assert [r.message_id for r in by_outcome.rows] == [gym]
    assert by_text.total == 11  # 1 and 10..19
    assert [r.thumbs_down for r in by_rating.rows] == [1]
    assert [r.asker for r in by_asker.rows] == ["bob@example.com"]
    assert [r.message_id for r in own.rows] == [gym]
    assert wildcard.total == 0  # % is a character to find, not a pattern


def test_cost_per_day_comes_from_the_usage_records(database_url: str) -> None:
    ada = data.person("ada@example.com", ["viewer"])
    with session_scope() as session:
        for i, cost in enumerate((0.25, 0.5)):
            message_id = data.question(ada.id, f"Costly {i}?")
            answer = conversations.find_answer(session, message_id=message_id)
            assert answer is not None
            usage.record(
                session,
                answer_id=answer.id,
                scope=usage.scope_of(principal_id=ada.id, channel="api", audience=None),
                mode="generated",
                model="m",
                endpoint="e",
                prompt_tokens=100,
                completion_tokens=20,
                llm_latency_ms=5.0,
                total_latency_ms=9.0,
                cost=cost,
                cached=False,
            )
    with session_scope() as session:
        week = analytics.dashboard(session, days=7)
    assert [d.day for d in week.cost_days] == [d.day for d in week.days]
    today = week.cost_days[-1]
    assert (today.cost, today.answers, today.tokens) == (0.75, 2, 240)
    assert all(d.cost == 0 for d in week.cost_days[:-1])
    assert week.totals.cost == 0.75
    assert week.currency == "USD"
