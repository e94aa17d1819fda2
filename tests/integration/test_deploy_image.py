"""The container image without a Docker engine: the Dockerfile's structure and what it copies, the
package it installs (built here as a wheel, migrations included), and its entry point and health check
run against real processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pathspec
import pytest
from alembic.script import ScriptDirectory

from app.runtime.migrate import SCRIPT_LOCATION
from app.runtime.postgres import free_port
from app.runtime.processes import ManagedProcess
from tests.support import deployment
from tests.support.deployment import DEPLOY, IMAGE_SCRIPTS, REPO
from tests.support.processes import plinth_env

DOCKERFILE = deployment.read(DEPLOY / "Dockerfile")
BIN = Path(sys.executable).parent


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    rows = []
    for raw_line in joined.splitlines():
        line = raw_line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def test_multi_stage_slim_and_non_root() -> None:
    builder, runtime = stages()
    assert builder[0][1].endswith("AS builder")
    assert runtime[0][1].endswith("AS runtime")
    assert "slim" in re.search(r"ARG PYTHON_IMAGE=(\S+)", DOCKERFILE).group(1)  # type: ignore[union-attr]
    assert any(k == "RUN" and "build-essential" in r for k, r in builder)
    assert not any(k == "RUN" and "build-essential" in r for k, r in runtime)
    users = [r for k, r in runtime if k == "USER"]
    assert users
    assert users[-1].split(":")[0].isdigit()
    assert users[-1].split(":")[0] != "0"
    assert any(k == "HEALTHCHECK" and "healthcheck.sh" in r for k, r in runtime)
    entrypoint = next(r for k, r in runtime if k == "ENTRYPOINT")
    assert f"{IMAGE_SCRIPTS}/entrypoint.sh" in entrypoint
    assert '"plinth"' in entrypoint


def test_torch_is_the_pinned_cpu_build() -> None:
    builder = stages()[0]
    installs = [r for k, r in builder if k == "RUN" and "torch" in r]
    assert installs == ['pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0']
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in DOCKERFILE
    makefile = deployment.read(REPO / "Makefile")
    assert "torch==2.13.0" in makefile  # the same pin as the Makefile
    # torch is installed before the project, so the project's install never pulls another build
    rows = [r for k, r in builder if k == "RUN"]
    assert rows.index(installs[0]) < next(i for i, r in enumerate(rows) if "-c constraints.txt ." in r)


def test_no_secret_is_baked_in() -> None:
    known = deployment.setting_names()
    for keyword, rest in instructions():
        if keyword in ("ENV", "ARG"):
            for name in re.findall(r"(PLINTH_[A-Z0-9_]+)=", rest):
                assert name in known, f"{name} is not a setting"
                assert not known[name], f"{name} is a secret: it must not be in the image"
    env = dict(re.findall(r"(PLINTH_[A-Z0-9_]+)=(\S+)", DOCKERFILE))
    deployment.check_settings(env)


def test_everything_copied_exists_and_is_not_ignored() -> None:
    ignore = pathspec.PathSpec.from_lines("gitignore", deployment.read(REPO / ".dockerignore").splitlines())
    for keyword, rest in instructions():
        if keyword != "COPY" or "--from=" in rest:
            continue
        sources = [part for part in rest.split() if not part.startswith("--")][:-1]
        for source in sources:
            assert (REPO / source).exists(), source
            assert not ignore.match_file(source), f"{source} is excluded by .dockerignore"
    for kept_out in (".venv/bin/python", ".git/HEAD", ".plinth/keys/api-token", "deploy/secrets/api_token"):
        assert ignore.match_file(kept_out), kept_out


def test_the_installed_package_carries_its_migrations(tmp_path: Path) -> None:
    """What `pip install .` puts in the image: a wheel whose migrations Alembic can read."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("plinth-*.whl")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    for package in ("app", "audit", "integrations", "migrations", "rag", "workers"):
        assert (unpacked / package / "__init__.py").is_file(), package
    installed = ScriptDirectory(str(unpacked / "migrations"))
    source = ScriptDirectory(str(SCRIPT_LOCATION))
    assert {r.revision for r in installed.walk_revisions()} == {r.revision for r in source.walk_revisions()}
    assert installed.get_heads() == source.get_heads()


def run_script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {"PATH": f"{BIN}:/usr/bin:/bin", **env}
    return subprocess.run(["sh", *args], env=full, capture_output=True, text=True, check=False, timeout=120)


def test_entrypoint_turns_secret_files_into_settings(tmp_path: Path) -> None:
    (tmp_path / "PLINTH_LOG_LEVEL").write_text("DEBUG\n")
    (tmp_path / "not-a-variable").write_text("ignored")
    env = {"SECRETS_DIR": str(tmp_path), "PLINTH_HOME": str(tmp_path / "home")}
    done = run_script(
        str(DEPLOY / "entrypoint.sh"), str(BIN / "plinth"), "config", "show", "log_level", env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("DEBUG")
    both = run_script(str(DEPLOY / "entrypoint.sh"), "true", env={**env, "PLINTH_LOG_LEVEL": "INFO"})
    assert both.returncode == 64
    assert "PLINTH_LOG_LEVEL is set both" in both.stderr


@pytest.fixture
def api_process(tmp_path: Path) -> Iterator[tuple[ManagedProcess, int]]:
    port = free_port()
    env = plinth_env({"PLINTH_HOME": str(tmp_path / "home"), "PLINTH_API_PORT": str(port)})
    api = ManagedProcess("api", [sys.executable, "-m", "app.cli", "api"], env, tmp_path / "api.log")
    api.start()
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            if api.exited() is not None or time.monotonic() > deadline:
                api.stop()
                raise RuntimeError((tmp_path / "api.log").read_text()) from None
            time.sleep(0.2)
    yield api, port
    api.stop()


def test_healthcheck_of_the_api(api_process: tuple[ManagedProcess, int]) -> None:
    api, port = api_process
    healthy = run_script(str(DEPLOY / "healthcheck.sh"), "api", env={"PLINTH_API_PORT": str(port)})
    assert healthy.returncode == 0, healthy.stderr
    api.stop()
    down = run_script(str(DEPLOY / "healthcheck.sh"), "api", env={"PLINTH_API_PORT": str(port)})
    assert down.returncode != 0


def test_healthcheck_of_the_smtp_listener() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = str(listener.getsockname()[1])
        up = run_script(str(DEPLOY / "healthcheck.sh"), "smtp", env={"PLINTH_EMAIL_LISTEN_PORT": port})
        assert up.returncode == 0, up.stderr
    down = run_script(str(DEPLOY / "healthcheck.sh"), "smtp", env={"PLINTH_EMAIL_LISTEN_PORT": port})
    assert down.returncode != 0


def test_scripts_are_executable_and_posix() -> None:
    for script in ("entrypoint.sh", "healthcheck.sh", "prestart.sh", "init-secrets.sh"):
        path = DEPLOY / script
        assert os.access(path, os.X_OK), script
        assert path.read_text().startswith("#!/bin/sh") or path.read_text().startswith("#!/usr/bin/env sh")
        done = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
