"""The operations settings pages over HTTP with a console session: Slack channels, email intake and
budgets are versions of runtime settings sections (carried out through their domains, rolled back from
the history page); the model registry and prompt versions are domain records (a diff between two prompt
versions, activation of an earlier one). Every change is audited with the admin as the actor."""

from __future__ import annotations

from sqlalchemy import select

from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.channels import service as channels
from app.domains.models import service as models
from app.domains.runtime_config import service as runtime_config
from app.domains.usage import service as usage
from audit.models import AuditEvent
from integrations.email import config
from tests.integration.console_client import signed_in
from tests.support import console as data

AUDIENCE = "slack:T061EG9R6:C0LAN2Q65"


def _events(event_type: str) -> list[AuditEvent]:
    with session_scope() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_channel_settings_are_versioned_carried_out_and_rolled_back(database_url: str) -> None:
    admin, csrf, person = signed_in("ada@example.com", ["admin"])
    with session_scope() as session:
        channels.ensure_channel(session, audience=AUDIENCE, name="general")
    form = {"csrf_token": csrf, "audience": AUDIENCE, "enabled": "true", "version": "0"}
    first = admin.post(
        "/settings/channels",
        data={**form, "mentions_only": "true", "scope": "org, group:eng", "allowed_users": "U1 U2"},
    )
    assert first.status_code == 303, first.text
    with session_scope() as session:
        channel = channels.get_channel(session, audience=AUDIENCE)
        assert (channel.enabled, channel.mentions_only) == (True, True)
        assert channel.scope == ["group:eng", "org"]
        assert channel.allowed_users == ["U1", "U2"]
    page = admin.get("/settings/channels").text
    assert "general" in page
    assert 'value="group:eng, org"' in page

    # Stale form: refused, nothing changes.
    assert admin.post("/settings/channels", data={**form, "enabled": ""}).status_code == 409
    second = admin.post("/settings/channels", data={**form, "version": "1", "enabled": ""})
    assert second.status_code == 303
    with session_scope() as session:
        channel = channels.get_channel(session, audience=AUDIENCE)
        assert (channel.enabled, channel.scope, channel.allowed_users) == (False, None, [])

    back = admin.post("/settings/slack.channels/versions/1/rollback", data={"csrf_token": csrf})
    assert back.status_code == 303
    with session_scope() as session:
        channel = channels.get_channel(session, audience=AUDIENCE)
        assert (channel.enabled, channel.mentions_only, channel.allowed_users) == (True, True, ["U1", "U2"])
        assert [v.version for v in runtime_config.versions(session, key="slack.channels")] == [3, 2, 1]
    history = admin.get("/settings/slack.channels/history?compare=1&to=2").text
    assert "channels › slack:T061EG9R6:C0LAN2Q65 › enabled" in history
    configured = _events("channel.configured")
    assert len(configured) == 3
    assert {e.actor for e in configured} == {f"principal:{person.id}"}
    assert len([e for e in _events("settings.changed") if e.subject == "settings:slack.channels"]) == 3


def test_email_intake_changes_what_the_email_front_end_accepts(database_url: str) -> None:
    admin, csrf, _ = signed_in("ada@example.com", ["admin"])
    settings = get_settings().email
    assert not config.mailboxes(settings).ours("help@plinth.local")
    saved = admin.post(
        "/settings/email",
        data={
            "csrf_token": csrf,
            "addresses": "help@plinth.local\nit@plinth.local",
            "allowed_domains": "Partner.example",
            "reason": "partner pilot",
        },
    )
    assert saved.status_code == 303, saved.text
    boxes = config.mailboxes(settings)
    assert boxes.ours("help+urgent@plinth.local")
    assert boxes.ours(settings.question_address)  # the fixed ones stay
    with session_scope() as session:
        assert config.effective(session, settings).allowed_domains == ["partner.example"]
    bad = admin.post("/settings/email", data={"csrf_token": csrf, "addresses": "not-an-address"})
    assert bad.status_code == 422
    assert "addresses.0" in bad.text
    [changed] = [e for e in _events("settings.changed") if e.subject == "settings:email.intake"]
    assert changed.payload["reason"] == "partner pilot"
    assert "partner.example" in admin.get("/settings/email").text


