"""Blueprints, one per feature, registered on the app in one place."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

# Each module defines `bp` at its top. Order matters only for readability.
BLUEPRINTS = (
    "auth",
    "dashboard",
    "assets",
    "activity",
    "people",
    "desk",
    "users",
    "campuses",
    "device_models",
    "closet",
    "imports",
    "api",
    "audits",
    "tags",
    "reports",
    "tickets",
    "repairs",
    "labels",
    "pwa",
    "scan",
)


def register_blueprints(app: Flask) -> None:
    for name in BLUEPRINTS:
        app.register_blueprint(import_module(f"app.views.{name}").bp)
