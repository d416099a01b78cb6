"""The language switch on the public pages: what their templates need, from the language Flask-Babel chose.

The words themselves are gettext messages (app/translations); app.i18n picks the language for each request.
"""

from __future__ import annotations

from flask_babel import get_locale

from app.i18n import PUBLIC_LANGUAGES, is_public_page


def language_switch() -> dict:
    """Template context for every public page: its language, the languages to switch to, and that it is public
    (so the layout leaves out the staff app's manifest and script, which would install the service worker)."""
    if not is_public_page():
        return {}
    return {"lang": str(get_locale()), "languages": PUBLIC_LANGUAGES, "public_page": True}
