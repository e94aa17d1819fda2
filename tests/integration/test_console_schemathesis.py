"""schemathesis against the OpenAPI schema: generated requests to every documented operation, as an admin
who also holds compliance and the audit_payloads grant (so every handler runs), never a server error.
Examples per operation are bounded to keep the run short."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from app.api.factory import create_app
from tests.support import console as data

# /readyz pings Redis and a worker (tested with both elsewhere); POST /api/v1/ask may wait up to its
# timeout for a worker that this test does not run.
EXCLUDED_PATHS = ["/readyz", "/api/v1/ask"]


@pytest.fixture
def admin(database_url: str) -> data.Person:
    person = data.person("admin@example.com", ["admin", "compliance", "audit_payloads"])
    asker = data.person("asker@example.com", [])
    message = data.question(asker.id, "How many days of leave do I get?")
    data.correction(message, asker.id)
    data.escalation(message, asker.id)
    data.rate(message, asker.id, 1)
    return person


# Building the application needs no database: each generated test gets its own through `admin`.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app()).exclude(path=EXCLUDED_PATHS)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: schemathesis.Case, admin: data.Person) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin.token}"}, checks=[not_a_server_error])
