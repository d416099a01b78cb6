"""Schemathesis against the app's own /api/openapi.json, in process (WSGI), on this run's database: every /api/v1
operation called with generated valid and invalid input, as a district-wide admin and as a librarian of one campus.
No answer is a server error, and each status, content type and body is the one the spec describes.

Bounded and repeatable: a fixed seed, derandomized generation, a few examples per operation and mode. (The plugin's
own `schema.parametrize()` cannot run under pytest 9, so each operation's strategy is driven with `@given`.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.extensions import db
from app.models import Role, Via
from app.services import sync
from app.services.users import issue_token
from app.views.openapi import PATHS
from tests import factories
from tests import hostile as h

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 12
CONFIG = {"seed": 20261201, "generation": {"max-examples": EXAMPLES, "deterministic": True}}


@pytest.fixture
def api_schema(app):
    """The spec the app serves, bound to the app itself (no server, no network)."""
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture
def callers(app):
    """Bearer headers of a district-wide admin and of a librarian at LHS, in a district with a bit of everything."""
    with app.app_context():
        world = factories.make_district()
        admin = factories.make_user(Role.admin)
        librarian = factories.make_user(Role.librarian, "LHS")
        sync.apply_batch(
            [
                h.event("audit.start", {"audit": "AUDIT-SCHEMA-0001", "room": "LHS-101"}),
                h.event("scan", {"tag": "LHS-1000", "room": "LHS-101", "audit": "AUDIT-SCHEMA-0001"}),
                h.event("report.damage", {"tag": "LHS-1000", "category": "other", "description": "Cracked"}),
            ],
            user=admin,
        )
        assert world["lhs_asset"].id
        tokens = [issue_token(u, by=None, via=Via.cli) for u in (admin, librarian)]
        db.session.commit()
    return [{"Authorization": f"Bearer {t}"} for t in tokens]


def _operations() -> list[tuple[str, str]]:
    from app.views import api  # noqa: F401 - importing the API registers every feature's paths in the spec

    return sorted((path, method.upper()) for path, ops in PATHS.items() for method in ops)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("path,method", _operations(), ids=lambda v: v)
def test_the_api_answers_as_its_spec_says(api_schema, callers, path, method, mode):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        for headers in callers:
            case.call_and_validate(headers=headers, checks=CHECKS)

    check()
