"""Error pages and JSON errors: friendly HTML for people, `{"error": {...}}` for the API."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.services.errors import DomainError
from app.web import is_htmx, wants_json

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "Your role does not allow this.",
    404: "We could not find that.",
    405: "That action is not allowed here.",
    413: "That upload is too large.",
    422: "Some of what you entered needs fixing.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on our side. Nothing you entered was saved.",
}
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


def json_error(status: int, message: str | None = None, code: str | None = None, **extra):
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message or MESSAGES.get(status, "")}}
    body["error"].update(extra)
    return jsonify(body), status


def error_response(status: int, message: str | None = None):
    if wants_json():
        return json_error(status, message)
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, status=status, message=message or MESSAGES.get(status, "")), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = "Your form expired or came from elsewhere. Reload the page and try again."
        if wants_json():
            # Its own code: the outbox reads it as "sign in again", not as a batch the server could not read.
            return json_error(400, message, "csrf")
        return error_response(400, message)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if wants_json():
            return json_error(exc.status, exc.message, exc.code, field=exc.field)
        return error_response(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            return error_response(413, f"That upload is too large; the limit is {limit // (1024 * 1024)} MB.")
        description = (
            exc.description
            if status in (400, 404, 409, 422)
            and exc.description
            and not exc.description.startswith(("The requested URL", "The browser (or proxy)"))
            else None
        )
        return error_response(status, description)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        if app.testing:
            raise exc
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500)
