"""The console as people use it: a real uvicorn API process and Celery worker on the embedded PostgreSQL
and bundled Redis, a real OIDC provider over HTTP, and Debian's Chromium driven by Playwright. Signing in
through the provider, then every page — a screenshot of each goes to docs/screenshots/ — and the
changes people make there (approving an edited correction, which then answers the question; rejecting
one; resolving an escalation; replaying a failed delivery; changing roles; setting a retention period,
placing a legal hold, requesting a purge, comparing and rolling back settings versions; uploading a
document, re-ingesting it and seeing a refused file's reason; changing a Slack channel, the email intake,
the model registry, a prompt version and a budget; verifying the audit chain), signing out, and a
compliance officer's view: audit search, an event with its inclusion proof against a signed checkpoint,
and a CSV export."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from app.core.blobs import FileBlobStore
from app.core.db import session_scope
from app.core.settings import get_settings
from app.domains.channels import service as channels
from app.domains.conversations.models import Delivery
from app.domains.corrections import service as corrections
from app.domains.knowledge import service as knowledge
from app.domains.principals import service as principals
from app.runtime.postgres import EmbeddedPostgres, free_port
from app.runtime.processes import ManagedProcess
from app.runtime.redis_server import BundledRedis
from audit import maintenance
from audit.signing import default_signer
from audit.wormstore import default_store
from tests.conftest import Env
from tests.fakes.oidc_provider import OidcProvider
from tests.fakes.openai_server import StubServer
from tests.support import console as data
from tests.support import databases
from tests.support.processes import REPO, plinth_env, private_redis_url, start_worker

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "docs" / "screenshots"
RULES = [
    {"claim": "groups", "value": "plinth-admins", "role": "admin"},
    {"claim": "groups", "value": "audit", "role": "compliance"},
]
# The API process loads the embedding model on its first upload: slow on a loaded machine.
INGEST_TIMEOUT_MS = 180_000
LEAVE_QUESTION = "How many hours of annual leave do I earn per pay period?"


class System:
    def __init__(self, env: Env, base: str, provider: OidcProvider, shared_data: Path) -> None:
        self.env, self.base, self.provider, self.shared_data = env, base, provider, shared_data

    def ask(
        self, question: str, user: str, *, channel_user_groups: list[str] | None = None
    ) -> dict[str, object]:
        response = httpx.post(
            f"{self.base}/api/v1/ask",
            json={"question": question, "user": user, "groups": channel_user_groups},
            headers={"Authorization": f"Bearer {get_settings().api_token()}"},
            timeout=180,
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def system(
    *,
    pg: EmbeddedPostgres,
    redis_server: BundledRedis,
    stub_llm: StubServer,
    env: Env,
    tmp_path: Path,
    shared_data: Path,
) -> Iterator[System]:
    name = databases.create_copy(pg, prefix="console")
    provider = OidcProvider().start()
    provider.add_user(
        "sub-ada", email="ada@example.com", email_verified=True, name="Ada Admin", groups=["plinth-admins"]
    )
    provider.add_user(
        "sub-cy", email="cy@example.com", email_verified=True, name="Cy Compliance", groups=["audit"]
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    redis_url = private_redis_url(redis_server)
    env.set(
        PLINTH_DATABASE_URL=pg.url(name),
        PLINTH_REDIS_URL=redis_url,
        PLINTH_LLM_BASE_URL=stub_llm.base_url,
        # High enough that a question about baking finds nothing in a leave policy.
        PLINTH_RETRIEVAL_MIN_SIMILARITY="0.4",
        PLINTH_CONSOLE_ROLE_RULES=json.dumps(RULES),
        # Prices for the stub model's tokens, so the dashboard has a cost per day to chart.
        PLINTH_USAGE_PRICE_IN_PER_1K="0.5",
        PLINTH_USAGE_PRICE_OUT_PER_1K="1.5",
        **provider.env(base),
    )
    stub_llm.reset()
    worker = start_worker(plinth_env(env.as_dict()), tmp_path / "worker.log", redis_url=redis_url)
    api = ManagedProcess(
        "api",
        [sys.executable, "-m", "app.cli", "api", "--port", str(port)],
        plinth_env(env.as_dict()),
        tmp_path / "api.log",
    )
    api.start()
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert api.exited() is None, (tmp_path / "api.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
                time.sleep(0.3)
        leave = shared_data / "qa" / "handbook-18F" / "pages" / "travel-and-leave" / "leave.md"
        with leave.open("rb") as stream, session_scope() as session:
            knowledge.ingest(
                session,
                blobs=FileBlobStore(get_settings().blobs_dir),
                stream=stream,
                original_name=leave.name,
                source_name="handbook",
                source_key=str(leave),
                channel="cli",
                submitted_by=principals.ensure_local(session, handle="librarian").id,
                access=["org"],
            )
        with session_scope() as session:
            channels.ensure_channel(session, audience="slack:T061EG9R6:C0LAN2Q65", name="#general")
        yield System(env, base, provider, shared_data)
    finally:
        api.stop()
        worker.stop()
        provider.stop()
        databases.drop(pg, name)


def _seed(system: System) -> dict[str, object]:
    """Questions answered by the worker through the API, then what people do with the answers."""
    leave = system.ask(LEAVE_QUESTION, "dana@example.com")
    system.ask("Can I carry annual leave over to next year?", "eli@example.com")
    unknown = system.ask("What is the recipe for sourdough bread?", "eli@example.com")
    assert leave["mode"] == "generated"
    assert unknown["answered"] is False
    with session_scope() as session:
        dana = principals.find_by_handle(session, handle="dana@example.com")
        eli = principals.find_by_handle(session, handle="eli@example.com")
        assert dana is not None
        assert eli is not None
        dana_id, eli_id = dana.id, eli.id
    leave_id = leave["message_id"]
    data.rate(leave_id, dana_id, 1)  # type: ignore[arg-type]
    data.rate(unknown["message_id"], eli_id, -1)  # type: ignore[arg-type]
    approved = data.correction(leave_id, dana_id, "You earn 4 hours of annual leave per pay period.")  # type: ignore[arg-type]
    rejected = data.correction(unknown["message_id"], eli_id, "Use rye flour.")  # type: ignore[arg-type]
    data.escalation(unknown["message_id"], eli_id)  # type: ignore[arg-type]
    data.failed_delivery(unknown["message_id"])  # type: ignore[arg-type]
    newcomer = data.person("newcomer@example.com", [])
    return {"approved": approved, "rejected": rejected, "newcomer": newcomer.id, "eli": eli_id}


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, system: System, who: str) -> None:
    page.goto(f"{system.base}/")
    expect(page).to_have_url(f"{system.base}/login?next=%2F")
    page.click("#sso")
    # At the identity provider (another site: http://localhost), the person picks who they are.
    expect(page).to_have_url(re.compile("^" + re.escape(system.provider.issuer)))
    page.get_by_role("button", name=who).click()
    expect(page).to_have_url(f"{system.base}/")


def _retention_and_holds(page: Page) -> None:
    page.click("nav >> text=Retention and holds")
    form = page.locator("#set-period")
    form.locator("input[name=event_type]").fill("input.received")
    form.locator("input[name=days]").fill("365")
    form.locator("input[name=reason]").fill("Records policy 2026")
    form.get_by_role("button", name="Set period").click()
    expect(page.locator(".alert.ok")).to_have_text("Retention period saved.")
    expect(page.locator("#period-input-received")).to_contain_text("365")
    page.locator("#set-period input[name=event_type]").fill("input.received")
    page.locator("#set-period input[name=days]").fill("400")
    page.locator("#set-period").get_by_role("button", name="Set period").click()
    expect(page.locator("#period-input-received")).to_contain_text("400")
    hold = page.locator("#place-hold")
    hold.locator("input[name=correlation_id]").fill("case-2026-17")
    hold.locator("input[name=reason]").fill("Litigation hold, case 2026-17")
    hold.get_by_role("button", name="Place hold").click()
    expect(page.locator(".alert.ok")).to_have_text("Legal hold placed.")
    expect(page.locator("table.holds")).to_contain_text("correlation: case-2026-17")
    page.locator("#period-input-received").get_by_role("button", name="Request purge").click()
    expect(page.locator(".alert.ok")).to_contain_text("a second admin must approve it")
    expect(page.locator("table.purges")).to_contain_text("1 of 2")
    _shot(page, "retention")
    # History: what version 2 changed, then back to version 1.
    page.click("text=History, diff and rollback")
    page.locator("#version-2").get_by_role("link", name="diff").click()
    expect(page.locator("#diff")).to_contain_text("periods › input.received")
    expect(page.locator("#diff td.before")).to_have_text("365")
    expect(page.locator("#diff td.after")).to_have_text("400")
    _shot(page, "settings-history")
    page.locator("#version-1").get_by_role("button", name="Roll back to this").click()
    expect(page.locator(".alert.ok")).to_have_text("Rolled back to version 1 (now version 3).")
    expect(page.locator("#current-value")).to_contain_text('"input.received": 365')


def _knowledge(page: Page, shared_data: Path) -> None:
    """Upload a document (ingested like `plinth ingest`), then a file that is refused with its reason."""
    page.click("nav >> text=Knowledge")
    expect(page.locator("table.documents")).to_contain_text("leave.md")
    upload = page.locator("#upload")
    upload.locator("input[name=file]").set_input_files(
        str(shared_data / "docs" / "unstructured__codeblock.md")
    )
    upload.locator("input[name=grants]").fill("org, group:engineering")
    upload.locator("input[name=review_at]").fill("2026-01-31")
    upload.get_by_role("button", name="Upload").click(timeout=INGEST_TIMEOUT_MS)
    expect(page.locator(".alert.ok")).to_contain_text("Ingested unstructured__codeblock.md")
    expect(page.locator("#version-1")).to_be_visible()
    expect(page.locator("#freshness")).to_contain_text("stale")
    page.get_by_role("button", name="Re-ingest from the stored original").click(timeout=INGEST_TIMEOUT_MS)
    expect(page.locator(".alert.ok")).to_contain_text("version 2")
    _shot(page, "knowledge-document")
    page.click("nav >> text=Knowledge")
    encrypted = shared_data / "docs" / "pypdf-samples__libreoffice-writer-password.pdf"
    page.locator("#upload input[name=file]").set_input_files(str(encrypted))
    page.locator("#upload").get_by_role("button", name="Upload").click(timeout=INGEST_TIMEOUT_MS)
    expect(page.locator("#refused-alert")).to_contain_text(
        "Refused pypdf-samples__libreoffice-writer-password.pdf"
    )
    expect(page.locator("table.refusals")).to_contain_text("encrypted")
    _shot(page, "knowledge")


def _submit(page: Page, form: str, button: str, **fields: str) -> None:
    """Fill a form's fields by name and press its button."""
    for name, value in fields.items():
        page.locator(f"{form} [name={name}]").fill(value)
    page.locator(form).get_by_role("button", name=button).click()


