"""Every route of the application × every kind of caller, generated from the app's own route table (a
route missing from SPEC fails the test), plus the object-level rules a role alone does not decide and
CSRF on every state change made with a session cookie."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.factory import create_app
from app.console.access import Permission
from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.models import service as models
from app.domains.runtime_config import service as runtime_config
from app.domains.runtime_config.sections import RETENTION
from app.domains.usage import service as usage
from app.runtime.redis_server import BundledRedis
from audit import retention
from audit.models import AuditEvent
from audit.verify import chain_head
from tests.conftest import Env
from tests.support import console as data
from tests.support import jobs as jobs_data
from tests.support import knowledge as knowledge_data
from tests.support.audit import append_events
from tests.support.route_rules import (
    AUTHENTICATED,
    CALLERS,
    NOT_CALLED,
    PUBLIC,
    ROLES,
    SIGNED_IN,
    SPEC,
    Rule,
)


def app_routes() -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(create_app().routes):
        for method in sorted(getattr(context, "methods", None) or []):
            if method != "HEAD":
                found.append((method, context.path))
    return found


def test_every_route_has_a_rule() -> None:
    routes = set(app_routes())
    assert routes - set(SPEC) - NOT_CALLED == set()
    assert set(SPEC) - routes == set()


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str | None]
    people: dict[str, data.Person]
    submitter: data.Person
    objects: dict[str, Callable[[], object]]

    def headers(self, caller: str) -> dict[str, str]:
        token = self.tokens[caller]
        return {"Authorization": f"Bearer {token}"} if token else {}

    def concrete(self, text: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(self.objects[m.group(1)]()), text)

    def call(self, method: str, path: str, caller: str, rule: Rule) -> httpx.Response:
        kwargs: dict[str, object] = {"headers": self.headers(caller), "follow_redirects": False}
        if rule.body is not None:
            kwargs["json"] = rule.body
        if rule.form is not None:
            kwargs["data"] = {k: self.concrete(v) for k, v in rule.form.items()}
        if rule.files is not None:
            kwargs["files"] = rule.files
        return self.client.request(method, self.concrete(path), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def world(database_url: str, redis_server: BundledRedis, env: Env) -> World:
    # Replayed deliveries are queued in a database of the bundled Redis that no test's worker consumes.
    env.set(PLINTH_REDIS_URL=redis_server.url.rsplit("/", 1)[0] + "/7")
    with session_scope() as session:
        retention.set_retention(session, event_type="input.received", days=400, by="system")
    people = {
        name: data.person(f"{name.replace(' ', '-').replace('+', '-')}@example.com", roles)
        for name, roles in ROLES.items()
    }
    submitter = data.person("submitter@example.com", [])
    counter = itertools.count()

    def message() -> uuid.UUID:
        return data.question(submitter.id, f"Question {next(counter)}?")

    def rollback_target() -> int:
        """A version of the retention settings that differs from the one in force only in its own type."""
        kind = f"test.kind{next(counter)}"
        with session_scope() as session:
            periods = dict(runtime_config.current(session, key=RETENTION).value["periods"])
            target = runtime_config.change(
                session, key=RETENTION, value={"periods": {**periods, kind: 5}}, by="system"
            ).version
            runtime_config.change(
                session, key=RETENTION, value={"periods": {**periods, kind: 6}}, by="system"
            )
            return target

    def hold() -> uuid.UUID:
        with session_scope() as session:
            return retention.place_hold(session, reason="case", by="system", correlation_id="case-1").id

    def purge_request() -> uuid.UUID:
        with session_scope() as session:
            return retention.request_purge(session, event_type="input.received", by="system").id

    def budget(key: str) -> str:
        with session_scope() as session:
            kind, _, value = key.partition(":")
            usage.set_budget(session, kind=kind, value=value, hard_tokens=10, actor="system")
        return key

    def registered_model(name: str) -> str:
        with session_scope() as session:
            models.register_model(
                session,
                name=name,
                base_url="http://vllm:8000/v1",
                served_model="m",
                context_length=4096,
                actor="system",
            )
        return name

    def prompt() -> str:
        with session_scope() as session:
            return models.publish_prompt(
                session,
                name="answer",
                system=f"Be brief {next(counter)}.",
                user_template="$sources $question",
                actor="system",
                activate=False,
            ).version

    def seq() -> int:
        append_events(1)
        with session_scope() as session:
            return chain_head(session)

    objects: dict[str, Callable[[], object]] = {
        "message_id": message,
        "seq": seq,
        "delivery_id": lambda: data.failed_delivery(
            data.question(submitter.id, "Via Slack?", channel="slack")
        ),
        "key": lambda: RETENTION,
        "version": rollback_target,
        "hold_id": hold,
        "request_id": purge_request,
        "correction_id": lambda: data.correction(message(), submitter.id),
        "escalation_id": lambda: data.escalation(message(), submitter.id),
        "principal_id": lambda: data.person(f"target{next(counter)}@example.com", []).id,
        "failed_task_id": jobs_data.failed_task,
        "document_id": lambda: knowledge_data.ingest_text(
            f"# Note {next(counter)}\n\nThe office opens at nine."
        ),
        "budget_key": lambda: budget(f"channel:matrix{next(counter)}"),
        "model_name": lambda: f"model-{next(counter)}",
        "name": lambda: registered_model(f"model-{next(counter)}"),
        "prompt_version": prompt,
    }
    tokens: dict[str, str | None] = {"anonymous": None, "service": get_settings().api_token()}
    tokens.update({name: p.token for name, p in people.items()})
    client = TestClient(create_app(), base_url="https://testserver")
    return World(client=client, tokens=tokens, people=people, submitter=submitter, objects=objects)


def _admitted(caller: str, rule: Rule) -> bool:
    if rule.needs == PUBLIC:
        return True
    if caller == "anonymous":
        return False
    if rule.needs == AUTHENTICATED:
        return True
    if rule.needs == SIGNED_IN:
        return caller != "service"
    return bool(set(ROLES.get(caller, [])) & _granted(rule.needs))


def _sees_all(caller: str, rule: Rule) -> bool:
    if rule.sees_all is None:
        return True
    if rule.sees_all == "service":
        return caller == "service"
    return bool(set(ROLES.get(caller, [])) & _granted(rule.sees_all))


def _granted(permission: Permission | str) -> set[str]:
    from app.console.access import GRANTS

    return set(GRANTS[Permission(permission)])


def test_route_by_caller_matrix(world: World) -> None:
    failures = []
    for (method, path), rule in SPEC.items():
        for caller in CALLERS:
            response = world.call(method, path, caller, rule)
            page = not path.startswith("/api/") and rule.needs != PUBLIC
            if _admitted(caller, rule):
                expected = rule.ok if _sees_all(caller, rule) else 404
            elif caller == "anonymous":
                expected = 303 if page else 401
            else:
                expected = 403
            if response.status_code != expected:
                failures.append(f"{method} {path} as {caller}: {response.status_code}, expected {expected}")
            elif expected == 303 and caller == "anonymous" and page:
                assert response.headers["location"].startswith("/login?next=")
    assert not failures, "\n".join(failures)


def test_refusals_are_audited(world: World) -> None:
    with session_scope() as session:
        before = len(
            list(
                session.scalars(
                    select(AuditEvent.seq).where(AuditEvent.event_type == "auth.permission_denied")
                )
            )
        )
    assert (
        world.call("GET", "/api/v1/principals", "viewer", SPEC[("GET", "/api/v1/principals")]).status_code
        == 403
    )
    with session_scope() as session:
        denials = list(
            session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth.permission_denied"))
        )
    assert len(denials) == before + 1
    assert denials[-1].payload == {
        "what": "GET /api/v1/principals",
        "reason": "this needs the admin or compliance role",
    }


def test_object_level_rules(world: World) -> None:
    asker = world.people["no role"]
    mine = data.question(asker.id, "My own question?")
    theirs = data.question(world.submitter.id, "Somebody else's question?")
    as_asker = world.headers("no role")
    listed = world.client.get("/api/v1/conversations", headers=as_asker).json()
    assert [r["message_id"] for r in listed["rows"]] == [str(mine)]
    assert world.client.get(f"/api/v1/conversations/{mine}", headers=as_asker).status_code == 200
    hidden = world.client.get(f"/api/v1/conversations/{theirs}", headers=as_asker)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["message"] == f"no conversation {theirs}"

    admin = world.people["admin"]
    own_correction = data.correction(data.question(admin.id, "Admin's question?"), admin.id)
    refused = world.client.post(
        f"/api/v1/corrections/{own_correction}/approve", json={}, headers=world.headers("admin")
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "a correction is reviewed by someone other than its author"
    own_roles = world.client.put(
        f"/api/v1/principals/{admin.id}/roles", json={"roles": ["viewer"]}, headers=world.headers("admin")
    )
    assert own_roles.status_code == 403
    with session_scope() as session:
        reasons = [
            e.payload["reason"]
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.event_type == "auth.permission_denied")
            )
        ]
    assert "a correction is reviewed by someone other than its author" in reasons
    assert "nobody changes their own roles; ask another admin" in reasons


@pytest.mark.parametrize(
    ("caller", "sees_trail", "sees_payloads"),
    [
        ("viewer", False, False),
        ("admin", True, False),
        ("admin+audit_payloads", True, True),
        ("compliance", True, True),
    ],
)
def test_audit_payloads_need_compliance_or_the_grant(
    world: World, caller: str, sees_trail: bool, sees_payloads: bool
) -> None:
    message = data.question(world.submitter.id, "What is the secret plan?")
    detail = world.client.get(f"/api/v1/conversations/{message}", headers=world.headers(caller)).json()
    assert bool(detail["audit"]) is sees_trail
    if sees_trail:
        types = [e["event_type"] for e in detail["audit"]]
        assert types == ["input.received", "output.generated"]
        payloads = [e["payload"] for e in detail["audit"]]
        if sees_payloads:
            assert payloads[0]["text"] == "What is the secret plan?"
        else:
            assert payloads == [None, None]
    page = world.client.get(f"/conversations/{message}", headers=world.headers(caller)).text
    assert ("What is the secret plan?&#34;" in page or '"What is the secret plan?"' in page) is sees_payloads


# /api/v1/ask takes bearer tokens only (no ambient credential, nothing to forge).
UNSAFE = [
    (m, p) for (m, p), rule in SPEC.items() if m != "GET" and rule.needs != PUBLIC and p != "/api/v1/ask"
]


@pytest.mark.parametrize(("method", "path"), UNSAFE)
def test_state_changes_with_a_session_need_its_csrf_token(world: World, method: str, path: str) -> None:
    rule = SPEC[(method, path)]
    cookie, csrf = data.console_session(world.people["admin"].id)
    jar = {"cookie": f"__Host-plinth_session={cookie}"}

    def call(extra_headers: dict[str, str], with_field: bool) -> int:
        form = {**(rule.form or {}), **({"csrf_token": csrf} if with_field else {})}
        kwargs: dict[str, object] = {"headers": {**jar, **extra_headers}, "follow_redirects": False}
        if rule.body is not None:
            kwargs["json"] = rule.body
        elif form:
            kwargs["data"] = {k: world.concrete(v) for k, v in form.items()}
        if rule.files is not None:
            kwargs["files"] = rule.files
        return world.client.request(method, world.concrete(path), **kwargs).status_code  # type: ignore[arg-type]

    assert call({}, with_field=False) == 403
    assert call({"X-CSRF-Token": "wrong"}, with_field=False) == 403
    assert call({"X-CSRF-Token": csrf, "Origin": "https://evil.example"}, with_field=False) == 403
    if rule.body is not None:
        assert call({"X-CSRF-Token": csrf, "Origin": "https://testserver"}, with_field=False) == rule.ok
    else:
        assert call({"Origin": "https://testserver"}, with_field=True) == rule.ok


def test_security_headers(world: World) -> None:
    for path in ("/login", "/api/v1/me", "/static/console.css", "/healthz"):
        response = world.client.get(path, headers=world.headers("viewer"))
        h = response.headers
        assert "script-src 'self'" in h["content-security-policy"]
        assert "unsafe-inline" not in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY"
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"
        assert h["strict-transport-security"].startswith("max-age=")
    assert (
        world.client.get("/api/v1/me", headers=world.headers("viewer")).headers["cache-control"] == "no-store"
    )
    plain = TestClient(create_app(), base_url="http://127.0.0.1:8000").get("/login")
    assert "strict-transport-security" not in plain.headers
    elsewhere = TestClient(create_app(), base_url="http://console.example").get("/login")
    assert elsewhere.status_code == 400
    assert "only over HTTPS" in elsewhere.text
