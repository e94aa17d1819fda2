"""Usage and cost per answer, daily roll-ups per user/team/channel, and budgets with rate limits that are
checked before the language model is called."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.settings import get_settings
from app.domains.usage.models import Budget, UsageRecord
from audit import store as audit_store

BUDGET_SET = "budget.set"
BUDGET_REMOVED = "budget.removed"
BUDGET_REFUSED = "budget.refused"
BUDGET_WARNED = "budget.warned"

ScopeKind = Literal["user", "team", "channel"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("user", "team", "channel")
_WHO = {"user": "you", "team": "your team", "channel": "this channel"}


@dataclass(frozen=True)
class UsageScope:
    """What one question counts against."""

    principal_id: uuid.UUID
    team: str | None
    channel: str

    def value(self, kind: ScopeKind) -> str | None:
        return {"user": str(self.principal_id), "team": self.team, "channel": self.channel}[kind]


@dataclass(frozen=True)
class BudgetCheck:
    refusal: str | None = None
    warnings: list[str] = field(default_factory=list)
    resets_at: datetime | None = None


@dataclass(frozen=True)
class RollupRow:
    day: date
    key: str | None
    answers: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    avg_latency_ms: float
    cached: int


def scope_of(*, principal_id: uuid.UUID, channel: str, audience: str | None) -> UsageScope:
    """A Slack audience `slack:<team>:<channel>` names the team and the channel; otherwise the channel
    is the front end's name (cli, api, email, ...)."""
    team = None
    if audience and audience.startswith("slack:"):
        parts = audience.split(":")
        team = parts[1] if len(parts) > 1 and parts[1] else None
    return UsageScope(principal_id=principal_id, team=team, channel=audience or channel)


def cost(
    *,
    prompt_tokens: int,
    completion_tokens: int,
    price_in_per_1k: float,
    price_out_per_1k: float,
    gpu_hour_cost: float | None,
    throughput_tokens_per_s: float | None,
) -> float:
    if get_settings().usage.cost_mode == "gpu_hour":
        if not gpu_hour_cost or not throughput_tokens_per_s:
            return 0.0
        return gpu_hour_cost * (prompt_tokens + completion_tokens) / (throughput_tokens_per_s * 3600)
    return (prompt_tokens * price_in_per_1k + completion_tokens * price_out_per_1k) / 1000