def _operations_settings(page: Page) -> None:
    """Slack channels, email intake, models, prompt versions and budgets, each changed once."""
    page.click("nav >> text=Slack channels")
    row = page.locator("#channel-slack-T061EG9R6-C0LAN2Q65")
    row.locator("input[name=mentions_only]").check()
    row.locator("input[name=allowed_users]").fill("U012AB3CD")
    row.get_by_role("button", name="Save").click()
    expect(page.locator(".alert.ok")).to_contain_text("Settings of slack:T061EG9R6:C0LAN2Q65 saved")
    expect(page.locator("#channel-slack-T061EG9R6-C0LAN2Q65 input[name=mentions_only]")).to_be_checked()
    _shot(page, "settings-channels")
    page.click("nav >> text=Email")
    _submit(
        page,
        "#set-email",
        "Save",
        addresses="helpdesk@plinth.local",
        allowed_domains="partner.example",
        reason="Partner pilot",
    )
    expect(page.locator(".alert.ok")).to_contain_text("Email intake saved")
    expect(page.locator("#email-current")).to_contain_text("partner.example")
    _shot(page, "settings-email")
    page.click("nav >> text=Models")
    _submit(
        page,
        "#register-model",
        "Save",
        name="vllm-standby",
        base_url="http://vllm-standby:8000/v1",
        served_model="qwen2.5-7b-instruct",
        context_length="32768",
        priority="200",
    )
    expect(page.locator(".alert.ok")).to_contain_text("Model vllm-standby saved")
    # Kept out of the failover order, so the answers below still go to the stub model.
    page.locator("#model-vllm-standby").get_by_role("button", name="Disable").click()
    expect(page.locator("#model-vllm-standby")).to_contain_text("disabled")
    _shot(page, "settings-models")
    page.click("nav >> text=Prompts")
    _submit(
        page,
        "#publish-prompt",
        "Publish (inactive)",
        system="Answer employees' questions from the sources only, in at most three sentences, citing them.",
        user_template="Sources:\n$sources\n\nQuestion: $question",
        note="Shorter answers",
    )
    expect(page.locator(".alert.ok")).to_contain_text("Published answer-v2")
    page.locator("#prompt-answer-v2").get_by_role("link", name="diff with answer-v1").click()
    expect(page.locator("#prompt-diff")).to_contain_text("in at most three sentences")
    _shot(page, "settings-prompts")
    page.click("nav >> text=Budgets")
    page.locator("#set-budget select[name=kind]").select_option("team")
    _submit(
        page,
        "#set-budget",
        "Save budget",
        value="T061EG9R6",
        soft_tokens="200000",
        hard_tokens="250000",
        requests_per_minute="30",
    )
    expect(page.locator(".alert.ok")).to_contain_text("Budget for team:T061EG9R6 saved")
    expect(page.locator("table.budgets")).to_contain_text("200000 / 250000")
    _shot(page, "settings-budgets")


