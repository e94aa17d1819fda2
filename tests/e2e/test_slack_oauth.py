"""Multi-workspace OAuth mode over the real protocols: `plinth api` and a worker with a client id and
secret and no bot token, the install flow against the fake Slack API's `oauth.v2.access`, installations
stored with their tokens encrypted, each workspace answered with its own token, strangers refused and
audited, and revocations removing what was stored."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select, text

from app.core import token_crypto
from app.core.db import session_scope
from app.domains.conversations.models import Message
from app.domains.installations import service as installations
from app.domains.installations.models import SlackInstallation
from audit.models import AuditEvent
from tests.conftest import Env
from tests.fakes.openai_server import StubServer
from tests.fakes.slack_api import BOT_USER, FakeSlack
from tests.support.processes import plinth_env, run_cli
from tests.support.slack import (
    CLIENT_ID,
    CLIENT_SECRET,
    SlackPayloads,
    SlackSender,
    answer_call,
    channel,
    person,
)

pytestmark = pytest.mark.slow
QUESTION = "How do I request sick leave?"


@pytest.fixture(scope="module")
def slack_settings() -> dict[str, str]:
    return {
        "PLINTH_SLACK_CLIENT_ID": CLIENT_ID,
        "PLINTH_SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "PLINTH_SLACK_AUTHORIZE_URL": "https://slack.test/oauth/v2/authorize",
    }


@pytest.fixture
def api(stack: dict[str, str], env: Env, fake_slack: FakeSlack, stub_llm: StubServer) -> str:
    env.set(**{k: v for k, v in stack.items() if k != "PLINTH_API_URL"})  # same database and key file
    fake_slack.reset()
    stub_llm.reset()
    return stack["PLINTH_API_URL"]


def new_team() -> str:
    return "T" + uuid.uuid4().hex[:9].upper()


def start_install(api: str) -> tuple[str, str]:
    """GET /slack/install: (the state in Slack's authorize URL, the browser cookie that carries it)."""
    response = httpx.get(f"{api}/slack/install")
    assert response.status_code == 302, response.text
    location = urlparse(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://slack.test/oauth/v2/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert "chat:write" in query["scope"][0].split(",")
    [state] = query["state"]
    cookie = response.headers["set-cookie"].split(";", 1)[0]
    assert cookie == f"slack-app-oauth-state={state}"
    return state, cookie


def finish_install(api: str, *, code: str, state: str, cookie: str) -> httpx.Response:
    """Slack sends the browser back to /slack/oauth_redirect with the code and the state."""
    return httpx.get(
        f"{api}/slack/oauth_redirect", params={"code": code, "state": state}, headers={"Cookie": cookie}
    )


def bot_of(fake: FakeSlack, team_id: str) -> str:
    """Plinth's bot user in that workspace (each workspace has its own)."""
    bot = f"UB{team_id[1:]}"
    fake.add_user(bot, email=None, team_id=team_id, is_bot=True)
    return bot


def install(api: str, fake: FakeSlack, *, team_id: str, token: str, bot_user: str = BOT_USER) -> None:
    code = "code-" + uuid.uuid4().hex
    fake.grant(code, team_id=team_id, bot_token=token, bot_user=bot_user)
    state, cookie = start_install(api)
    response = finish_install(api, code=code, state=state, cookie=cookie)
    assert response.status_code == 200, response.text


def rows(team_id: str) -> list[SlackInstallation]:
    with session_scope() as session:
        return list(session.scalars(select(SlackInstallation).where(SlackInstallation.team_id == team_id)))


def audited(event_type: str) -> list[dict[str, Any]]:
    with session_scope() as session:
        found = session.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == event_type))
        return [payload or {} for payload in found]


