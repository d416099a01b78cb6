"""Prometheus metrics (prometheus_client): requests by route and status with their latency, sync events by type and
result, and, read when scraped, the queue's depth and the jobs by kind and outcome.

Under gunicorn each worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (the systemd units and `rollcall
serve` set it), each writes its counts to files there and a scrape of any worker adds them all up.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Upper bounds in seconds: pages and API calls sit well under a second; imports and exports stream for longer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "rollcall_http_requests", "HTTP requests answered, by route (the URL rule), method and status.",
    ["route", "method", "status"],
)  # fmt: skip
LATENCY = Histogram(
    "rollcall_http_request_duration_seconds", "Time to answer an HTTP request, by route and method.",
    ["route", "method"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
SYNC_EVENTS = Counter(
    "rollcall_sync_events", "Outbox events answered by POST /api/v1/sync, by event type and result "
    "(applied, duplicate, rejected); counted once their batch is committed.", ["type", "status"],
)  # fmt: skip


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def count_sync(events: Iterable[Any], statuses: Iterable[str], known: Iterable[str]) -> None:
    """Count a committed batch's answers by the events' types; a type the server does not know (or no type) is
    counted as `unknown`, so a phone cannot grow the label set."""
    registered = set(known)
    for event, status in zip(events, statuses, strict=False):
        kind = event.get("type") if isinstance(event, dict) else None
        SYNC_EVENTS.labels(kind if isinstance(kind, str) and kind in registered else "unknown", status).inc()


class QueueCollector(Collector):
    """Read at scrape time, from the queue and the jobs table, so every app server and worker agree: the messages
    waiting on the queue, and job records by kind and status (queued, running, done, failed)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        from app import jobs
        from app.extensions import db
        from app.models import Job

        pending = GaugeMetricFamily("rollcall_queue_pending", "Messages waiting on the job queue.")
        pending.add_metric([], float(jobs.queue(self.app).huey.pending_count()))
        yield pending
        by_kind = GaugeMetricFamily("rollcall_jobs", "Job records by kind and status.", labels=["kind", "status"])
        rows = db.session.execute(sa.select(Job.kind, Job.status, sa.func.count()).group_by(Job.kind, Job.status))
        for kind, status, n in rows:
            by_kind.add_metric([kind, getattr(status, "value", str(status))], float(n))
        db.session.rollback()
        yield by_kind


def exposition(app: Flask) -> tuple[bytes, str]:
    """The metrics text and its content type: every worker's counts (multiprocess mode) or this process's."""
    from prometheus_client import REGISTRY, multiprocess

    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
        own = b""
    else:
        own = generate_latest(REGISTRY)
    registry.register(QueueCollector(app))
    return own + generate_latest(registry), CONTENT_TYPE_LATEST


# --- who may read /metrics -------------------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks(text: str) -> list[Network]:
    """ROLLCALL_METRICS_ALLOW read as networks (`127.0.0.1/32, 10.0.0.0/8`; a bare address is one host)."""
    nets = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"ROLLCALL_METRICS_ALLOW must list networks such as 10.0.0.0/8: {part!r}") from None
    return nets


def enabled(config: Any) -> bool:
    return bool(config.get("METRICS_ALLOW", "").strip() or config.get("METRICS_TOKEN"))


def may_read(config: Any, remote_addr: str | None, authorization: str | None) -> bool:
    """Whether a scrape is let in: from an allowed network, or with `Authorization: Bearer <METRICS_TOKEN>`."""
    token = config.get("METRICS_TOKEN") or ""
    scheme, _, given = (authorization or "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    try:
        addr = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(addr in net for net in allowed_networks(config.get("METRICS_ALLOW", "")))


# --- gunicorn's side -------------------------------------------------------------------------------------------


def prepare_multiproc_dir(config: Any) -> Path | None:
    """Before gunicorn starts: empty the PROMETHEUS_MULTIPROC_DIR it names (counts from an earlier run would be
    added to this one's), or, when metrics are on and none is named, make one in the temporary directory."""
    named = os.environ.get(MULTIPROC_ENV)
    if named:
        path = Path(named)
        if path.is_dir():
            for old in path.glob("*.db"):
                old.unlink()
        path.mkdir(parents=True, exist_ok=True)
        return path
    if not enabled(config):
        return None
    path = Path(tempfile.mkdtemp(prefix="rollcall-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit: let go of the files of a worker that has stopped."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
