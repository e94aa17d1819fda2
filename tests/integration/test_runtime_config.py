"""The runtime settings store on the real database: each change a new version with who, when and why,
carried out and audited in the same transaction; diff between versions; rollback as a new version;
refused changes (invalid, stale, removing a retention period) store nothing and audit nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from app.core.db import session_scope
from app.core.errors import Conflict, InvalidInput, NotFound
from app.domains.runtime_config import registry
from app.domains.runtime_config import service as runtime_config
from app.domains.runtime_config.models import ConfigVersion
from app.domains.runtime_config.sections import RETENTION
from audit import retention
from audit.models import AuditEvent

ADA, BEN = "principal:00000000-0000-0000-0000-00000000000a", "principal:00000000-0000-0000-0000-00000000000b"


def _events(event_type: str) -> list[AuditEvent]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.seq)
            )
        )


def _change(value: dict[str, object], by: str = ADA, **kwargs: object) -> int:
    with session_scope() as session:
        return runtime_config.change(session, key=RETENTION, value=value, by=by, **kwargs).version  # type: ignore[arg-type]


def _policies() -> dict[str, int]:
    with session_scope() as session:
        return {p.event_type: p.retain_days for p in retention.policies(session)}


def test_changes_are_versions_carried_out_and_audited(database_url: str) -> None:
    assert _change({"periods": {"input.received": 30}}, reason="GDPR review") == 1
    assert _change({"periods": {"input.received": 60, "output.generated": 90}}, by=BEN) == 2
    assert _policies() == {"input.received": 60, "output.generated": 90}
    with session_scope() as session:
        history = runtime_config.versions(session, key=RETENTION)
        assert [(v.version, v.changed_by, v.reason) for v in history] == [
            (2, BEN, None),
            (1, ADA, "GDPR review"),
        ]
        assert runtime_config.current(session, key=RETENTION).version == 2
    changed = _events("settings.changed")
    assert [e.actor for e in changed] == [ADA, BEN]
    assert changed[1].subject == "settings:audit.retention"
    assert changed[1].payload is not None
    assert changed[1].payload["before"] == {"periods": {"input.received": 30}}
    assert changed[1].payload["after"] == {"periods": {"input.received": 60, "output.generated": 90}}
    assert changed[1].payload["changes"] == [
        {"path": ["periods", "input.received"], "before": 30, "after": 60},
        {"path": ["periods", "output.generated"], "before": None, "after": 90},
    ]
    # audit.retention records each period it set, in the same transactions.
    assert [e.payload["after_days"] for e in _events("audit.retention_set") if e.payload] == [30, 60, 90]


def test_diff_and_rollback(database_url: str) -> None:
    _change({"periods": {"input.received": 30}})
    _change({"periods": {"input.received": 45, "feedback.recorded": 10}})
    with session_scope() as session:
        diff = runtime_config.diff(session, key=RETENTION, from_version=1, to_version=2)
        assert [(c.path, c.before, c.after) for c in diff.changes] == [
            (["periods", "feedback.recorded"], None, 10),
            (["periods", "input.received"], 30, 45),
        ]
        from_defaults = runtime_config.diff(session, key=RETENTION, from_version=0, to_version=1)
        assert [(c.path, c.after) for c in from_defaults.changes] == [(["periods", "input.received"], 30)]
        with pytest.raises(NotFound, match="have no version 7"):
            runtime_config.diff(session, key=RETENTION, from_version=1, to_version=7)
    _change({"periods": {"input.received": 90, "feedback.recorded": 10}})
    with session_scope() as session:
        restored = runtime_config.rollback(session, key=RETENTION, to_version=2, by=BEN)
    assert (restored.version, restored.rollback_of, restored.reason) == (4, 2, "roll back to version 2")
    assert _policies() == {"input.received": 45, "feedback.recorded": 10}
    last = _events("settings.changed")[-1].payload
    assert last is not None
    assert (last["rollback_of"], last["before"]["periods"]["input.received"]) == (2, 90)


def _stored() -> tuple[int, int]:
    with session_scope() as session:
        versions = session.scalar(select(func.count()).select_from(ConfigVersion)) or 0
    return versions, len(_events("settings.changed"))


def test_refused_changes_store_and_audit_nothing(database_url: str) -> None:
    _change({"periods": {"input.received": 30}})
    before = _stored()
    with pytest.raises(
        InvalidInput, match=r"periods\.input\.received: Input should be greater than or equal to 1"
    ):
        _change({"periods": {"input.received": 0}})
    with pytest.raises(InvalidInput, match=r"invalid audit.retention settings: periods\.Not A Type"):
        _change({"periods": {"Not A Type": 3}})
    with pytest.raises(InvalidInput, match="colour: Extra inputs are not permitted"):
        _change({"periods": {}, "colour": "red"})
    assert _change({"periods": {"input.received": 30}}) == 1  # the value in force again: no new version
    with pytest.raises(Conflict, match=r"changed meanwhile \(now version 1, not 0\)"):
        _change({"periods": {"input.received": 31}}, expected_version=0)
    # Removing a period is refused by the section after the version was prepared: nothing of it stays.
    with pytest.raises(InvalidInput, match=r"cannot be removed \(input.received\)"):
        _change({"periods": {"output.generated": 5}})
    assert _stored() == before
    assert _policies() == {"input.received": 30}
    assert _change({"periods": {"input.received": 31}}, expected_version=1) == 2


def test_the_value_in_force_follows_retention_set_elsewhere(database_url: str) -> None:
    """Retention lives in audit.retention: a period set with the CLI is what the console shows and the
    base of the next change."""
    with session_scope() as session:
        retention.set_retention(session, event_type="input.received", days=12, by="system")
    with session_scope() as session:
        current = runtime_config.current(session, key=RETENTION)
    assert (current.version, current.value) == (0, {"periods": {"input.received": 12}})
    _change({"periods": {"input.received": 12, "output.generated": 3}})
    changed = _events("settings.changed")[-1].payload
    assert changed is not None
    assert changed["before"] == {"periods": {"input.received": 12}}


class Greeting(BaseModel):
    text: str = "Hello"
    limit: int = Field(default=3, ge=1)


@pytest.fixture
def greeting_section() -> Iterator[str]:
    key = "test.greeting"
    registry.register(registry.Section(key=key, title="Greeting", model=Greeting))
    yield key
    registry._SECTIONS.pop(key)


def test_a_registered_section_without_hooks_lives_in_the_store(
    database_url: str, greeting_section: str
) -> None:
    with session_scope() as session:
        assert runtime_config.current(session, key=greeting_section).value == {"text": "Hello", "limit": 3}
        runtime_config.change(session, key=greeting_section, value={"text": "Hi", "limit": 3}, by=ADA)
    with session_scope() as session:
        value = runtime_config.value_of(session, key=greeting_section)
        assert isinstance(value, Greeting)
        assert value.text == "Hi"
        with pytest.raises(NotFound, match="no settings section 'nope'"):
            runtime_config.current(session, key="nope")


def test_nul_characters_are_refused(database_url: str, greeting_section: str) -> None:
    with session_scope() as session, pytest.raises(InvalidInput, match="may not contain a NUL"):
        runtime_config.change(session, key=greeting_section, value={"text": "a\x00b"}, by=ADA)
    with session_scope() as session, pytest.raises(InvalidInput, match="may not contain a NUL"):
        runtime_config.change(session, key=greeting_section, value={"text": "ok"}, by=ADA, reason="\x00")
