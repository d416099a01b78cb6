"""Operations' doors: /healthz (the process is alive and its database answers), /readyz (ready for traffic: the
database, Redis and the job queue answer) and /metrics (Prometheus, only for the networks or token configured)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify, request

from app.extensions import db
from app.ops import metrics, readiness

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """200 {"status": "ok"} when the database answers; 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """200 with each check's result when all pass; 503 naming the ones that failed. No sign-in: load balancers and
    orchestrators ask it, and it says nothing about anyone."""
    checks = readiness.run(current_app._get_current_object())
    failed = [c.name for c in checks if not c.ok]
    body = {"status": "error" if failed else "ok", "checks": {c.name: c.as_json() for c in checks}}
    if failed:
        body["failed"] = failed
    resp = jsonify(body)
    resp.status_code = 503 if failed else 200
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/metrics")
def prometheus_metrics():
    """The Prometheus text format, for ROLLCALL_METRICS_ALLOW's networks or ROLLCALL_METRICS_TOKEN's bearer; 404 when
    neither is set (metrics are off), 403 for anyone else."""
    config = current_app.config
    if not metrics.enabled(config):
        abort(404)
    if not metrics.may_read(config, request.remote_addr, request.headers.get("Authorization")):
        abort(403)
    body, content_type = metrics.exposition(current_app._get_current_object())
    resp = Response(body, content_type=content_type)
    resp.headers["Cache-Control"] = "no-store"
    return resp
