from __future__ import annotations

from typer.testing import CliRunner

from app.cli.main import cli
from tests.conftest import Env

runner = CliRunner()


def test_show_masks_secrets_but_keeps_usable_urls(env: Env) -> None:
    env.set(
        PLINTH_DATABASE_URL="postgresql://plinth:hunter2@db.internal:5432/plinth",
        PLINTH_REDIS_URL="redis://127.0.0.1:6379/0",
        PLINTH_LLM_API_KEY="sk-very-secret",
    )
    result = runner.invoke(cli, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "sk-very-secret" not in result.output
    assert "database_url = postgresql://plinth:***@db.internal:5432/plinth" in result.output
    assert "llm.api_key = ********" in result.output
    assert "redis_url = redis://127.0.0.1:6379/0" in result.output


def test_show_one_key_in_any_spelling(env: Env) -> None:
    env.set(PLINTH_LLM_BASE_URL="http://vllm:8000/v1")
    for key in ("llm.base_url", "llm_base_url", "PLINTH_LLM_BASE_URL"):
        result = runner.invoke(cli, ["config", "show", key])
        assert result.exit_code == 0
        assert result.output.strip() == "http://vllm:8000/v1"


def test_unknown_key_is_an_error(env: Env) -> None:
    result = runner.invoke(cli, ["config", "show", "no_such_thing"])
    assert result.exit_code == 2
    assert "unknown setting" in result.output