def test_budgets_are_set_and_removed_through_the_usage_domain(database_url: str) -> None:
    admin, csrf, _ = signed_in("ada@example.com", ["admin"])
    asker = data.person("bob@example.com", [])
    set_ = admin.post(
        "/settings/budgets",
        data={
            "csrf_token": csrf,
            "kind": "user",
            "value": "bob@example.com",
            "period": "month",
            "soft_tokens": "500",
            "hard_tokens": "1000",
            "requests_per_minute": "3",
        },
    )
    assert set_.status_code == 303, set_.text
    with session_scope() as session:
        [budget] = usage.list_budgets(session)
        assert (budget.scope_kind, budget.scope_value, budget.period) == ("user", str(asker.id), "month")
        assert (budget.soft_tokens, budget.hard_tokens, budget.requests_per_minute) == (500, 1000, 3)
    page = admin.get("/settings/budgets").text
    assert "user:bob@example.com" in page
    inverted = admin.post(
        "/settings/budgets",
        data={"csrf_token": csrf, "kind": "team", "value": "T1", "soft_cost": "5", "hard_cost": "1"},
    )
    assert inverted.status_code == 422
    assert "above the hard one" in inverted.text
    removed = admin.post("/settings/budgets/remove", data={"csrf_token": csrf, "key": "user:bob@example.com"})
    assert removed.status_code == 303
    with session_scope() as session:
        assert list(usage.list_budgets(session)) == []
    assert len(_events("budget.set")) == 1
    assert len(_events("budget.removed")) == 1
    rollback = admin.post("/settings/usage.budgets/versions/1/rollback", data={"csrf_token": csrf})
    assert rollback.status_code == 303
    with session_scope() as session:
        assert [b.scope_value for b in usage.list_budgets(session)] == [str(asker.id)]


def test_models_and_prompt_versions_diff_and_activation(database_url: str) -> None:
    admin, csrf, person = signed_in("ada@example.com", ["admin"])
    registered = admin.post(
        "/settings/models",
        data={
            "csrf_token": csrf,
            "name": "vllm-a",
            "base_url": "http://vllm:8000/v1",
            "served_model": "qwen",
            "context_length": "8192",
            "price_in_per_1k": "0.01",
        },
    )
    assert registered.status_code == 303, registered.text
    assert (
        admin.post(
            "/settings/models/vllm-a/enabled", data={"csrf_token": csrf, "enabled": "false"}
        ).status_code
        == 303
    )
    with session_scope() as session:
        assert models.get_model(session, name="vllm-a").enabled is False
    assert "vllm-a" in admin.get("/settings/models").text
    # The registry is a versioned section: version 1 registered it, version 2 disabled it; rolling back
    # to 1 enables it again, and removing a model is refused (disable it instead).
    assert "/settings/llm.models/history" in admin.get("/settings/models").text
    rollback = admin.post("/settings/llm.models/versions/1/rollback", data={"csrf_token": csrf})
    assert rollback.status_code == 303, rollback.text
    with session_scope() as session:
        restored = models.get_model(session, name="vllm-a")
        assert (restored.enabled, restored.price_in_per_1k) == (True, 0.01)
        assert runtime_config.current(session, key="llm.models").version == 3
    removal = admin.client.put(
        "/api/v1/settings/llm.models",
        json={"value": {"models": {}}},
        headers={"Authorization": f"Bearer {person.token}"},
    )
    assert removal.status_code == 422, removal.text
    assert "disable it instead" in removal.text

    published = admin.post(
        "/settings/prompts",
        data={
            "csrf_token": csrf,
            "name": "answer",
            "system": "Answer in one sentence, citing sources.",
            "user_template": "Sources:\n$sources\n\nQuestion: $question",
            "note": "shorter answers",
        },
    )
    assert published.status_code == 303, published.text
    page = admin.get("/settings/prompts?compare=answer-v1&to=answer-v2").text
    assert "Changes from answer-v1 to answer-v2" in page
    assert "+Answer in one sentence, citing sources." in page
    with session_scope() as session:
        assert models.active_prompt(session).version == "answer-v1"  # published inactive
    assert admin.post("/settings/prompts/answer-v2/activate", data={"csrf_token": csrf}).status_code == 303
    with session_scope() as session:
        assert models.active_prompt(session).version == "answer-v2"
    diff = admin.client.get(
        "/api/v1/prompts/diff", headers={"Authorization": f"Bearer {person.token}"}
    ).json()
    assert (diff["from_version"], diff["to_version"]) == ("answer-v1", "answer-v2")
    # Back to the built-in version: a rollback.
    assert admin.post("/settings/prompts/answer-v1/activate", data={"csrf_token": csrf}).status_code == 303
    with session_scope() as session:
        assert models.active_prompt(session).version == "answer-v1"
    actor = f"principal:{person.id}"
    for event_type, count in (
        ("model.registered", 1),
        ("model.changed", 2),  # disabled, then enabled again by the rollback
        ("prompt.published", 1),
        ("prompt.activated", 2),
    ):
        found = _events(event_type)
        assert len(found) == count, event_type
        assert {e.actor for e in found} == {actor}


def test_compliance_reads_the_settings_pages_and_changes_nothing(database_url: str) -> None:
    reader, csrf, _ = signed_in("cy@example.com", ["compliance"])
    for path in (
        "/settings/channels",
        "/settings/email",
        "/settings/budgets",
        "/settings/models",
        "/settings/prompts",
    ):
        page = reader.get(path)
        assert page.status_code == 200, path
        assert 'class="primary"' not in page.text, path
    refused = reader.post("/settings/email", data={"csrf_token": csrf, "addresses": "x@plinth.local"})
    assert refused.status_code == 403
