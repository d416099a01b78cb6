"""The job queue (huey: SQLite storage in instance/ by default, Redis when ROLLCALL_QUEUE_URL names one) and its
handlers' registry; `core` holds the queue itself, `imports` the import jobs, `worker` the `rollcall worker`
command. Long work is a job: the caller parks what it needs in the database, submits, and shows its progress."""

from __future__ import annotations

from flask import Flask

from app.jobs import core, google_sync, imports, mail, webhooks, worker
from app.jobs.core import (
    HANDLERS,
    MAX_ATTEMPTS,
    Context,
    can_see,
    execute,
    handler,
    latest,
    live,
    queue,
    recover,
    retry,
    submit,
)

__all__ = [
    "HANDLERS",
    "MAX_ATTEMPTS",
    "can_see",
    "Context",
    "execute",
    "google_sync",
    "handler",
    "imports",
    "init_app",
    "latest",
    "live",
    "mail",
    "queue",
    "recover",
    "retry",
    "submit",
    "webhooks",
]


def init_app(app: Flask) -> None:
    """Enqueue jobs as their transactions commit, and add `rollcall worker` to the app's commands."""
    core.init_app(app)
    webhooks.init_app(app)
    app.cli.add_command(worker.worker)