def test_install_exchanges_the_code_and_stores_the_tokens_encrypted(api: str, fake_slack: FakeSlack) -> None:
    team = new_team()
    token = f"xoxb-{uuid.uuid4().hex}"
    install(api, fake_slack, team_id=team, token=token)

    [exchange] = fake_slack.calls("oauth.v2.access")
    assert exchange.token is not None
    assert exchange.token.startswith("Basic ")
    assert [c.token for c in fake_slack.calls("auth.test")] == [token]  # the bot id, from the new token
    [row] = rows(team)
    assert row.bot_user_id == "U0LAN0Z89"
    assert row.bot_id == "B0PLINTH1"
    assert row.user_id == "U0INSTALL1"
    assert "chat:write" in row.bot_scopes
    assert row.bot_token_encrypted is not None
    with session_scope() as session:
        raw = session.execute(
            text("SELECT t::text FROM slack_installations t WHERE team_id = :team"), {"team": team}
        ).scalar_one()
    assert token not in raw  # not in any column
    assert token.removeprefix("xoxb-") not in raw
    with session_scope() as session:
        found = installations.find_bot(session, client_id=CLIENT_ID, enterprise_id=None, team_id=team)
    assert found is not None
    assert found.bot_token == token
    [event] = [p for p in audited("slack.installed") if p.get("team_id") == team]
    assert event["installer"] == "U0INSTALL1"
    assert token not in str(event)


def test_a_replayed_forged_or_expired_state_is_refused(api: str, fake_slack: FakeSlack) -> None:
    team = new_team()
    code = "code-" + uuid.uuid4().hex
    fake_slack.grant(code, team_id=team, bot_token=f"xoxb-{uuid.uuid4().hex}")
    state, cookie = start_install(api)
    assert finish_install(api, code=code, state=state, cookie=cookie).status_code == 200
    assert finish_install(api, code=code, state=state, cookie=cookie).status_code == 401  # used once

    forged = "not-issued-" + uuid.uuid4().hex
    refused = finish_install(api, code=code, state=forged, cookie=f"slack-app-oauth-state={forged}")
    assert refused.status_code == 401

    with session_scope() as session:
        expired = installations.issue_state(session, ttl_s=-1)
    refused = finish_install(api, code=code, state=expired, cookie=f"slack-app-oauth-state={expired}")
    assert refused.status_code == 401

    other_browser = finish_install(
        api, code=code, state=start_install(api)[0], cookie="slack-app-oauth-state=x"
    )
    assert other_browser.status_code == 400  # the state was not issued to this browser
    assert len(fake_slack.calls("oauth.v2.access")) == 1  # nothing refused reached Slack
    assert len(rows(team)) == 1
    reasons = [p.get("reason") for p in audited("auth.failed")]
    assert "Slack install refused: invalid_state" in reasons
    assert "Slack install refused: invalid_browser" in reasons


def test_each_workspace_is_answered_with_its_own_token(
    api: str, fake_slack: FakeSlack, payloads: SlackPayloads
) -> None:
    sender = SlackSender(api)
    first, second = new_team(), new_team()
    tokens = {first: f"xoxb-{uuid.uuid4().hex}", second: f"xoxb-{uuid.uuid4().hex}"}
    for team, token in tokens.items():
        install(api, fake_slack, team_id=team, token=token, bot_user=bot_of(fake_slack, team))
    for team, token in tokens.items():
        asker = "U" + uuid.uuid4().hex[:9].upper()
        fake_slack.add_user(asker, email=f"{asker.lower()}@example.com", team_id=team)
        room = "C" + uuid.uuid4().hex[:9].upper()
        fake_slack.add_channel(room, members=[asker, bot_of(fake_slack, team)])
        body = payloads.mention(QUESTION, user=asker, channel=room)
        body["team_id"] = team
        body["event"]["text"] = f"<@{bot_of(fake_slack, team)}> {QUESTION}"
        response = sender.event(body)
        assert response.status_code == 200
        placeholders = fake_slack.wait_for("chat.postMessage", channel=room)
        assert len(placeholders) == 1, (
            response.text,
            [(c.method, c.token, str(c.result)[:80]) for c in fake_slack.calls()],
        )
        [placeholder] = placeholders
        assert placeholder.token == token  # posted by the API, authorized from the installation
        answer = answer_call(fake_slack, channel_id=room)  # delivered by the worker
        assert answer.token == token
        [stored] = _messages(body["event_id"])
        assert stored.reply_to is not None
        assert stored.reply_to["team"] == team
        members = [c for c in fake_slack.calls("conversations.members") if c.args.get("channel") == room]
        assert members
        assert {c.token for c in members} == {token}


