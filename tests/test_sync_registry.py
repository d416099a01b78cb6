"""Sync event types are registered in one place at start-up (app.services.events), never by importing a module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app import permissions
from app.services import sync as sync_service

# The event types POST /api/v1/sync takes, and the capability each needs (the pages and API name the same one).
DOCUMENTED = {
    "scan": "scan",
    "audit.start": "audits.run",
    "audit.close": "audits.run",
    "audit.condition": "audits.run",
    "audit.move": "audits.run",
    "loan.checkout": "desk",
    "loan.checkin": "desk",
    "collect.return": "desk",
    "report.damage": "tickets.work",
    "claim.receive": "repairs.work",
    "claim.ship": "repairs.work",
    "asset.mark_found": "assets.edit",
}
ROOT = Path(__file__).resolve().parent.parent


def test_the_app_registers_exactly_the_documented_event_types(app):
    assert {name: reg.needs for name, reg in sync_service.HANDLERS.items()} == DOCUMENTED
    assert set(DOCUMENTED.values()) <= set(permissions.CAPABILITIES)
    scan = sync_service.HANDLERS["scan"]
    assert scan.bulk is not None and scan.prefetch is not None


def test_importing_every_module_registers_nothing_until_register_all():
    # A fresh interpreter: this one's table was filled by create_app already.
    script = """
import importlib, pkgutil
import app.services, app.views
for package in (app.services, app.views):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
from app.services.sync import HANDLERS
print("after imports:", sorted(HANDLERS))
from app.services.events import register_all
register_all()
print("after register_all:", sorted(HANDLERS))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out == ["after imports: []", f"after register_all: {sorted(DOCUMENTED)}"]
