"""The state file `plinth up` writes while it runs, so that other commands on the same PLINTH_HOME find
the servers it started (and `plinth config show database_url` prints the embedded server's URL)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class RuntimeState:
    supervisor_pid: int
    database_url: str | None
    redis_url: str | None
    api_url: str | None


def _path(home: Path) -> Path:
    return home / "run" / "runtime.json"


def read(home: Path) -> RuntimeState | None:
    """The state of a live `plinth up` on this home, or None."""
    try:
        state = RuntimeState(**json.loads(_path(home).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return state if psutil.pid_exists(state.supervisor_pid) else None


def write(home: Path, state: RuntimeState) -> None:
    path = _path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    os.replace(tmp, path)


def clear(home: Path) -> None:
    _path(home).unlink(missing_ok=True)
