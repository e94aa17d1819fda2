"""A shared Redis client for health checks, queue depth and locks (Celery keeps its own connections)."""

from __future__ import annotations

import redis

from app.core.settings import get_settings, settings_scoped


@settings_scoped
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(
        get_settings().require_redis_url(),
        socket_connect_timeout=2,
        socket_timeout=2,
        health_check_interval=30,
    )
