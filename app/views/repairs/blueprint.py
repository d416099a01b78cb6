"""The repairs blueprint, apart from its routes so that route modules import it from below the package."""

from flask import Blueprint

bp = Blueprint("repairs", __name__, url_prefix="/repairs")