def _audit_as_compliance(page: Page, system: System) -> None:
    """Search, an event with its proof against a signed checkpoint, and an export of the same search."""
    maintenance.run(signer=default_signer(), store=default_store(), force=True)
    page.click("nav >> text=Audit")
    page.select_option("select[name=event_type]", "settings.changed")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"event_type=settings.changed"))
    # Three retention versions, then one each for channels and email intake, two for the model registry
    # (registered, disabled) and one for budgets.
    expect(page.locator("table.audit-events tbody tr")).to_have_count(8)
    _shot(page, "audit")
    page.locator("table.audit-events tbody tr").last.locator("a").click()
    expect(page.locator("#payload")).to_contain_text("Records policy 2026")
    expect(page.locator("#contents")).to_have_text("match the hash")
    expect(page.locator("#proof-result")).to_contain_text("verified the event is in the signed tree")
    _shot(page, "audit-event")
    page.go_back()
    with page.expect_download() as download:
        page.click("#export-csv")
    exported = Path(download.value.path()).read_text().splitlines()
    assert exported[0].startswith("seq,ts,event_type,actor")
    assert len(exported) == 9
    assert all(",settings.changed," in line for line in exported[1:])


def test_every_page_in_a_real_browser(system: System, tmp_path: Path) -> None:
    seeded = _seed(system)
    problems: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        page = context.new_page()
        # Any script error or CSP violation shows up as a console error.
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

        page.goto(f"{system.base}/")
        expect(page.locator("#sso")).to_be_visible()
        _shot(page, "login")
        _sign_in(page, system, "Ada Admin")
        [cookie] = [c for c in context.cookies() if c["name"] == "__Host-plinth_session"]
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
            True,
            True,
            "Lax",
            "/",
        )

        # Dashboard: the charts are drawn from the page's own data.
        expect(page.locator("body")).to_have_attribute("data-charts", "drawn")
        expect(page.locator("#t-questions")).to_have_text("3")
        expect(page.locator("#unanswered")).to_contain_text("What is the recipe for sourdough bread?")
        expect(page.locator("#cost-per-day")).to_be_visible()
        expect(page.locator("#t-cost")).not_to_have_text("0.00 USD")
        _shot(page, "dashboard")

        # Conversations: htmx swaps the results when a filter changes, and the URL follows.
        page.click("nav >> text=Conversations")
        expect(page.locator("#count")).to_have_text("3 questions")
        page.select_option("select[name=outcome]", "dont_know")
        expect(page.locator("#count")).to_have_text("1 question")
        expect(page).to_have_url(re.compile(r"outcome=dont_know"))
        page.select_option("select[name=outcome]", "")
        expect(page.locator("#count")).to_have_text("3 questions")
        _shot(page, "conversations")
        page.click(f"text={LEAVE_QUESTION}")
        expect(page.locator(".citations")).to_contain_text("leave.md")
        expect(page.locator("table.audit")).to_contain_text("output.generated")
        expect(page.locator("table.audit")).not_to_contain_text(LEAVE_QUESTION)  # admins see no payloads
        _shot(page, "conversation")

        # Corrections: approve one with an edit, reject the other.
        page.click("nav >> text=Corrections")
        approve = page.locator(f"#correction-{seeded['approved']}")
        approve.locator("textarea[name=text]").fill(
            "You earn 4 hours of annual leave every pay period (full time)."
        )
        _shot(page, "corrections")
        approve.get_by_role("button", name="Approve").click()
        expect(page.locator(".alert.ok")).to_have_text("Correction approved.")
        reject = page.locator(f"#correction-{seeded['rejected']}")
        reject.locator("form.reject input[name=note]").fill("Not in any document.")
        reject.get_by_role("button", name="Reject").click()
        expect(page.locator(".alert.ok")).to_have_text("Correction rejected.")
        expect(page.locator("article.correction")).to_have_count(0)

        # Escalations and failed deliveries.
        page.click("nav >> text=Escalations")
        expect(page.locator("table.escalations tbody tr")).to_have_count(1)
        _shot(page, "escalations")
        page.get_by_role("button", name="Resolve").click()
        expect(page.locator(".alert.ok")).to_have_text("Escalation resolved.")
        expect(page.locator("table.escalations")).to_contain_text("No open escalations.")
        # A Slack reply that failed for good (after the dashboard and conversation counts above).
        replayed = data.failed_delivery(
            data.question(seeded["eli"], "Where is the VPN guide?", channel="slack")  # type: ignore[arg-type]
        )
        page.click("nav >> text=Failed deliveries")
        expect(page.locator("table.deliveries")).to_contain_text("channel_not_found")
        expect(page.locator("table.deliveries tbody tr")).to_have_count(2)
        _shot(page, "deliveries")
        page.locator("table.deliveries tr", has_text="Where is the VPN guide?").get_by_role(
            "button", name="Replay"
        ).click()
        expect(page.locator(".alert.ok")).to_have_text("Delivery queued again.")
        expect(page.locator("table.deliveries tbody tr")).to_have_count(1)

        # Users and roles: give the newcomer the viewer role.
        page.click("nav >> text=Users and roles")
        row = page.locator("#user-newcomer-at-example-com")
        row.locator("input[value=viewer]").check()
        _shot(page, "users")
        row.get_by_role("button", name="Save").click()
        expect(page.locator(".alert.ok")).to_have_text("Roles changed.")

        _retention_and_holds(page)
        _knowledge(page, system.shared_data)
        _operations_settings(page)
        # The admin verifies the chain but sees no payloads.
        page.click("nav >> text=Audit")
        expect(page.locator("table.audit-events")).to_contain_text("settings.changed")
        expect(page.locator("#chain-state")).to_contain_text("Payloads are hidden")
        expect(page.locator("input[name=q]")).to_have_count(0)
        expect(page.locator("#export-csv")).to_have_count(0)
        page.click("#verify")
        expect(page.locator("#verdict")).to_contain_text("Intact: events 1–")
        _shot(page, "audit-verify")

        # Sign out ends the session on the server: the console asks to sign in again.
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator(".alert.ok")).to_have_text("You are signed out.")
        page.goto(f"{system.base}/corrections")
        expect(page).to_have_url(f"{system.base}/login?next=%2Fcorrections")

        # A compliance officer reads everything, payloads included, and is offered no change.
        _sign_in(page, system, "Cy Compliance")
        page.goto(f"{system.base}/conversations")
        page.click(f"text={LEAVE_QUESTION}")
        expect(page.locator("table.audit")).to_contain_text(LEAVE_QUESTION)
        page.goto(f"{system.base}/users")
        expect(page.locator("form.roles")).to_have_count(0)
        page.goto(f"{system.base}/corrections?status=all")
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)
        _audit_as_compliance(page, system)
        context.close()
    assert problems == []

    with session_scope() as session:
        correction = corrections.get(session, correction_id=seeded["approved"])  # type: ignore[arg-type]
        assert (correction.status, correction.final_text) == (
            "approved",
            "You earn 4 hours of annual leave every pay period (full time).",
        )
        assert corrections.get(session, correction_id=seeded["rejected"]).status == "rejected"  # type: ignore[arg-type]
        newcomer = principals.get(session, principal_id=seeded["newcomer"])  # type: ignore[arg-type]
        assert newcomer.roles == ["viewer"]
        requeued = session.get(Delivery, replayed)
        assert requeued is not None
        assert requeued.status != "failed"
    # The approved correction now answers the question.
    again = system.ask(LEAVE_QUESTION, "dana@example.com")
    assert again["mode"] == "curated"
    assert again["answer"] == "You earn 4 hours of annual leave every pay period (full time)."
