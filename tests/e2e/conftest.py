"""Slack end-to-end fixtures: the fake Slack Web API and a running stack (database, worker, `plinth
api`) per module, configured with the module's own `slack_settings` (token mode or OAuth mode)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runtime.postgres import EmbeddedPostgres
from app.runtime.redis_server import BundledRedis
from tests.conftest import Env
from tests.fakes.openai_server import StubServer
from tests.fakes.slack_api import FakeSlack
from tests.support.slack import CLIENT_ID, CLIENT_SECRET, SlackPayloads, SlackSender, running_stack


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.register_app(CLIENT_ID, CLIENT_SECRET)  # what oauth.v2.access accepts
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def slack_settings() -> dict[str, str]:
    """The module's Slack settings beyond the signing secret and the fake API (override per module)."""
    return {}


@pytest.fixture(scope="module")
def stack(
    *,
    pg: EmbeddedPostgres,
    redis_server: BundledRedis,
    stub_llm: StubServer,
    fake_slack: FakeSlack,
    shared_data: Path,
    slack_settings: dict[str, str],
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """Database, worker and API configured for Slack, with the leave policy ingested."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "")
    with running_stack(
        pg=pg,
        redis_server=redis_server,
        stub_llm=stub_llm,
        fake_slack=fake_slack,
        shared_data=shared_data,
        home=tmp_path_factory.mktemp(f"{name}-home"),
        slack_settings=slack_settings,
        prefix=name,
    ) as settings:
        yield settings


@pytest.fixture
def payloads(shared_data: Path) -> SlackPayloads:
    return SlackPayloads(shared_data)


@pytest.fixture
def slack(stack: dict[str, str], env: Env, fake_slack: FakeSlack, stub_llm: StubServer) -> SlackSender:
    """Signed requests to the module's stack, with this process's settings pointed at it."""
    env.set(**{k: v for k, v in stack.items() if k != "PLINTH_API_URL"})
    fake_slack.reset()
    stub_llm.reset()
    return SlackSender(stack["PLINTH_API_URL"])
