"""The API about itself: the health check and the OpenAPI description."""

from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify

from app.extensions import db
from app.views.api.blueprint import bp
from app.views.openapi import spec


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify({"status": "ok"})


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(spec())
