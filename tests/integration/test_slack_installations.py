"""The installation store on PostgreSQL as Bolt uses it: workspace and Enterprise Grid (org-wide)
lookups, reinstalls, per-installer rows, revocations — through slack_sdk's InstallationStore interface."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select

from app.api.factory import create_app
from app.core.db import session_scope
from app.domains.installations import service as installations
from app.domains.installations.models import SlackInstallation
from audit.models import AuditEvent
from integrations.slack import client as slack_client
from integrations.slack.installations import PostgresInstallationStore, PostgresOAuthStateStore
from tests.conftest import Env
from tests.fakes.slack_api import FakeSlack
from tests.support.slack import SECRET, SlackPayloads, signed_headers

CLIENT_ID = "1111.2222"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def store(database_url: str) -> PostgresInstallationStore:
    return PostgresInstallationStore(CLIENT_ID)


def _install(
    team: str | None, *, token: str, user: str = "U1", enterprise: str | None = None, org: bool = False
) -> Installation:
    return Installation(
        app_id="A1",
        enterprise_id=enterprise,
        enterprise_name="Grid" if enterprise else None,
        team_id=team,
        team_name="Team" if team else None,
        bot_token=token,
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes="chat:write,commands",
        user_id=user,
        user_token=f"xoxp-{user}",
        user_scopes="search:read",
        incoming_webhook_url="https://hooks.slack.com/services/T/B/secret",
        is_enterprise_install=org,
        installed_at=time.time(),
    )


def test_a_workspace_install_is_found_by_team_and_round_trips(store: PostgresInstallationStore) -> None:
    store.save(_install("T1", token="xoxb-t1"))
    bot = store.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert (bot.bot_token, bot.bot_id, bot.bot_user_id, bot.bot_scopes) == (
        "xoxb-t1",
        "B1",
        "UBOT",
        ["chat:write", "commands"],
    )
    found = store.find_installation(enterprise_id=None, team_id="T1")
    assert found is not None
    assert found.user_token == "xoxp-U1"
    assert found.incoming_webhook_url == "https://hooks.slack.com/services/T/B/secret"
    assert store.find_bot(enterprise_id=None, team_id="T2") is None
    with session_scope() as session:
        row = session.scalars(select(SlackInstallation)).one()
    for column in ("bot_token_encrypted", "user_token_encrypted", "incoming_webhook_url_encrypted"):
        sealed = getattr(row, column)
        assert sealed is not None
        assert "xox" not in sealed
        assert "secret" not in sealed


def test_a_reinstall_replaces_the_installers_row_and_the_latest_bot_wins(
    store: PostgresInstallationStore,
) -> None:
    store.save(_install("T1", token="xoxb-old"))
    store.save(_install("T1", token="xoxb-new"))  # same installer: replaced
    store.save(_install("T1", token="xoxb-newest", user="U2"))  # another admin installs again
    with session_scope() as session:
        assert len(session.scalars(select(SlackInstallation)).all()) == 2
    bot = store.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert bot.bot_token == "xoxb-newest"
    mine = store.find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert mine is not None
    assert mine.user_token == "xoxp-U1"
    assert mine.bot_token == "xoxb-newest"  # the team's latest bot token, not the one U1 got
    with session_scope() as session:
        kinds = session.scalars(
            select(AuditEvent.payload).where(AuditEvent.event_type == "slack.installed")
        ).all()
    assert [p["reinstall"] for p in kinds if p] == [False, True, False]


def test_an_org_wide_install_is_found_from_any_workspace_of_the_organisation(
    store: PostgresInstallationStore,
) -> None:
    store.save(_install(None, token="xoxb-org", enterprise="E1", org=True))
    store.save(_install("T9", token="xoxb-t9", enterprise="E1"))  # a workspace install in the same Grid
    org = store.find_bot(enterprise_id="E1", team_id="T5", is_enterprise_install=True)
    assert org is not None
    assert org.bot_token == "xoxb-org"
    assert org.is_enterprise_install
    workspace = store.find_bot(enterprise_id="E1", team_id="T9")
    assert workspace is not None
    assert workspace.bot_token == "xoxb-t9"
    assert store.find_bot(enterprise_id="E2", team_id="T5", is_enterprise_install=True) is None
    store.delete_all(enterprise_id="E1", team_id=None)
    assert store.find_bot(enterprise_id="E1", team_id="T5", is_enterprise_install=True) is None
    assert store.find_bot(enterprise_id="E1", team_id="T9") is not None


def test_revocations_remove_tokens_and_what_has_none_left(store: PostgresInstallationStore) -> None:
    store.save(_install("T1", token="xoxb-t1"))
    store.delete_installation(enterprise_id=None, team_id="T1", user_id="U1")  # the user token revoked
    assert store.find_installation(enterprise_id=None, team_id="T1") is None
    store.save(_install("T1", token="xoxb-t1"))
    store.delete_bot(enterprise_id=None, team_id="T1")
    assert store.find_bot(enterprise_id=None, team_id="T1") is None
    left = store.find_installation(enterprise_id=None, team_id="T1")
    assert left is not None  # the installer's user token is still valid
    assert left.bot_token is None
    assert left.user_token == "xoxp-U1"


def test_states_expire_and_are_used_once(database_url: str) -> None:
    states = PostgresOAuthStateStore(expiration_seconds=600)
    state = states.issue()
    assert states.consume(state)
    assert not states.consume(state)
    assert not states.consume("never-issued")
    assert not states.consume("")
    with session_scope() as session:
        expired = installations.issue_state(session, ttl_s=-1)
    assert not PostgresOAuthStateStore(expiration_seconds=600).consume(expired)


def test_a_reply_refreshes_an_expiring_bot_token_once(
    store: PostgresInstallationStore, env: Env, fake_slack: FakeSlack
) -> None:
    fake_slack.register_app(CLIENT_ID, "shh")
    env.set(
        PLINTH_SLACK_SIGNING_SECRET="s",
        PLINTH_SLACK_CLIENT_ID=CLIENT_ID,
        PLINTH_SLACK_CLIENT_SECRET="shh",
        PLINTH_SLACK_API_BASE_URL=fake_slack.api_url,
    )
    expiring = _install("T1", token="xoxb-expiring")
    expiring.bot_refresh_token = "xoxe-1"
    expiring.bot_token_expires_at = int(time.time()) + 60  # within the rotation window
    store.save(expiring)
    fake_slack.allow_refresh("xoxe-1", new_token="xoxb-fresh", new_refresh_token="xoxe-2")
    assert slack_client.team_token({"team": "T1"}) == "xoxb-fresh"
    assert slack_client.team_token({"team": "T1"}) == "xoxb-fresh"  # valid for hours now: no refresh
    assert len(fake_slack.calls("oauth.v2.access")) == 1
    bot = store.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert bot.bot_refresh_token == "xoxe-2"
    with pytest.raises(slack_client.NotInstalled, match="T2"):
        slack_client.team_token({"team": "T2"})


def _post_event(shared_data: Path, team_id: str) -> int:
    body = SlackPayloads(shared_data).message("How do I request sick leave?", user="U1", channel="D0DOWN")
    body["team_id"] = team_id
    raw = json.dumps(body).encode()
    headers = signed_headers(raw, content_type="application/json")
    return TestClient(create_app()).post("/slack/events", content=raw, headers=headers).status_code


def _oauth_env(env: Env, fake_slack: FakeSlack, **more: str) -> None:
    env.set(
        PLINTH_SLACK_SIGNING_SECRET=SECRET,
        PLINTH_SLACK_CLIENT_ID=CLIENT_ID,
        PLINTH_SLACK_CLIENT_SECRET="shh",
        PLINTH_SLACK_API_BASE_URL=fake_slack.api_url,
        **more,
    )


def test_an_event_whose_installation_cannot_be_read_is_retried_not_dropped(
    store: PostgresInstallationStore, env: Env, fake_slack: FakeSlack, shared_data: Path
) -> None:
    store.save(_install("T1", token="xoxb-t1"))
    _oauth_env(env, fake_slack, PLINTH_SLACK_TOKEN_KEYS=Fernet.generate_key().decode())  # the key lost
    assert _post_event(shared_data, "T1") >= 500  # not "not installed": Slack retries once it is fixed
    assert fake_slack.calls() == []
    _oauth_env(env, fake_slack, PLINTH_DATABASE_URL="postgresql://plinth@127.0.0.1:1/plinth")  # no database
    assert _post_event(shared_data, "T1") >= 500
