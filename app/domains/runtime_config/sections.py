"""Built-in sections. Audit retention: a retention period (days) per event type. A change is carried out
through audit.retention, whose policies are the value in force (so a change made with `plinth audit
retention` is seen too; each changed type also gets its own `audit.retention_set`); periods are set
or changed, never removed — the store keeps no way of deleting a policy, so removing one is refused."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput
from app.domains.runtime_config.registry import Section, register
from audit import retention

EventType = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", max_length=100)
]
Days = Annotated[int, Field(ge=1, le=36_500)]
RETENTION = "audit.retention"


class RetentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    periods: dict[EventType, Days] = Field(
        default_factory=dict, description="Days an event type's payloads are kept; absent: for ever."
    )


def _read(session: Session) -> BaseModel:
    return RetentionConfig(periods={p.event_type: p.retain_days for p in retention.policies(session)})


def _apply(session: Session, before: BaseModel, after: BaseModel, by: str) -> None:
    assert isinstance(before, RetentionConfig)
    assert isinstance(after, RetentionConfig)
    removed = sorted(set(before.periods) - set(after.periods))
    if removed:
        raise InvalidInput(
            f"a retention period cannot be removed ({', '.join(removed)}): set a longer one instead"
        )
    for event_type, days in sorted(after.periods.items()):
        if before.periods.get(event_type) != days:
            retention.set_retention(session, event_type=event_type, days=days, by=by)


register(Section(key=RETENTION, title="Audit retention", model=RetentionConfig, read=_read, apply=_apply))
