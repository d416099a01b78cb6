"""Request ids and structured logs: with ROLLCALL_LOG_FORMAT=json every log record, and one line per request, is
a JSON object on standard error (gunicorn's error log), ready for a log shipper."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import g, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_LOG = logging.getLogger("rollcall.request")
# What a proxy's X-Request-ID may hold to be kept (nginx's $request_id is 32 hex digits); anything else is
# replaced, so a client cannot write arbitrary text into the logs.
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def request_id(given: str | None) -> str:
    """The proxy's request id when it looks like one, else a new one."""
    if given and REQUEST_ID_RE.fullmatch(given):
        return given
    return uuid.uuid4().hex


class _Stderr(logging.Handler):
    """Writes each record to whatever sys.stderr is at the time (gunicorn and pytest both swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging must never break a request
            self.handleError(record)


def formatter() -> logging.Formatter:
    """JSON objects with the time (ISO 8601 UTC), level and logger's name first, then the record's own fields."""
    fmt = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%SZ",
    )
    fmt.converter = time.gmtime
    return fmt


def use_json() -> None:
    """Send every log record through one JSON handler on the root logger (added once per process)."""
    root = logging.getLogger()
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(formatter())
        root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    REQUEST_LOG.setLevel(logging.INFO)


def log_request(route: str, status: int, seconds: float) -> None:
    """One line for the request being answered: its id, who (a user id, only when the request loaded one), the
    route's rule (never the raw path, which can carry names and codes), method, status and time taken."""
    user = g.get("_login_user")  # loaded by Flask-Login only when the request needed it; never loaded here
    REQUEST_LOG.info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "user_id": user.id if getattr(user, "is_authenticated", False) else None,
            "method": request.method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "remote_addr": request.remote_addr,
        },
    )
