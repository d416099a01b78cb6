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
    from app.web.args import IdConverter

    # Before any route is added: an id past 64 bits is a 404 like any missing record, not a database error.
    app.url_map.converters["int"] = IdConverter
    for name in BLUEPRINTS:
        app.register_blueprint(import_module(f"app.views.{name}").bp)
