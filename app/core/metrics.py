"""Prometheus metrics shared by the API and the workers. Processes started together by `plinth up`
share a metrics directory, so the API's /metrics also shows what the workers measured."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.registry import REGISTRY, Collector

from app.core.settings import get_settings

HTTP_REQUESTS = Counter("plinth_http_requests_total", "HTTP requests served", ["method", "route", "status"])
HTTP_LATENCY = Histogram("plinth_http_request_duration_seconds", "HTTP request latency", ["route"])
TASK_LATENCY = Histogram(
    "plinth_task_duration_seconds",
    "Celery task run time",
    ["task", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
ANSWERS = Counter("plinth_answers_total", "Answers stored, by mode", ["mode", "answered"])


def render(extra: list[Collector]) -> bytes:
    """The text exposition of every metric, plus collectors computed at scrape time."""
    directory = get_settings().prometheus_multiproc_dir
    registry = CollectorRegistry() if directory else REGISTRY
    if directory:
        multiprocess.MultiProcessCollector(registry, path=str(directory))
    for collector in extra:
        registry.register(collector)
    try:
        return generate_latest(registry)
    finally:
        for collector in extra:
            registry.unregister(collector)


LLM_FALLBACKS = Counter(
    "plinth_llm_fallbacks_total", "Answers given without the model's text, by why", ["kind"]
)
ANSWER_CACHE = Counter("plinth_answer_cache_total", "Answer cache lookups", ["outcome"])
BUDGET_REFUSALS = Counter("plinth_budget_refusals_total", "Questions refused by a budget or rate limit")
