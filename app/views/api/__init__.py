"""The JSON API under /api/v1 (token or session auth; errors as JSON; 401, never a redirect).

Each feature's module adds its routes to `bp` and its paths to the OpenAPI spec; what they share lives below them:
`blueprint` (the blueprint itself), `common` (paging, ?campus=) and `serialize` (the JSON each record becomes).
"""

from __future__ import annotations

from app.views.api import assets, audits, claims, jobs, loans, meta, people, sync, tickets
from app.views.api.blueprint import bp

__all__ = ["assets", "audits", "bp", "claims", "jobs", "loans", "meta", "people", "sync", "tickets"]
