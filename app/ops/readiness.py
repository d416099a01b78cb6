"""The readiness check behind /readyz: can this server do its work right now? The database answers, every Redis the
settings name (rate limits, the job queue) answers, and the queue can be read. Each check is bounded by a short
timeout, so a dead dependency makes the answer 503 quickly rather than hanging the probe."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask

# Seconds a Redis may take to accept a connection and to answer PING.
REDIS_TIMEOUT = 1.0
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass
class Check:
    """One check's outcome: what failed is named by its exception's class only (no addresses, no data)."""

    name: str
    ok: bool
    ms: float
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "ms": self.ms, **self.info}
        if self.error:
            out["error"] = self.error
        return out


def _timed(name: str, probe: Callable[[], dict[str, Any] | None]) -> Check:
    started = time.perf_counter()
    try:
        info = probe() or {}
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency is "not ready", named by its class
        return Check(name, False, _ms(started), type(exc).__name__)
    return Check(name, True, _ms(started), info=info)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _ping_redis(url: str) -> None:
    import redis

    with redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT) as client:
        client.ping()


def _database() -> None:
    from app.extensions import db

    try:
        db.session.execute(sa.text("SELECT 1"))
    finally:
        db.session.rollback()


def _rate_limits(url: str) -> Callable[[], None]:
    def probe() -> None:
        if url.startswith(REDIS_SCHEMES):
            _ping_redis(url)
            return
        from app.extensions import limiter

        if not limiter.storage.check():
            raise ConnectionError("storage check failed")

    return probe


def _queue(app: Flask) -> Callable[[], dict[str, Any]]:
    def probe() -> dict[str, Any]:
        from app import jobs

        url = app.config.get("QUEUE_URL") or ""
        if url.startswith(REDIS_SCHEMES):
            _ping_redis(url)  # bounded; huey's own connection waits as long as the network does
        return {"pending": jobs.queue(app).huey.pending_count()}

    return probe


def run(app: Flask) -> list[Check]:
    """Every check that applies to this configuration, in a fixed order."""
    checks = [_timed("database", _database)]
    limits = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if not limits.startswith("memory://"):
        checks.append(_timed("rate_limits", _rate_limits(limits)))
    checks.append(_timed("queue", _queue(app)))
    return checks
