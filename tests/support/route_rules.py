"""The access rule of every route of the application: what a caller needs, what an admitted caller gets,
and which objects it sees; the console matrix test calls each route as each kind of caller."""

from __future__ import annotations

from dataclasses import dataclass

from app.console.access import Permission
from tests.conftest import SHARED_DATA

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