def test_an_event_from_a_workspace_without_an_installation_is_refused_and_audited(
    api: str, fake_slack: FakeSlack, payloads: SlackPayloads
) -> None:
    stranger = new_team()
    asker = person(fake_slack)
    body = payloads.mention(QUESTION, user=asker, channel=channel(fake_slack, [asker]))
    body["team_id"] = stranger
    response = SlackSender(api).event(body)
    assert response.status_code == 200  # answered (so Slack does not retry), but nothing runs
    assert "reinstall" in response.text
    assert _messages(body["event_id"]) == []
    assert [c.method for c in fake_slack.calls() if c.method.startswith("chat.")] == []
    reasons = [p.get("reason") or "" for p in audited("auth.failed")]
    assert any(stranger in reason and "not installed" in reason for reason in reasons)


def test_revoked_tokens_and_uninstalls_remove_the_installation(
    api: str, fake_slack: FakeSlack, payloads: SlackPayloads
) -> None:
    sender = SlackSender(api)
    revoked, uninstalled = new_team(), new_team()
    for team in (revoked, uninstalled):
        install(api, fake_slack, team_id=team, token=f"xoxb-{uuid.uuid4().hex}")
        assert len(rows(team)) == 1

    event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0LAN0Z89"]}, "event_ts": "1.0"}
    assert sender.event(payloads.app_event(event, team_id=revoked)).status_code == 200
    assert rows(revoked) == []
    event = {"type": "app_uninstalled", "event_ts": "2.0"}
    assert sender.event(payloads.app_event(event, team_id=uninstalled)).status_code == 200
    assert rows(uninstalled) == []

    assert any(
        p.get("team_id") == revoked and p.get("tokens") == "bot" for p in audited("slack.tokens_revoked")
    )
    assert any(p.get("team_id") == uninstalled for p in audited("slack.uninstalled"))
    asker = person(fake_slack)
    body = payloads.mention(QUESTION, user=asker, channel=channel(fake_slack, [asker]))
    body["team_id"] = uninstalled
    assert sender.event(body).status_code == 200
    assert _messages(body["event_id"]) == []  # an uninstalled workspace is a stranger again


def _messages(external_id: str) -> list[Message]:
    with session_scope() as session:
        return list(session.scalars(select(Message).where(Message.external_id == external_id)))


def test_the_cli_lists_rotates_the_key_and_deletes(
    api: str, fake_slack: FakeSlack, stack: dict[str, str]
) -> None:
    team = new_team()
    token = f"xoxb-{uuid.uuid4().hex}"
    install(api, fake_slack, team_id=team, token=token)
    env = plinth_env(stack)
    listed = run_cli("slack", "installations", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stdout.splitlines() if line.startswith(team)]
    assert "tokens=bot" in line
    assert token not in listed.stdout

    key_file = token_crypto.key_file()
    before = token_crypto.parse_keys(key_file.read_text())
    [sealed_before] = [row.bot_token_encrypted for row in rows(team)]
    rotated = run_cli("slack", "installations", "rotate-key", env=env)
    assert rotated.returncode == 0, rotated.stderr
    after = token_crypto.parse_keys(key_file.read_text())
    assert len(after) == 1
    assert after[0] not in before  # the old key is gone
    [sealed_after] = [row.bot_token_encrypted for row in rows(team)]
    assert sealed_after != sealed_before
    with session_scope() as session:
        found = installations.find_bot(session, client_id=CLIENT_ID, enterprise_id=None, team_id=team)
    assert found is not None
    assert found.bot_token == token
    assert any(p.get("installations", 0) >= 1 for p in audited("slack.tokens_reencrypted"))

    deleted = run_cli("slack", "installations", "delete", "--team", team, env=env)
    assert deleted.returncode == 0, deleted.stderr
    assert rows(team) == []
