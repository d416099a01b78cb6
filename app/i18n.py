"""Languages and time zones: Flask-Babel picks the reader's language and the district's zone for each request.

The public pages (a student's damage report, its status link, a scanned tag) are written for students and
families, in English and Spanish; the language comes from ?lang= (remembered in the session), else the
browser's Accept-Language. Staff pages are English for now, their strings marked for translation.
Catalogues live in app/translations and are compiled by `make translations` (part of `make run` and
`make test`); a catalogue that isn't compiled shows English.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import Babel, get_locale

if TYPE_CHECKING:
    from app.models import Campus

babel = Babel()

# Languages of the pages students and families read, in the order the language switch shows them.
PUBLIC_LANGUAGES = {"en": "English", "es": "Español"}
# Languages staff pages are translated into.
STAFF_LANGUAGES = ("en",)
DEFAULT_LANGUAGE = "en"
# Blueprints whose pages are public (no sign-in) and read by students and families. Their staff routes (a
# view that demands a capability, like reissuing a tag) are staff pages all the same.
PUBLIC_BLUEPRINTS = frozenset({"reports", "tags"})


def is_public_page() -> bool:
    if not has_request_context() or request.blueprint not in PUBLIC_BLUEPRINTS:
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "capability", None) is None


def public_language() -> str:
    """?lang= (remembered in the session), else the session's choice, else the browser's Accept-Language."""
    asked = request.args.get("lang", "")
    if asked in PUBLIC_LANGUAGES:
        session["lang"] = asked
        return asked
    kept = session.get("lang")
    if kept in PUBLIC_LANGUAGES:
        return kept
    return request.accept_languages.best_match(list(PUBLIC_LANGUAGES), default=DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE
    if is_public_page():
        return public_language()
    return request.accept_languages.best_match(STAFF_LANGUAGES, default=DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE


def district_zone() -> ZoneInfo:
    """The district's time zone (settings: ROLLCALL_TIMEZONE); UTC when the setting names no known zone."""
    return zone_named(current_app.config.get("TIMEZONE") or "UTC")


def campus_zone(campus: Campus | None) -> ZoneInfo:
    """The campus's time zone (UTC when its setting names no known zone); the district's when no campus applies."""
    if campus is None:
        return district_zone()
    return zone_named(campus.timezone)


def zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def select_timezone() -> str:
    return district_zone().key


def current_language() -> str:
    """The language this page is in, for <html lang>: what Flask-Babel chose."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals["current_language"] = current_language
