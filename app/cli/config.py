"""`plinth config show [KEY]`: the effective settings, secrets masked."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url

from app.core.settings import get_settings

cli = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)

MASK = "********"


def _display(key: str, value: Any) -> str:
    if isinstance(value, SecretStr):
        raw = value.get_secret_value()
        if key.endswith("_url"):
            # A URL is shown with only its password hidden, so it can still be used (e.g. with psql).
            try:
                url = make_url(raw)
            except Exception:
                return MASK
            return url.render_as_string(hide_password=True) if url.password else raw
        return MASK
    return "" if value is None else str(value)


def flatten(model: BaseModel, prefix: str = "") -> dict[str, str]:
    rows: dict[str, str] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            rows.update(flatten(value, f"{key}."))
        else:
            rows[key] = _display(key, value)
    return rows


def _normalise(key: str) -> str:
    key = key.strip().lower()
    return key.removeprefix("plinth_")


@cli.command()
def show(
    key: str = typer.Argument(None, help="One key, e.g. database_url, llm.base_url, PLINTH_LLM_BASE_URL."),
) -> None:
    """Print the effective settings (secrets masked)."""
    rows = flatten(get_settings())
    if key is None:
        for name, value in rows.items():
            typer.echo(f"{name} = {value}")
        return
    wanted = _normalise(key)
    for name, value in rows.items():
        if wanted in (name, name.replace(".", "_")):
            typer.echo(value)
            return
    typer.echo(f"error: unknown setting {key!r}", err=True)
    raise typer.Exit(2)
