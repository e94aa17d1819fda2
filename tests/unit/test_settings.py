from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core import runtime_state
from app.core.errors import ConfigurationError
from app.core.settings import Settings
from tests.conftest import Env


def test_nested_sections_read_single_underscore_names(env: Env) -> None:
    env.set(PLINTH_LLM_BASE_URL="http://vllm:8000/v1", PLINTH_LLM_READ_TIMEOUT_S="7", PLINTH_API_PORT="9000")
    settings = Settings()
    assert settings.llm.base_url == "http://vllm:8000/v1"
    assert settings.llm.read_timeout_s == 7
    assert settings.api.port == 9000


def test_home_is_absolute_and_defaults_to_dot_plinth(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.unset("PLINTH_HOME")
    monkeypatch.chdir(tmp_path)
    assert Settings().home == tmp_path / ".plinth"


def test_production_refuses_a_missing_api_token(env: Env) -> None:
    env.set(PLINTH_ENVIRONMENT="production")
    with pytest.raises(ValidationError, match="PLINTH_API_TOKEN"):
        Settings()


def test_missing_database_says_how_to_fix_it(env: Env) -> None:
    with pytest.raises(ConfigurationError, match="plinth up"):
        Settings().require_database_url()


def test_running_supervisor_state_supplies_the_urls(env: Env) -> None:
    state = runtime_state.RuntimeState(
        supervisor_pid=os.getpid(), database_url="postgresql://db/x", redis_url="redis://r/0", api_url=None
    )
    runtime_state.write(env.home, state)
    settings = Settings()
    assert settings.require_database_url() == "postgresql://db/x"
    assert settings.require_redis_url() == "redis://r/0"
    env.set(PLINTH_DATABASE_URL="postgresql://explicit/y")
    assert Settings().require_database_url() == "postgresql://explicit/y"


def test_state_of_a_dead_supervisor_is_ignored(env: Env) -> None:
    dead_pid = 2**22 + 12345  # above pid_max on Linux
    runtime_state.write(
        env.home,
        runtime_state.RuntimeState(
            supervisor_pid=dead_pid, database_url="postgresql://db/x", redis_url=None, api_url=None
        ),
    )
    assert Settings().database_url is None


def test_development_api_token_is_generated_once_and_private(env: Env) -> None:
    settings = Settings()
    token = settings.api_token()
    assert len(token) >= 32
    assert Settings().api_token() == token
    mode = (settings.keys_dir / "api-token").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_configured_api_token_wins(env: Env) -> None:
    env.set(PLINTH_API_TOKEN="s3cret-token-value")
    assert Settings().api_token() == "s3cret-token-value"
