"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import redis.exceptions
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from app.core import metrics
from app.core.db import session_scope
from app.core.redis import get_redis
from app.core.settings import get_settings
from app.domains.assistant import service as assistant
from app.domains.jobs import service as jobs
from workers import client, names

router = APIRouter(tags=["health"])


def _check(probe: Callable[[], str]) -> dict[str, Any]:
    try:
        return {"status": "ok", "detail": probe()}
    except Exception as exc:  # any failure of a dependency is a readiness failure, reported as such
        return {"status": "down", "detail": f"{type(exc).__name__}: {exc}"}


def _database() -> str:
    with session_scope() as session:
        session.execute(text("SELECT 1"))
    return "reachable"


def _redis() -> str:
    client = get_redis()
    client.ping()
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.exceptions.ResponseError:  # managed services may refuse CONFIG; their policy is documented
        return "reachable (eviction policy not readable)"
    if policy != "noeviction":
        raise RuntimeError(
            f"maxmemory-policy is {policy}: under memory pressure Redis would silently drop queued tasks; "
            "set it to noeviction"
        )
    return "reachable, noeviction"


def _worker() -> str:
    count = client.ping_workers(timeout_s=1.0)
    if count == 0:
        raise RuntimeError("no worker answered a ping within 1 s")
    return f"{count} worker(s) answered"


def _llm() -> dict[str, Any]:
    """Never required: without a model, answers are extractive."""
    try:
        with session_scope() as session:
            endpoints = assistant.llm_endpoints(session)
    except Exception as exc:  # the registry lives in the database, whose own check reports it
        detail = f"cannot read the model registry ({type(exc).__name__})"
        return {"status": "unknown", "detail": detail, "required": False}
    if not endpoints:
        return {"status": "not_configured", "detail": "answers are extractive", "required": False}
    healthy = assistant.llm_healthy(endpoints)
    where = ", ".join(e.base_url for e in endpoints)
    return {
        "status": "ok" if healthy else "down",
        "detail": where if healthy else f"{where}: not answering; answers fall back to extractive",
        "required": False,
    }


def readiness() -> tuple[bool, dict[str, Any]]:
    checks = {"database": _check(_database), "redis": _check(_redis), "worker": _check(_worker)}
    if not get_settings().queue.readiness_requires_worker:
        checks["worker"]["required"] = False
    ready = all(c["status"] == "ok" for c in checks.values() if c.get("required", True))
    checks["llm"] = _llm()
    return ready, checks


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz() -> JSONResponse:
    ready, checks = await run_in_threadpool(readiness)
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "not_ready", "checks": checks},
    )


class QueueDepthCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("plinth_queue_depth", "Tasks waiting in each queue", labels=["queue"])
        try:
            redis = get_redis()
            for queue in names.ALL_QUEUES:
                gauge.add_metric([queue], float(redis.llen(queue)))
        except Exception:  # noqa: S110 - a scrape must not fail because the broker is down
            pass
        yield gauge


class JobsCollector(Collector):
    """Work the broker does not hold yet (outbox) and work that failed for good (dead letters)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        unsent = GaugeMetricFamily("plinth_outbox_unsent", "Committed tasks not yet handed to the broker")
        failed = GaugeMetricFamily("plinth_failed_tasks", "Tasks in the failed-task table awaiting replay")
        try:
            with session_scope() as session:
                unsent.add_metric([], float(jobs.outbox_backlog(session)))
                failed.add_metric([], float(jobs.failed_count(session)))
        except Exception:  # noqa: S110 - a scrape must not fail because the database is down
            pass
        yield unsent
        yield failed


@router.get("/metrics")
async def metrics_endpoint() -> Response:
    body = await run_in_threadpool(metrics.render, [QueueDepthCollector(), JobsCollector()])
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
