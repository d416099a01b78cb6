"""The API's blueprint, below every route module that adds to it (so none of them imports its package)."""

from __future__ import annotations

from flask import Blueprint

from app.extensions import csrf

# Named "api" so every url_for("api.…") names the same endpoints as before the API became a package.
bp = Blueprint("api", "app.views.api")
# Bearer callers skip CSRF in the app-wide check; session callers are checked there with X-CSRFToken.
csrf.exempt(bp)
