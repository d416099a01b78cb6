"""Real servers for tests: a database of a test's own, and `rollcall serve` (gunicorn) on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from app.config import normalise_database_url

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fresh_database(folder: Path, label: str) -> Iterator[str]:
    """A database URL nobody else uses: a SQLite file in folder, or (with TEST_DATABASE_URL) a new
    PostgreSQL database that is dropped afterwards."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{Path(folder) / (label + '.sqlite3')}"
        return
    url = sa.make_url(normalise_database_url(server))
    name = f"rollcall_{label}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def wait_until_healthy(base: str, proc: subprocess.Popen, timeout: float, output) -> None:
    """Poll base/healthz until it answers 200; AssertionError quoting output() if the server exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"rollcall serve did not come up: {output()}")
        time.sleep(0.2)  # the poll interval, not a stand-in for readiness: the loop ends on /healthz's answer


@contextmanager
def rollcall_server(
    env: dict[str, str], log_path: Path, *, workers: int = 2, timeout: float = 60
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`rollcall serve` for the checkout under test, answering /healthz before the block runs; stopped after.

    Yields the base URL and the process (its children are the gunicorn workers). The server's output goes to
    log_path, which a failed start quotes.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from app.cli import main; main()",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env={**env, "ROLLCALL_BASE_URL": env.get("ROLLCALL_BASE_URL", base)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        log.flush()
        wait_until_healthy(base, proc, timeout, lambda: Path(log_path).read_text()[-2000:])
        yield base, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()
