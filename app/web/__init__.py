"""Helpers shared by the views: page-or-fragment rendering, the permission check, safe redirects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import permissions
from app.extensions import db
from app.security import CSP, SAFE_METHODS
from app.services import privacy
from app.services.errors import Invalid

T = TypeVar("T")


def is_htmx() -> bool:
    """An htmx request that wants a fragment (history restores want the whole page)."""
    return (
        bool(request.headers.get("HX-Request") == "true")
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str | None = None, /, *, status: int = 200, **ctx: Any) -> Response:
    """Render the fragment for an htmx request, the whole page otherwise; caches keep them apart."""
    template = fragment if fragment and is_htmx() else page
    resp = make_response(render_template(template, **ctx), status)
    resp.vary.add("HX-Request")
    return resp


def see_other(url: str) -> Response:
    """Go to url after a successful POST: a 303 for plain forms, a full-page HX-Redirect for htmx."""
    if is_htmx():
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    return redirect(url, 303)


def permission_required(capability: str) -> Callable:
    """Signed-in users holding the capability (app.permissions) pass; others get 403 (anonymous users: sign in)."""
    permissions.rule(capability)  # a misspelt name fails when the module loads, not on the first request

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any):
            if not permissions.allows(current_user, capability):
                abort(403)
            return view(*args, **kwargs)

        wrapped.capability = capability  # type: ignore[attr-defined]
        return wrapped

    return decorator


def can(*capabilities: str) -> bool:
    """Whether the signed-in user holds one of these capabilities (for showing actions in templates)."""
    return permissions.allows(current_user, *capabilities)


def safe_next(target: str | None, default: str | None = None) -> str:
    """A local path to go to after sign-in; anything pointing off-site, or holding a control character (CR/LF
    would split the Location header), falls back to the default."""
    fallback = default or url_for("dashboard.index")
    if not target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return fallback
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def form_errors(form: Any) -> dict[str, str]:
    """The first error message of each field of a WTForms form."""
    return {name: errs[0] for name, errs in form.errors.items() if errs}


def field_error(form: Any, exc: Any) -> None:
    """Show a service's refusal (an Invalid) on the form field it names, or above the form when it names none."""
    field = form._fields.get(exc.field or "")
    if field is None:
        form.form_errors.append(exc.message)
    else:
        field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]


def submit(form: Any, action: Callable[[], T]) -> tuple[bool, T | None]:
    """Validate a posted form and run the service call behind it, committing when it succeeds: (True, its
    result). Invalid input or a service's refusal (shown on the field it names) rolls back: (False, None), and the
    view renders the form again with a 422."""
    if not form.validate():
        db.session.rollback()
        return False, None
    result: T | None = None
    with committing() as outcome:
        result = action()
    if outcome.refused:
        field_error(form, outcome.refused)
        return False, None
    return True, result


class Outcome:
    """What `committing()` saw: `refused` holds the service's refusal (an Invalid) when there was one."""

    refused: Invalid | None = None

    @property
    def message(self) -> str:
        return self.refused.message if self.refused is not None else ""


@contextmanager
def committing() -> Iterator[Outcome]:
    """The one commit point of a view that changes something without a form: the block's service calls are
    committed when it ends normally; a refusal (Invalid) rolls them back and is kept on the outcome, for the view
    to show with a 422. Any other exception rolls back and propagates.

        with committing() as outcome:
            loan = loan_service.check_out(asset, person, by=current_user, via=Via.web)
        if outcome.refused:
            return _panel(campus, 422, error=outcome.message)
    """
    outcome = Outcome()
    try:
        yield outcome
    except Invalid as exc:
        db.session.rollback()
        outcome.refused = exc
    except BaseException:
        db.session.rollback()
        raise
    else:
        db.session.commit()


def note_record_view(person: Any, what: str = "page") -> None:
    """Log that the signed-in user opened a person's record (student privacy).

    A request that only reads writes the entry in a short transaction of its own that begins with its write, so it
    waits its turn for SQLite's write lock like any write and the request's read transaction is never upgraded. A
    request that writes (a POST already holds the write lock) adds it to its own transaction, which it commits.
    """
    if request.method not in SAFE_METHODS:
        privacy.note_view(person, current_user, what, db.session.connection())
        return
    with db.engine.begin() as connection:
        privacy.note_view(person, current_user, what, connection)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def allow_wasm(resp: Response) -> Response:
    """Let this page compile WebAssembly (the camera's barcode reader); every other page keeps the strict CSP."""
    policy = current_app.config.get("CSP", CSP)
    if "'wasm-unsafe-eval'" not in policy:
        policy = policy.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", 1)
    resp.headers["Content-Security-Policy"] = policy
    return resp


def scanning_page(view: Callable) -> Callable:
    """Decorate a view whose page scans with the camera: its response may run the wasm barcode reader."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        return allow_wasm(make_response(view(*args, **kwargs)))

    return wrapped
