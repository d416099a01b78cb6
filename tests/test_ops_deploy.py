"""deploy/ agrees with the app: the environment example names every setting, nginx takes the largest upload, the
units run the commands that exist; and `rollcall serve`'s Prometheus directory is emptied or made as documented."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.config import Config
from app.ops import metrics

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def settings_read_by_the_app() -> set[str]:
    """Environment variables app/config.py reads, and those the commands take options from (envvar=)."""
    config = (ROOT / "app" / "config.py").read_text()
    names = set(re.findall(r'env(?:\.get\(|\[)"([A-Z][A-Z0-9_]+)"', config))
    names |= set(re.findall(r'\("[A-Z0-9_]+", "([A-Z][A-Z0-9_]+)"\)', config))
    commands = (ROOT / "app" / "commands.py").read_text()
    names |= set(re.findall(r'envvar="([A-Z][A-Z0-9_]+)"', commands))
    return names


def test_the_environment_example_names_every_setting():
    example = (DEPLOY / "rollcall.env.example").read_text()
    listed = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    read = settings_read_by_the_app()
    assert {"SECRET_KEY", "DATABASE_URL", "ROLLCALL_PROXY_HOPS", "ROLLCALL_METRICS_ALLOW"} <= read
    missing = sorted(read - listed)
    assert missing == [], f"add these to deploy/rollcall.env.example, each with a comment: {missing}"
    # Each setting has a comment line somewhere above it, in its group.
    lines = example.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^#?[A-Z][A-Z0-9_]+=", line):
            above = lines[max(0, i - 6) : i]
            assert any(a.startswith("# ") for a in above), f"no comment above {line!r}"


def test_nginx_takes_the_largest_upload_and_no_more_than_a_little_beyond():
    conf = (DEPLOY / "nginx" / "rollcall.conf").read_text()
    (size,) = re.findall(r"client_max_body_size (\d+)m;", conf)
    limit = Config.IMPORT_MAX_CONTENT_LENGTH
    assert limit <= int(size) * 1024 * 1024 <= limit + 2 * 1024 * 1024


def test_the_units_run_the_commands_and_give_each_server_its_metrics_folder():
    web = (DEPLOY / "systemd" / "rollcall-web@.service").read_text()
    assert "ExecStart=/srv/rollcall/.venv/bin/rollcall serve --bind 127.0.0.1:%i" in web
    assert "RuntimeDirectory=rollcall-web-%i" in web
    assert "Environment=PROMETHEUS_MULTIPROC_DIR=/run/rollcall-web-%i" in web
    worker = (DEPLOY / "systemd" / "rollcall-worker.service").read_text()
    assert "rollcall worker" in worker and "KillSignal=SIGINT" in worker  # huey finishes running jobs on SIGINT
    conf = (DEPLOY / "nginx" / "rollcall.conf").read_text()
    for port in re.findall(r"127\.0\.0\.1:(\d+)", conf):
        assert port in ("8001", "8002")
    assert "systemctl enable --now rollcall-web@8001 rollcall-web@8002" in (ROOT / "README.md").read_text()


def test_serve_empties_the_named_metrics_folder(tmp_path, monkeypatch):
    (tmp_path / "counter_123.db").write_bytes(b"old counts")
    (tmp_path / "keep.txt").write_text("not ours")
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    assert metrics.prepare_multiproc_dir({}) == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(("settings", "made"), [({"METRICS_ALLOW": "127.0.0.1"}, True), ({}, False)])
def test_serve_makes_a_metrics_folder_only_when_metrics_are_on(monkeypatch, settings, made):
    # Set, then unset, through monkeypatch: what prepare_multiproc_dir sets is then taken away after the test.
    monkeypatch.setenv(metrics.MULTIPROC_ENV, "")
    monkeypatch.delenv(metrics.MULTIPROC_ENV)
    found = metrics.prepare_multiproc_dir(settings)
    assert (found is not None) is made
    if made:
        assert os.environ[metrics.MULTIPROC_ENV] == str(found) and found.is_dir()
        found.rmdir()
