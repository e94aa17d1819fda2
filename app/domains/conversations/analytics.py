"""Adoption and quality figures for the console dashboard, computed in SQL from messages, answers and
feedback. Days are UTC days.

Outcomes: *answered* — a generated or reviewed (curated) answer; *fallback* — passages were found but the
model was unavailable, not configured or ungrounded, so the answer is extractive; *don't know* — nothing
relevant enough was found; *pending* — not answered yet."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.settings import get_settings
from app.domains.usage import service as usage

# Outcome counts and latency percentiles (receipt to stored answer) over messages m and answers a.
_FIGURES = """
    count(m.id) AS questions,
    count(a.id) FILTER (WHERE a.answered AND a.fallback_reason IS NULL) AS answered,
    count(a.id) FILTER (WHERE a.answered AND a.fallback_reason IS NOT NULL) AS fallback,
    count(a.id) FILTER (WHERE NOT a.answered) AS dont_know,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.created_at - m.received_at) * 1000)
        AS p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM a.created_at - m.received_at) * 1000)
        AS p95_ms
"""
_DAILY = text(
    f"""
    WITH days AS (
        SELECT generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day')::date AS day
    )
    SELECT d.day, {_FIGURES}
    FROM days d
    LEFT JOIN messages m
           ON m.received_at >= CAST(:since AS timestamptz)
          AND (m.received_at AT TIME ZONE 'UTC')::date = d.day
    LEFT JOIN answers a ON a.message_id = m.id
    GROUP BY d.day
    ORDER BY d.day
    """  # noqa: S608 - a fixed fragment, no input
)
_RATINGS = text(
    """
    SELECT (f.updated_at AT TIME ZONE 'UTC')::date AS day,
           count(*) FILTER (WHERE f.rating > 0) AS up,
           count(*) FILTER (WHERE f.rating < 0) AS down
    FROM feedback f
    WHERE f.updated_at >= CAST(:since AS timestamptz)
    GROUP BY 1
    """
)
_TOTALS = text(
    f"""
    SELECT {_FIGURES},
           (SELECT count(*) FROM feedback f
             WHERE f.rating > 0 AND f.updated_at >= CAST(:since AS timestamptz)) AS up,
           (SELECT count(*) FROM feedback f
             WHERE f.rating < 0 AND f.updated_at >= CAST(:since AS timestamptz)) AS down
    FROM messages m
    LEFT JOIN answers a ON a.message_id = m.id
    WHERE m.received_at >= CAST(:since AS timestamptz)
    """  # noqa: S608 - a fixed fragment, no input
)
_WEEKLY_ASKERS = text(
    """
    SELECT date_trunc('week', m.received_at AT TIME ZONE 'UTC')::date AS week,
           m.channel,
           count(DISTINCT m.principal_id) AS askers
    FROM messages m
    WHERE m.received_at >= CAST(:since AS timestamptz)
    GROUP BY 1, 2
    ORDER BY 1, 2
    """
)
_TOP_UNANSWERED = text(
    """
    SELECT min(m.text) AS question, count(*) AS times, max(m.received_at) AS last_asked
    FROM messages m
    JOIN answers a ON a.message_id = m.id
    WHERE NOT a.answered AND m.received_at >= CAST(:since AS timestamptz)
    -- Case, spacing and trailing punctuation do not make a different question.
    GROUP BY regexp_replace(regexp_replace(lower(btrim(m.text)), '\\s+', ' ', 'g'), '[\\s?!.,;:]+$', '')
    ORDER BY times DESC, last_asked DESC
    LIMIT :limit
    """
)


class DayFigures(BaseModel):
    day: date
    questions: int
    answered: int
    fallback: int
    dont_know: int
    p50_ms: float | None
    p95_ms: float | None
    thumbs_up: int
    thumbs_down: int


class WeeklyAskers(BaseModel):
    week: date  # the Monday the week starts on
    channel: str
    askers: int


class UnansweredQuestion(BaseModel):
    question: str
    times: int
    last_asked: datetime


class Totals(BaseModel):
    questions: int
    answered_rate: float | None
    fallback_rate: float | None
    dont_know_rate: float | None
    thumbs_up_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    cost: float = 0.0


class DayCost(BaseModel):
    day: date
    cost: float
    answers: int  # answers with a usage record (refused and cached ones too)
    tokens: int


class Dashboard(BaseModel):
    since: date
    until: date
    totals: Totals
    days: list[DayFigures]
    cost_days: list[DayCost]
    currency: str
    weekly_askers: list[WeeklyAskers]
    top_unanswered: list[UnansweredQuestion]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _cost_days(session: Session, first: date, last: date) -> list[DayCost]:
    """Cost, answers and tokens per UTC day from the usage records (every day, zero when none)."""
    totals = {first + timedelta(days=i): [0.0, 0, 0] for i in range((last - first).days + 1)}
    for row in usage.rollup(session, by="channel", day_from=first, day_to=last):
        day = totals.setdefault(row.day, [0.0, 0, 0])
        day[0] += row.cost
        day[1] += row.answers
        day[2] += row.prompt_tokens + row.completion_tokens
    return [
        DayCost(day=d, cost=round(c, 6), answers=int(n), tokens=int(t))
        for d, (c, n, t) in sorted(totals.items())
    ]


def dashboard(session: Session, *, days: int, top: int = 10) -> Dashboard:
    """The figures of the last `days` UTC days, today included."""
    last = utcnow().date()
    first = last - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time()).isoformat() + "+00:00"
    window = {"first": first, "last": last, "since": since}
    ratings = {row.day: row for row in session.execute(_RATINGS, window)}
    figures = []
    for row in session.execute(_DAILY, window):
        rated = ratings.get(row.day)
        figures.append(
            DayFigures(
                day=row.day,
                questions=row.questions,
                answered=row.answered,
                fallback=row.fallback,
                dont_know=row.dont_know,
                p50_ms=row.p50_ms,
                p95_ms=row.p95_ms,
                thumbs_up=rated.up if rated else 0,
                thumbs_down=rated.down if rated else 0,
            )
        )
    cost_days = _cost_days(session, first, last)
    t = session.execute(_TOTALS, window).one()
    finished = t.answered + t.fallback + t.dont_know
    totals = Totals(
        questions=t.questions,
        answered_rate=_share(t.answered, finished),
        fallback_rate=_share(t.fallback, finished),
        dont_know_rate=_share(t.dont_know, finished),
        thumbs_up_rate=_share(t.up, t.up + t.down),
        p50_ms=t.p50_ms,
        p95_ms=t.p95_ms,
        cost=round(sum(c.cost for c in cost_days), 6),
    )
    return Dashboard(
        since=first,
        until=last,
        totals=totals,
        days=figures,
        cost_days=cost_days,
        currency=get_settings().usage.currency,
        weekly_askers=[
            WeeklyAskers(week=r.week, channel=r.channel, askers=r.askers)
            for r in session.execute(_WEEKLY_ASKERS, window)
        ],
        top_unanswered=[
            UnansweredQuestion(question=r.question, times=r.times, last_asked=r.last_asked)
            for r in session.execute(_TOP_UNANSWERED, {**window, "limit": top})
        ],
    )
