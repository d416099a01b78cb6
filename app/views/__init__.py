"""Blueprints, one per feature, registered on the app in one place."""

from __future__ import annotations

from flask import Flask

from app.views import (
    activity,
    api,
    asset_lists,
    assets,
    audits,
    auth,
    campuses,
    closet,
    dashboard,
    deployment,
    device_models,
    disposal,
    google,
    google_sync,
    imports,
    jobs,
    labels,
    loans,
    ops,
    people,
    pwa,
    repairs,
    reports,
    scan,
    sso,
    tags,
    tickets,
    users,
    webhooks,
)
from app.web.args import IdConverter

# Each module defines `bp` at its top. Order matters only for readability.
BLUEPRINTS = (
    auth,
    sso,
    dashboard,
    assets,
    asset_lists,
    activity,
    people,
    loans,
    deployment,
    users,
    campuses,
    device_models,
    closet,
    imports,
    google,
    jobs,
    google_sync,
    api,
    audits,
    tags,
    reports,
    tickets,
    repairs,
    labels,
    pwa,
    scan,
    ops,
    webhooks,
    disposal,
)


def register_blueprints(app: Flask) -> None:
    # Before any route is added: an id past 64 bits is a 404 like any missing record, not a database error.
    app.url_map.converters["int"] = IdConverter
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
