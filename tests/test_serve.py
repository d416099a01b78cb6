"""`rollcall serve` on one host: what it warns about at start-up, and a gunicorn control socket of its own or none."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port, wait_until_healthy

pytestmark = pytest.mark.slow

LIMITS_WARNING = "sign-in and report limits are per worker"


def _env(tmp_path: Path, env_name: str, **extra: str) -> dict[str, str]:
    """A server's environment: its own HOME (where gunicorn's default control socket would go), an empty SQLite
    file (enough for /healthz), and no XDG_RUNTIME_DIR, so the default would be HOME's."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "ROLLCALL_", "RATELIMIT_", "TEST_DATABASE")) and k != "XDG_RUNTIME_DIR"
    }
    env.update(
        {
            "HOME": str(home),
            "ROLLCALL_ENV": env_name,
            "SECRET_KEY": secrets.token_hex(32),
            "ROLLCALL_BASE_URL": "https://rollcall.example.org",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
            **extra,
        }
    )
    return env


def _serve(env: dict[str, str], workers: int, out: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-c", "from app.cli import main; main()", "serve"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    with open(out.with_suffix(".stdout"), "wb") as stdout, open(out.with_suffix(".stderr"), "wb") as stderr:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


@contextmanager
def serving(env: dict[str, str], out: Path, *, workers: int = 1) -> Iterator[subprocess.Popen]:
    """`rollcall serve`, answering /healthz before the block runs; its stdout and stderr go to two files."""
    proc, base = _serve(env, workers, out)
    try:
        wait_until_healthy(base, proc, 60, lambda: out.with_suffix(".stderr").read_text())
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _stderr(out: Path) -> str:
    return out.with_suffix(".stderr").read_text()


def test_two_servers_on_one_host_never_share_a_control_socket(tmp_path):
    own = tmp_path / "first.ctl"
    first_out, second_out, third_out = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    with (
        serving(_env(tmp_path, "production", ROLLCALL_CONTROL_SOCKET=str(own)), first_out),
        serving(_env(tmp_path, "development"), second_out, workers=2),
    ):
        assert own.is_socket(), "the socket the first server was given"
        status = subprocess.run(
            [str(Path(sys.executable).parent / "gunicornc"), "-s", str(own), "-c", "show workers", "-j"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert status.returncode == 0 and status.stdout.count('"pid"') == 1, "it answers for the one-worker server"
        assert not (tmp_path / "home" / ".gunicorn").exists(), "the second made none in the shared default place"

        # A third start naming the first's socket would take it over (and delete it when it stopped): refused.
        proc, _ = _serve(_env(tmp_path, "development", ROLLCALL_CONTROL_SOCKET=str(own)), 1, third_out)
        assert proc.wait(60) != 0
        assert f"Another server is using the control socket {own}" in _stderr(third_out)
        assert own.is_socket()

    # Production warns even with one worker (several servers count apart too); two workers warn anywhere.
    assert LIMITS_WARNING in _stderr(first_out) and "1 worker(s)" in _stderr(first_out)
    assert LIMITS_WARNING in _stderr(second_out) and "2 worker(s)" in _stderr(second_out)
    assert "RATELIMIT_STORAGE_URI=redis://" in _stderr(second_out)
    assert LIMITS_WARNING not in first_out.with_suffix(".stdout").read_text(), "on stderr"
    assert LIMITS_WARNING not in _stderr(third_out), "development with one worker: one count, nothing to say"


def test_shared_limiter_storage_means_no_warning(tmp_path):
    """With Redis named, nothing to warn about (the app only connects to it when a limit is checked)."""
    out = tmp_path / "redis"
    with serving(_env(tmp_path, "production", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379"), out, workers=2):
        pass
    assert LIMITS_WARNING not in _stderr(out)
