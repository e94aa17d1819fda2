"""What the deployment files may refer to: real settings, real `plinth` subcommands and options, real
queues and routes. Shared by the compose, Helm and image tests."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel, SecretStr

from app.cli.main import cli
from app.core.settings import Settings
from tests.support.processes import REPO

DEPLOY = REPO / "deploy"
CHART = DEPLOY / "helm" / "plinth"
IMAGE_SCRIPTS = "/usr/local/lib/plinth"


def setting_names() -> dict[str, bool]:
    """Every PLINTH_* variable the settings tree reads, mapped to whether it holds a secret."""
    names: dict[str, bool] = {}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub, subfield in annotation.model_fields.items():
                names[f"PLINTH_{name}_{sub}".upper()] = _is_secret(subfield.annotation)
        elif field.validation_alias is None:
            names[f"PLINTH_{name}".upper()] = _is_secret(annotation)
    return names


def _is_secret(annotation: object) -> bool:
    return "SecretStr" in str(annotation) or annotation is SecretStr


def plinth_variables(names: Sequence[str]) -> list[str]:
    return sorted(name for name in names if name.startswith("PLINTH_"))


def check_settings(env: Mapping[str, str]) -> None:
    """Every PLINTH_* name in env is a real setting (or awaits a merge) and its value validates."""
    known = setting_names()
    unknown = [n for n in plinth_variables(list(env)) if n not in known]
    assert not unknown, f"not settings of app/core/settings/: {unknown}"
    with isolated_environment({k: v for k, v in env.items() if k in known}):
        Settings()


@contextmanager
def isolated_environment(env: Mapping[str, str]) -> Iterator[None]:
    """os.environ with no PLINTH_* variable but these (plus a token, which production requires and
    deployments take from a secret)."""
    saved = dict(os.environ)
    try:
        for key in [k for k in os.environ if k.startswith("PLINTH_")]:
            del os.environ[key]
        os.environ.update(env)
        os.environ.setdefault("PLINTH_API_TOKEN", "from-a-secret")
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def check_plinth_command(args: Sequence[str]) -> Any:
    """Parse ARGS as `plinth ARGS` would, without running it: an unknown command or option, or a value
    of the wrong type, raises. Returns the parsed context (`.info_name`, `.params`)."""
    group = typer.main.get_command(cli)
    root = group.context_class(group, info_name="plinth")
    name, *rest = args
    command = group.get_command(root, name)  # type: ignore[attr-defined]
    assert command is not None, f"`plinth {name}` is not a plinth command"
    return command.make_context(name, list(rest), parent=root)


def queues_of(context: Any) -> list[str]:
    return str(context.params["queues"]).split(",")


def app_routes() -> set[str]:
    """The HTTP paths the API serves (its OpenAPI schema)."""
    from app.api.factory import create_app

    return set(create_app().openapi()["paths"])


def go_duration_s(value: str) -> float:
    """Seconds in a duration as Compose normalises it (`6m0s`, `1h2m`, `30s`)."""
    seconds, number = 0.0, ""
    for char in value:
        if char.isdigit() or char == ".":
            number += char
        else:
            seconds += float(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
    return seconds


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
