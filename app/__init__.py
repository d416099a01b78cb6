"""Rollcall: device tracking for school districts. `create_app` builds the Flask application."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, abort, g, has_request_context, request
from flask_login import current_user

from app import auth, i18n, jobs, ops
from app import config as config_module
from app.commands import register_commands
from app.extensions import csrf, db, htmx, limiter, login_manager, migrate
from app.integrations import mail
from app.security import CSP, SAFE_METHODS
from app.services.events import register_all
from app.views import register_blueprints
from app.web import can, guard, times
from app.web.errors import json_error, register_error_handlers

ROOT = Path(__file__).resolve().parent.parent


class InsecureConfiguration(RuntimeError):
    """Raised at start-up when production settings are unsafe (e.g. no real SECRET_KEY, or debug mode)."""


# Environments meant for one person's machine: no SECRET_KEY needed, debug allowed.
LOCAL_ENVS = ("development", "demo", "test")


def create_app(config: type | dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, error handlers, CLI commands."""
    app = Flask(
        __name__,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config_module.Config)
    if config is None:
        app.config.update(config_module.from_env())
    elif isinstance(config, dict):
        app.config.update(config)
    else:
        app.config.from_object(config)
    _check_secret_key(app)
    _check_debug(app)
    _check_base_url(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    limiter.init_app(app)
    htmx.init_app(app)
    i18n.init_app(app)
    times.init_app(app)
    jobs.init_app(app)
    mail.init_app(app)
    ops.init_app(app)
    with app.app_context():
        _tune_sqlite(db.engine, app.config["SQLITE_CACHE_KB"])

    auth.init_login(app)
    register_all()
    register_blueprints(app)

    guard.init_app(app)
    register_error_handlers(app)
    register_commands(app)

    @app.before_request
    def protect_unsafe_requests():
        if app.config["ENV_NAME"] not in LOCAL_ENVS and "werkzeug.debug.preserve_context" in request.environ:
            # Werkzeug's debugger wraps the app (app.run(debug=True), run_simple(use_debugger=True)): its console
            # runs any code a visitor sends, so a production app answers nothing through it.
            abort(500, "This server runs under the Werkzeug debugger, which production refuses.")
        if request.method in SAFE_METHODS:
            return None
        if request.path.startswith("/api/") and auth.bearer_token():
            # A script that a valid token authenticated: a browser never attaches that header on its own, so
            # CSRF cannot reach it, and under /api/ a token request ignores the session cookie (auth.load_user).
            if auth.token_authenticated():
                return None
            return json_error(401, "That API token is not valid: it was revoked, or its user is disabled.")
        # Everyone else (forms, htmx, the outbox, and any request merely carrying an Authorization header on a
        # web page) must send the CSRF token.
        csrf.protect()
        return None

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("Content-Security-Policy", app.config.get("CSP", CSP))
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            resp.headers["Strict-Transport-Security"] = "max-age=31536000"
        if current_user.is_authenticated and not request.path.startswith("/static/"):
            # Signed-in pages carry people's data: never keep them in shared or disk caches.
            resp.headers.setdefault("Cache-Control", "private, no-store")
        return resp

    @app.context_processor
    def inject_globals():
        return {"can": can, "district_name": app.config["DISTRICT_NAME"], "g": g}

    return app


def _check_secret_key(app: Flask) -> None:
    """Production needs a SECRET_KEY nobody can guess (config.weak_secret_key says what that means)."""
    key = app.config.get("SECRET_KEY") or ""
    if app.config.get("ENV_NAME", "production") in LOCAL_ENVS:
        if not key:
            app.config["SECRET_KEY"] = _local_secret_key(Path(app.instance_path))
        return
    weakness = config_module.weak_secret_key(key)
    if weakness:
        raise InsecureConfiguration(
            f"SECRET_KEY {weakness}. Set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_hex(32))'), or ROLLCALL_ENV=development for local use."
        )


def _check_debug(app: Flask) -> None:
    """Production never runs in debug mode, nor under the development server's debugger: Werkzeug's debugger runs
    any Python a visitor sends it."""
    if app.config.get("ENV_NAME", "production") in LOCAL_ENVS:
        return
    if app.debug:
        how = "FLASK_DEBUG=1, --debug or DEBUG=True"
    else:
        # `rollcall run --debugger` and `flask run --debugger` build the app inside the run command, before the
        # development server wraps it in the debugger.
        ctx = click.get_current_context(silent=True)
        if ctx is None or ctx.info_name != "run" or not ctx.params.get("debugger"):
            return
        how = "--debugger"
    raise InsecureConfiguration(
        f"Debug mode is on ({how}), which production refuses: the Werkzeug debugger runs any code a visitor sends. "
        "Turn it off, or set ROLLCALL_ENV=development for local use."
    )


def _check_base_url(app: Flask) -> None:
    """QR codes and links carry BASE_URL, so production needs it said (a wrong printed sheet is a lost afternoon);
    local environments without one use the address `rollcall serve` binds by default."""
    url = (app.config.get("BASE_URL") or "").rstrip("/")
    if not url:
        if app.config.get("ENV_NAME", "production") not in LOCAL_ENVS:
            raise InsecureConfiguration(config_module.BASE_URL_MISSING)
        url = config_module.base_url_for_bind(None)
    problem = config_module.base_url_problem(url)
    if problem:
        raise InsecureConfiguration(problem)
    app.config["BASE_URL"] = url


def _local_secret_key(instance: Path) -> str:
    """A random key kept in instance/ so local demo sessions survive restarts without a shared secret."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _tune_sqlite(engine: sa.Engine, cache_kb: int) -> None:
    """WAL, a busy timeout, foreign keys, a roomy page cache, and write transactions that take the write lock up
    front."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event decide how each transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA cache_size=-{int(cache_kb)}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn):
        # Reads (GET pages) start deferred so they never queue behind writers; anything that may write
        # takes the lock at BEGIN, which avoids SQLITE_BUSY upgrade deadlocks between workers.
        # A connection opened with the "snapshot" execution option (backups) only reads, however long it takes.
        if conn.get_execution_options().get("snapshot") or (has_request_context() and request.method in SAFE_METHODS):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