def record(
    session: Session,
    *,
    answer_id: uuid.UUID,
    scope: UsageScope,
    mode: str,
    model: str | None,
    endpoint: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    llm_latency_ms: float,
    total_latency_ms: float,
    cost: float,
    cached: bool,
) -> UsageRecord:
    now = utcnow()
    row = UsageRecord(
        answer_id=answer_id,
        principal_id=scope.principal_id,
        team=scope.team,
        channel=scope.channel,
        day=now.date(),
        mode=mode,
        model=model,
        endpoint=endpoint,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        llm_latency_ms=llm_latency_ms,
        total_latency_ms=total_latency_ms,
        cost=cost,
        cached=cached,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def set_budget(
    session: Session,
    *,
    kind: str,
    value: str,
    period: str = "day",
    soft_tokens: int | None = None,
    hard_tokens: int | None = None,
    soft_cost: float | None = None,
    hard_cost: float | None = None,
    requests_per_minute: int | None = None,
    actor: str,
) -> Budget:
    if kind not in SCOPE_KINDS:
        raise InvalidInput(f"budget scope {kind!r} is not one of {', '.join(SCOPE_KINDS)}")
    if period not in ("day", "month"):
        raise InvalidInput(f"budget period {period!r} is not day or month")
    limits = (soft_tokens, hard_tokens, soft_cost, hard_cost, requests_per_minute)
    if all(v is None for v in limits):
        raise InvalidInput("a budget needs at least one limit")
    if any(v is not None and v <= 0 for v in limits):
        raise InvalidInput("limits must be positive")
    for soft, hard, what in ((soft_tokens, hard_tokens, "token"), (soft_cost, hard_cost, "cost")):
        if soft is not None and hard is not None and soft > hard:
            raise InvalidInput(f"the soft {what} limit ({soft}) is above the hard one ({hard})")
    budget = session.scalar(select(Budget).where(Budget.scope_kind == kind, Budget.scope_value == value))
    if budget is None:
        budget = Budget(scope_kind=kind, scope_value=value)
        session.add(budget)
    budget.period = period
    budget.soft_tokens, budget.hard_tokens = soft_tokens, hard_tokens
    budget.soft_cost, budget.hard_cost = soft_cost, hard_cost
    budget.requests_per_minute = requests_per_minute
    budget.updated_by, budget.updated_at = actor, utcnow()
    session.flush()
    audit_store.append(
        session,
        event_type=BUDGET_SET,
        actor=actor,
        subject=f"budget:{kind}:{value}",
        payload={
            "period": period,
            "soft_tokens": soft_tokens,
            "hard_tokens": hard_tokens,
            "soft_cost": soft_cost,
            "hard_cost": hard_cost,
            "requests_per_minute": requests_per_minute,
        },
    )
    return budget


def remove_budget(session: Session, *, kind: str, value: str, actor: str) -> None:
    budget = session.scalar(select(Budget).where(Budget.scope_kind == kind, Budget.scope_value == value))
    if budget is None:
        raise NotFound(f"no budget for {kind} {value}")
    session.delete(budget)
    audit_store.append(
        session, event_type=BUDGET_REMOVED, actor=actor, subject=f"budget:{kind}:{value}", payload={}
    )
    session.flush()


def list_budgets(session: Session) -> Sequence[Budget]:
    return session.scalars(select(Budget).order_by(Budget.scope_kind, Budget.scope_value)).all()


def _period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    start = datetime.combine(now.date(), time(0), tzinfo=UTC)
    if period == "month":
        start = start.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        end = start + timedelta(days=1)
    return start, end


def _column(kind: ScopeKind) -> InstrumentedAttribute[object]:
    return {"user": UsageRecord.principal_id, "team": UsageRecord.team, "channel": UsageRecord.channel}[kind]


def _when(moment: datetime, now: datetime) -> str:
    left = max(0, int((moment - now).total_seconds()))
    hours, rest = divmod(left, 3600)
    minutes, seconds = divmod(rest, 60)
    span = f"{hours} h {minutes} min" if hours else (f"{minutes} min" if minutes else f"{seconds} s")
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC (in {span})"


def check(session: Session, *, scope: UsageScope, now: datetime | None = None) -> BudgetCheck:
    """Refuse when a hard limit or rate limit of any scope is reached; warn past a soft limit."""
    now = now or utcnow()
    wanted = [(k, v) for k in SCOPE_KINDS if (v := scope.value(k)) is not None]
    budgets = [
        b
        for b in session.scalars(select(Budget).where(Budget.scope_kind.in_([k for k, _ in wanted])))
        if (b.scope_kind, b.scope_value) in wanted
    ]
    warnings: list[str] = []
    for budget in budgets:
        kind: ScopeKind = budget.scope_kind  # type: ignore[assignment]
        column = _column(kind)
        match = column == (scope.principal_id if kind == "user" else budget.scope_value)
        who = _WHO[kind]
        if budget.requests_per_minute is not None:
            since = now - timedelta(minutes=1)
            recent = session.execute(
                select(func.count(), func.min(UsageRecord.created_at)).where(
                    match, UsageRecord.created_at > since, ~UsageRecord.cached
                )
            ).one()
            if recent[0] >= budget.requests_per_minute:
                again = recent[1] + timedelta(minutes=1)
                return BudgetCheck(
                    refusal=f"Sorry, that is more questions than allowed right now: the limit for {who} is "
                    f"{budget.requests_per_minute} per minute. Please ask again at {_when(again, now)}.",
                    resets_at=again,
                )
        start, end = _period_bounds(budget.period, now)
        used_tokens, used_cost = session.execute(
            select(
                func.coalesce(func.sum(UsageRecord.prompt_tokens + UsageRecord.completion_tokens), 0),
                func.coalesce(func.sum(UsageRecord.cost), 0.0),
            ).where(match, UsageRecord.created_at >= start, UsageRecord.created_at < end)
        ).one()
        span = "daily" if budget.period == "day" else "monthly"
        currency = get_settings().usage.currency
        for used, soft, hard, unit in (
            (used_tokens, budget.soft_tokens, budget.hard_tokens, "tokens"),
            (used_cost, budget.soft_cost, budget.hard_cost, currency),
        ):
            if hard is not None and used >= hard:
                return BudgetCheck(
                    refusal=f"Sorry, the {span} budget for {who} is used up ({_amount(used)} of "
                    f"{_amount(hard)} {unit}), so I cannot answer now. It resets at {_when(end, now)}.",
                    resets_at=end,
                )
            if soft is not None and used >= soft:
                warnings.append(
                    f"Note: {who} have used {_amount(used)} of the {span} {unit} budget "
                    f"(warning at {_amount(soft)}"
                    + (f", answers stop at {_amount(hard)})." if hard is not None else ").")
                )
    return BudgetCheck(warnings=warnings)


def _amount(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4f}"


def rollup(session: Session, *, by: str, day_from: date, day_to: date) -> list[RollupRow]:
    """Per day and per user/team/channel: answers, tokens, cost, mean latency, cache hits."""
    if by not in SCOPE_KINDS:
        raise InvalidInput(f"usage can be grouped by {', '.join(SCOPE_KINDS)}, not {by!r}")
    key = _column(by)
    rows = session.execute(
        select(
            UsageRecord.day,
            key,
            func.count(),
            func.sum(UsageRecord.prompt_tokens),
            func.sum(UsageRecord.completion_tokens),
            func.sum(UsageRecord.cost),
            func.avg(UsageRecord.total_latency_ms),
            func.count().filter(UsageRecord.cached),
        )
        .where(UsageRecord.day >= day_from, UsageRecord.day <= day_to)
        .group_by(UsageRecord.day, key)
        .order_by(UsageRecord.day, key)
    ).all()
    return [
        RollupRow(
            day=r[0],
            key=str(r[1]) if r[1] is not None else None,
            answers=r[2],
            prompt_tokens=int(r[3] or 0),
            completion_tokens=int(r[4] or 0),
            cost=float(r[5] or 0),
            avg_latency_ms=float(r[6] or 0),
            cached=int(r[7]),
        )
        for r in rows
    ]
