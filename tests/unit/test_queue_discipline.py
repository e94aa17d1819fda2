from __future__ import annotations

import psycopg
import pytest
import redis.exceptions
import sqlalchemy.exc
from pydantic import ValidationError

from app.core.errors import NotFound
from app.core.settings.sections import QueueSettings
from app.domains.jobs.service import fingerprint
from workers.base import is_transient


@pytest.mark.parametrize(
    "exc",
    [
        sqlalchemy.exc.OperationalError(
            "SELECT 1", {}, psycopg.OperationalError("server closed the connection")
        ),
        psycopg.OperationalError("connection refused"),
        redis.exceptions.ConnectionError("Connection refused"),
        ConnectionResetError(),
        TimeoutError(),
    ],
)
def test_unreachable_dependencies_are_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("badly formed hexadecimal UUID string"),
        NotFound("no message"),
        KeyError("message_id"),
        sqlalchemy.exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key")),
    ],
)
def test_errors_a_retry_cannot_fix_are_not(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_an_invalidated_connection_is_transient_whatever_its_class() -> None:
    error = sqlalchemy.exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert is_transient(error)


def test_time_limits_must_fit_inside_the_visibility_timeout() -> None:
    QueueSettings(task_soft_time_limit_s=8, task_time_limit_s=10, visibility_timeout_s=12)
    with pytest.raises(ValidationError, match="visibility timeout"):
        QueueSettings(task_time_limit_s=3600, visibility_timeout_s=3600)
    with pytest.raises(ValidationError, match="soft limit < hard limit"):
        QueueSettings(task_soft_time_limit_s=400, task_time_limit_s=360)


def test_the_fingerprint_ignores_argument_order_only() -> None:
    assert fingerprint("t", {"a": 1, "b": 2}) == fingerprint("t", {"b": 2, "a": 1})
    assert fingerprint("t", {"a": 1}) != fingerprint("t", {"a": 2})
    assert fingerprint("t", {"a": 1}) != fingerprint("u", {"a": 1})
