"""The API about itself: the OpenAPI description (the health checks are app/views/ops.py's)."""

from __future__ import annotations

from flask import jsonify

from app.views.api.blueprint import bp
from app.views.openapi import spec


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(spec())
