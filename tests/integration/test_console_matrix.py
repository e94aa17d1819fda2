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
from tests.conftest import SHARED_DATA, Env
from tests.support import console as data
from tests.support import jobs as jobs_data
from tests.support import knowledge as knowledge_data
from tests.support.audit import append_events

P = Permission
PUBLIC, AUTHENTICATED, SIGNED_IN = "public", "authenticated", "signed in"


@dataclass(frozen=True)
class Rule:
    needs: Permission | str  # a permission, PUBLIC, AUTHENTICATED (any token) or SIGNED_IN (a principal)
    ok: int  # the status an admitted caller gets
    # Object-level: admitted callers without this see only their own objects (another's is "not found");
    # "service" means only the service token sees everyone's.
    sees_all: Permission | str | None = None
    body: dict[str, object] | None = None
    form: dict[str, str] | None = None  # values may name objects too: "{budget_key}"
    files: dict[str, tuple[str, bytes, str]] | None = None


LEAVE = SHARED_DATA / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md"
UPLOAD = {"file": ("leave.md", LEAVE.read_bytes(), "text/markdown")}
SPEC: dict[tuple[str, str], Rule] = {
    ("GET", "/openapi.json"): Rule(PUBLIC, 200),
    ("GET", "/healthz"): Rule(PUBLIC, 200),
    ("GET", "/metrics"): Rule(PUBLIC, 200),
    ("GET", "/login"): Rule(PUBLIC, 200),
    ("GET", "/login/oidc"): Rule(PUBLIC, 303),
    ("GET", "/auth/callback"): Rule(PUBLIC, 401),
    ("POST", "/login/local"): Rule(
        PUBLIC, 401, form={"email": "x@example.com", "password": "p", "state": "s"}
    ),
    # An empty question: an admitted caller gets past authentication to the validation error.
    ("POST", "/api/v1/ask"): Rule(AUTHENTICATED, 422, body={"question": " ", "wait": False}),
    ("GET", "/api/v1/messages/{message_id}/answer"): Rule(AUTHENTICATED, 200, sees_all="service"),
    ("GET", "/api/v1/me"): Rule(AUTHENTICATED, 200),
    ("GET", "/api/v1/dashboard"): Rule(P.DASHBOARD_READ, 200),
    ("GET", "/api/v1/conversations"): Rule(SIGNED_IN, 200),
    ("GET", "/api/v1/conversations/{message_id}"): Rule(SIGNED_IN, 200, sees_all=P.CONVERSATIONS_READ_ALL),
    ("GET", "/api/v1/corrections"): Rule(P.CORRECTIONS_READ, 200),
    ("POST", "/api/v1/corrections/{correction_id}/approve"): Rule(P.CORRECTIONS_REVIEW, 200, body={}),
    ("POST", "/api/v1/corrections/{correction_id}/reject"): Rule(P.CORRECTIONS_REVIEW, 200, body={}),
    ("GET", "/api/v1/escalations"): Rule(P.ESCALATIONS_READ, 200),
    ("POST", "/api/v1/escalations/{escalation_id}/resolve"): Rule(P.ESCALATIONS_RESOLVE, 200),
    ("GET", "/api/v1/deliveries/failed"): Rule(P.DELIVERIES_READ, 200),
    ("GET", "/api/v1/principals"): Rule(P.PRINCIPALS_READ, 200),
    ("PUT", "/api/v1/principals/{principal_id}/roles"): Rule(P.ROLES_CHANGE, 200, body={"roles": ["viewer"]}),
    ("GET", "/"): Rule(P.DASHBOARD_READ, 200),
    ("GET", "/conversations"): Rule(SIGNED_IN, 200),
    ("GET", "/conversations/{message_id}"): Rule(SIGNED_IN, 200, sees_all=P.CONVERSATIONS_READ_ALL),
    ("GET", "/corrections"): Rule(P.CORRECTIONS_READ, 200),
    ("POST", "/corrections/{correction_id}/approve"): Rule(P.CORRECTIONS_REVIEW, 303, form={"text": "x"}),
    ("POST", "/corrections/{correction_id}/reject"): Rule(P.CORRECTIONS_REVIEW, 303, form={"note": "no"}),
    ("GET", "/escalations"): Rule(P.ESCALATIONS_READ, 200),
    ("POST", "/escalations/{escalation_id}/resolve"): Rule(P.ESCALATIONS_RESOLVE, 303, form={}),
    ("GET", "/deliveries"): Rule(P.DELIVERIES_READ, 200),
    ("GET", "/users"): Rule(P.PRINCIPALS_READ, 200),
    ("POST", "/users/{principal_id}/roles"): Rule(P.ROLES_CHANGE, 303, form={"roles": "viewer"}),
    ("POST", "/logout"): Rule(AUTHENTICATED, 303, form={}),
    ("GET", "/api/v1/audit/events"): Rule(P.AUDIT_READ_PAYLOADS, 200),
    ("GET", "/api/v1/audit/export"): Rule(P.AUDIT_EXPORT, 200),
    ("GET", "/api/v1/audit/status"): Rule(P.AUDIT_READ, 200),
    ("GET", "/api/v1/jobs/failed"): Rule(P.JOBS_REPLAY, 200),
    ("POST", "/api/v1/jobs/failed/{failed_task_id}/replay"): Rule(P.JOBS_REPLAY, 200),
    ("GET", "/jobs"): Rule(P.JOBS_REPLAY, 200),
    ("POST", "/jobs/{failed_task_id}/replay"): Rule(P.JOBS_REPLAY, 303, form={}),
    ("GET", "/api/v1/audit/events/{seq}"): Rule(P.AUDIT_READ, 200),
    ("POST", "/api/v1/audit/verify"): Rule(P.AUDIT_READ, 200),
    ("GET", "/audit"): Rule(P.AUDIT_READ, 200),
    ("GET", "/audit/events/{seq}"): Rule(P.AUDIT_READ, 200),
    ("POST", "/audit/verify"): Rule(P.AUDIT_READ, 200, form={}),
    ("POST", "/api/v1/deliveries/{delivery_id}/replay"): Rule(P.DELIVERIES_REPLAY, 202),
    ("POST", "/deliveries/{delivery_id}/replay"): Rule(P.DELIVERIES_REPLAY, 303, form={}),
    # The same value again is no new version: a second admitted caller gets 200 too.
    ("PUT", "/api/v1/settings/{key}"): Rule(
        P.SETTINGS_CHANGE, 200, body={"value": {"periods": {"input.received": 400, "output.generated": 9}}}
    ),
    ("GET", "/api/v1/settings"): Rule(P.SETTINGS_READ, 200),
    ("GET", "/api/v1/settings/{key}"): Rule(P.SETTINGS_READ, 200),
    ("GET", "/api/v1/settings/{key}/versions"): Rule(P.SETTINGS_READ, 200),
    ("GET", "/api/v1/settings/{key}/diff"): Rule(P.SETTINGS_READ, 200),
    ("POST", "/api/v1/settings/{key}/versions/{version}/rollback"): Rule(P.SETTINGS_CHANGE, 200, body={}),
    ("GET", "/settings/retention"): Rule(P.SETTINGS_READ, 200),
    ("POST", "/settings/retention"): Rule(
        P.SETTINGS_CHANGE, 303, form={"event_type": "feedback.recorded", "days": "700"}
    ),
    ("POST", "/settings/retention/holds"): Rule(
        P.SETTINGS_CHANGE, 303, form={"reason": "litigation", "correlation_id": "case-9"}
    ),
    ("POST", "/settings/retention/holds/{hold_id}/release"): Rule(P.SETTINGS_CHANGE, 303, form={}),
    ("POST", "/settings/retention/purges"): Rule(
        P.SETTINGS_CHANGE, 303, form={"event_type": "input.received"}
    ),
    ("POST", "/settings/retention/purges/{request_id}/approve"): Rule(P.SETTINGS_CHANGE, 303, form={}),
    ("GET", "/settings/{key}/history"): Rule(P.SETTINGS_READ, 200),
    ("POST", "/settings/{key}/versions/{version}/rollback"): Rule(P.SETTINGS_CHANGE, 303, form={}),
    ("GET", "/knowledge"): Rule(P.KNOWLEDGE_READ, 200),
    ("GET", "/knowledge/documents/{document_id}"): Rule(P.KNOWLEDGE_READ, 200),
    ("POST", "/knowledge/upload"): Rule(P.KNOWLEDGE_CHANGE, 303, form={"grants": "org"}, files=UPLOAD),
    ("POST", "/knowledge/documents/{document_id}/reingest"): Rule(P.KNOWLEDGE_CHANGE, 303, form={}),
    ("POST", "/knowledge/documents/{document_id}/delete"): Rule(P.KNOWLEDGE_CHANGE, 303, form={}),
    ("POST", "/knowledge/documents/{document_id}/access"): Rule(
        P.KNOWLEDGE_CHANGE, 303, form={"grants": "org, group:hr"}
    ),
    ("POST", "/knowledge/documents/{document_id}/review"): Rule(
        P.KNOWLEDGE_CHANGE, 303, form={"review_at": "2027-01-01", "expires_at": ""}
    ),
    ("GET", "/api/v1/knowledge/sources"): Rule(P.KNOWLEDGE_READ, 200),
    ("GET", "/api/v1/knowledge/documents"): Rule(P.KNOWLEDGE_READ, 200),
    ("GET", "/api/v1/knowledge/documents/{document_id}"): Rule(P.KNOWLEDGE_READ, 200),
    ("GET", "/api/v1/knowledge/refusals"): Rule(P.KNOWLEDGE_READ, 200),
    ("POST", "/api/v1/knowledge/documents"): Rule(P.KNOWLEDGE_CHANGE, 200, form={}, files=UPLOAD),
    ("POST", "/api/v1/knowledge/documents/{document_id}/reingest"): Rule(P.KNOWLEDGE_CHANGE, 200),
    ("DELETE", "/api/v1/knowledge/documents/{document_id}"): Rule(P.KNOWLEDGE_CHANGE, 200),
    ("PUT", "/api/v1/knowledge/documents/{document_id}/access"): Rule(
        P.KNOWLEDGE_CHANGE, 200, body={"access": ["org"]}
    ),
    ("PUT", "/api/v1/knowledge/documents/{document_id}/review"): Rule(
        P.KNOWLEDGE_CHANGE, 200, body={"review_at": "2027-01-01"}
    ),
    ("GET", "/settings/channels"): Rule(P.SETTINGS_READ, 200),
    ("POST", "/settings/channels"): Rule(
        P.SETTINGS_CHANGE, 303, form={"audience": "slack:T1:C1", "enabled": "true", "scope": "org"}
    ),
    ("GET", "/settings/email"): Rule(P.SETTINGS_READ, 200),
    ("POST", "/settings/email"): Rule(
        P.SETTINGS_CHANGE, 303, form={"addresses": "help@plinth.local", "allowed_domains": "example.com"}
    ),
    ("GET", "/settings/budgets"): Rule(P.SETTINGS_READ, 200),
    ("POST", "/settings/budgets"): Rule(
        P.SETTINGS_CHANGE, 303, form={"kind": "channel", "value": "email", "hard_tokens": "1000"}
    ),
    ("POST", "/settings/budgets/remove"): Rule(P.SETTINGS_CHANGE, 303, form={"key": "{budget_key}"}),
    ("GET", "/settings/models"): Rule(P.SETTINGS_READ, 200),
    ("POST", "/settings/models"): Rule(
        P.SETTINGS_CHANGE,
        303,
        form={
            "name": "{model_name}",
            "base_url": "http://vllm:8000/v1",
            "served_model": "m",
            "context_length": "4096",
        },
    ),
    ("POST", "/settings/models/{name}/enabled"): Rule(P.SETTINGS_CHANGE, 303, form={"enabled": "false"}),
    ("GET", "/settings/prompts"): Rule(P.SETTINGS_READ, 200),
    ("POST", "/settings/prompts"): Rule(
        P.SETTINGS_CHANGE, 303, form={"system": "Be brief.", "user_template": "$sources\n$question"}
    ),
    ("POST", "/settings/prompts/{prompt_version}/activate"): Rule(P.SETTINGS_CHANGE, 303, form={}),
    ("GET", "/api/v1/models"): Rule(P.SETTINGS_READ, 200),
    ("PUT", "/api/v1/models/{name}/enabled"): Rule(P.SETTINGS_CHANGE, 200, body={"enabled": False}),
    ("GET", "/api/v1/prompts"): Rule(P.SETTINGS_READ, 200),
    ("GET", "/api/v1/prompts/diff"): Rule(P.SETTINGS_READ, 200),
    ("POST", "/api/v1/prompts/{prompt_version}/activate"): Rule(P.SETTINGS_CHANGE, 200),
}
# /readyz pings Redis and a worker, which this test has none of: its (public) behaviour is tested elsewhere.
NOT_CALLED = {("GET", "/readyz")}
# Mounted only when Slack is configured, and authenticated by Slack's request signature, not a token or a
# session: tests/e2e/test_slack.py sends it signed (and badly signed, and stale) requests.
NOT_CALLED.add(("POST", "/slack/events"))
CALLERS = ("anonymous", "service", "no role", "viewer", "compliance", "admin", "admin+audit_payloads")
ROLES = {
    "no role": [],
    "viewer": ["viewer"],
    "compliance": ["compliance"],
    "admin": ["admin"],
    "admin+audit_payloads": ["admin", "audit_payloads"],
}


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
