"""The Helm chart, rendered by Helm's own template engine (the Helm 4 Go SDK in helm-python-sdk, offline)
and every manifest validated against the Kubernetes OpenAPI schemas (kubernetes-validate, strict), then
checked for what it refers to: commands, settings, probes, budgets, scaling, the GPU pool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tests.support import deployment
from tests.support.deployment import CHART, IMAGE_SCRIPTS
from workers import names
from workers.celery_app import app as celery_app

KUBERNETES_VERSION = "1.30.0"
RELEASE = "acme"
SECRETS = {"PLINTH_DATABASE_URL": "postgresql://app@db/plinth", "PLINTH_API_TOKEN": "t"}

VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "trial-secrets": {"secrets": {"values": SECRETS}},
    "keda": {
        "secrets": {"existingSecret": "plinth-env"},
        "migration": {"existingSecret": "plinth-owner"},
        "keys": {"existingSecret": "plinth-keys"},
        "persistence": {"existingClaim": "plinth-home"},
        "workers": {
            "answers": {"autoscaling": {"mode": "keda"}},
            "ingest": {"autoscaling": {"mode": "keda", "minReplicas": 0}},
        },
        "keda": {"passwordSecret": {"name": "redis", "key": "password"}},
        "ingress": {"enabled": True, "className": "nginx", "tlsSecretName": "plinth-tls"},
    },
    "hpa-external-llm": {
        "workers": {"answers": {"autoscaling": {"mode": "hpa"}}},
        "vllm": {"enabled": False},
        "llm": {"externalBaseUrl": "https://llm.internal/v1", "model": "qwen"},
        "smtp": {"enabled": False},
        "config": {"PLINTH_WORKER_CONCURRENCY": 4, "PLINTH_RETRIEVAL_TOP_K": "8"},
    },
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=RELEASE, namespace="plinth", is_install=True)
    return [
        doc
        for path, text in sorted(rendered.items())
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(VARIANTS[request.param])


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(docs, kind, name)
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def plinth_containers(docs: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container["image"].startswith("plinth:"):
                    yield doc, container


def test_helm_lint_finds_no_error() -> None:
    report = helm.lint(str(CHART), {"secrets": {"values": SECRETS}}, strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_every_manifest_matches_the_kubernetes_schema(variant: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = variant
    for doc in docs:
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # KEDA's kinds are not in the Kubernetes schemas: checked below
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_itself_refuses_a_bad_manifest() -> None:
    deployment_doc = one(render({}), "Deployment", f"{RELEASE}-plinth-beat")
    deployment_doc["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment_doc, KUBERNETES_VERSION, strict=True)


def test_values_schema_refuses_what_would_break() -> None:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema()
        for bad in (
            {"config": {"LOG_LEVEL": "DEBUG"}},
            {"workers": {"answers": {"autoscaling": {"mode": "sometimes"}}}},
            {"workers": {"answers": {"queues": ["urgent"]}}},
            {"podSecurityContext": {"runAsNonRoot": False}},
            {"replicas": 3},
        ):
            with pytest.raises(helm.HelmValuesError):
                chart.validate_schema(bad)


def test_one_deployment_per_process_type(variant: tuple[str, list[dict[str, Any]]]) -> None:
    name, docs = variant
    deployments = {d["metadata"]["name"].removeprefix(f"{RELEASE}-plinth-") for d in find(docs, "Deployment")}
    expected = {"api", "worker-answers", "worker-ingest", "beat"}
    expected |= {"smtp"} if name != "hpa-external-llm" else set()
    expected |= {"vllm"} if name != "hpa-external-llm" else set()
    assert deployments == expected


def test_beat_runs_exactly_once(variant: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = variant
    beat = one(docs, "Deployment", f"{RELEASE}-plinth-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert not [
        d
        for d in docs
        if d["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
        and d["spec"]["scaleTargetRef"]["name"].endswith("-beat")
    ]


def test_commands_are_real_plinth_commands(variant: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = variant
    for _, container in plinth_containers(docs):
        context = deployment.check_plinth_command(container["args"])
        if context.info_name == "worker":
            assert set(deployment.queues_of(context)) <= set(names.ALL_QUEUES)


def test_worker_pools_cover_every_queue() -> None:
    covered: set[str] = set()
    for _doc, container in plinth_containers(render({})):
        if container["args"][0] == "worker":
            covered |= set(deployment.queues_of(deployment.check_plinth_command(container["args"])))
    assert covered == set(names.ALL_QUEUES)


def test_settings_are_real_and_valid(variant: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = variant
    for config in find(docs, "ConfigMap"):
        deployment.check_settings(config["data"])
    for secret in find(docs, "Secret"):
        deployment.check_settings(secret.get("stringData") or {})
    for _, container in plinth_containers(docs):
        env = {e["name"]: e.get("value", "from-a-secret") for e in container.get("env", [])}
        deployment.check_settings(env)


def test_settings_follow_the_chart(variant: tuple[str, list[dict[str, Any]]]) -> None:
    name, docs = variant
    data = one(docs, "ConfigMap", f"{RELEASE}-plinth-config")["data"]
    assert data["PLINTH_HOME"] == "/var/lib/plinth"
    if name == "hpa-external-llm":
        assert data["PLINTH_LLM_BASE_URL"] == "https://llm.internal/v1"
        assert data["PLINTH_LLM_MODEL"] == "qwen"
        assert data["PLINTH_WORKER_CONCURRENCY"] == "4"
    else:
        vllm = one(docs, "Service", f"{RELEASE}-plinth-vllm")
        assert (
            data["PLINTH_LLM_BASE_URL"]
            == f"http://{vllm['metadata']['name']}:{vllm['spec']['ports'][0]['port']}/v1"
        )


def test_probes_point_at_the_real_endpoints(variant: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = variant
    routes = deployment.app_routes()
    api = one(docs, "Deployment", f"{RELEASE}-plinth-api")["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {api["livenessProbe"]["httpGet"]["path"], api["readinessProbe"]["httpGet"]["path"]} <= routes
    port = {p["name"]: p["containerPort"] for p in api["ports"]}[api["readinessProbe"]["httpGet"]["port"]]
    data = one(docs, "ConfigMap", f"{RELEASE}-plinth-config")["data"]
    assert str(port) == data["PLINTH_API_PORT"]
    for doc, container in plinth_containers(docs):
        if container["args"][0] == "worker":
            command = container["livenessProbe"]["exec"]["command"]
            assert command == [f"{IMAGE_SCRIPTS}/healthcheck.sh", "worker"], doc["metadata"]["name"]


def test_disruption_budgets_cover_api_and_workers(variant: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = variant
    budgets = find(docs, "PodDisruptionBudget")
    for component in ("api", "worker-answers", "worker-ingest"):
        pods = one(docs, "Deployment", f"{RELEASE}-plinth-{component}")["spec"]["template"]["metadata"][
            "labels"
        ]
        matching = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= pods.items()]
        assert len(matching) == 1, component
        assert matching[0]["spec"]["maxUnavailable"] >= 1  # a drain can always proceed


def test_processes_run_locked_down(variant: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = variant
    for doc, container in plinth_containers(docs):
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/var/lib/plinth", "/tmp"} <= mounts


def test_workers_finish_their_tasks_before_they_stop(variant: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = variant
    for doc, container in plinth_containers(docs):
        if container["args"][0] == "worker":
            grace = doc["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            assert grace > float(celery_app.conf.task_time_limit)


def test_migrations_run_as_a_hook_before_the_processes(variant: tuple[str, list[dict[str, Any]]]) -> None:
    name, docs = variant
    job = one(docs, "Job", f"{RELEASE}-plinth-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["migrate"]
    env = {e["name"]: e for e in container["env"]}
    if name == "keda":
        assert env["PLINTH_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "plinth-owner"
        assert not find(docs, "Secret")
    else:
        secret = one(docs, "Secret", f"{RELEASE}-plinth-secrets")
        weight = int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
        assert weight < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]  # not created yet on install


def test_workers_scale_on_queue_depth_with_keda() -> None:
    docs = render(VARIANTS["keda"])
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in find(docs, "ScaledObject")}
    assert set(scaled) == {f"{RELEASE}-plinth-worker-answers", f"{RELEASE}-plinth-worker-ingest"}
    for target, obj in scaled.items():
        pool = one(docs, "Deployment", target)
        assert "replicas" not in pool["spec"]  # the autoscaler owns it
        queues = deployment.queues_of(
            deployment.check_plinth_command(pool["spec"]["template"]["spec"]["containers"][0]["args"])
        )
        assert [t["metadata"]["listName"] for t in obj["spec"]["triggers"]] == queues
        for trigger in obj["spec"]["triggers"]:
            assert trigger["type"] == "redis"
            assert all(isinstance(v, str) for v in trigger["metadata"].values())  # KEDA takes strings only
            assert trigger["authenticationRef"]["name"] == f"{RELEASE}-plinth-redis"
        assert obj["spec"]["maxReplicaCount"] >= obj["spec"]["minReplicaCount"]
    auth = one(docs, "TriggerAuthentication", f"{RELEASE}-plinth-redis")
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "password", "name": "redis", "key": "password"}]


def test_workers_fall_back_to_a_cpu_autoscaler() -> None:
    docs = render(VARIANTS["hpa-external-llm"])
    (hpa,) = find(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"{RELEASE}-plinth-worker-answers",
    }
    assert "replicas" not in one(docs, "Deployment", f"{RELEASE}-plinth-worker-answers")["spec"]
    assert one(docs, "Deployment", f"{RELEASE}-plinth-worker-ingest")["spec"]["replicas"] == 1


def test_vllm_runs_on_the_gpu_pool() -> None:
    docs = render({})
    pod = one(docs, "Deployment", f"{RELEASE}-plinth-vllm")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    key = {e["name"]: e for e in container["env"]}["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert key["key"] == "PLINTH_LLM_API_KEY"


def test_keys_and_home_come_from_what_the_operator_names() -> None:
    docs = render(VARIANTS["keda"])
    assert not find(docs, "PersistentVolumeClaim")
    api = one(docs, "Deployment", f"{RELEASE}-plinth-api")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in api["volumes"]}
    assert volumes["home"]["persistentVolumeClaim"]["claimName"] == "plinth-home"
    assert volumes["keys"]["secret"]["secretName"] == "plinth-keys"
    ingress = one(docs, "Ingress", f"{RELEASE}-plinth")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == f"{RELEASE}-plinth-api"
