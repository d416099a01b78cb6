"""Fixtures: a real database per run (SQLite file, or a fresh PostgreSQL database), the app, clients, roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Role, User
from app.services.users import start_session
from tests import factories
from tests.servers import fresh_database

HX = {"HX-Request": "true"}
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def hx(**extra: str) -> dict[str, str]:
    """Headers of an htmx request."""
    return {**HX, **extra}


# The files that take longest, started first: with the suite spread over processes a file runs whole on one of
# them, and one of these begun last would leave the others idle while it finishes.
LONGEST_FIRST = ("tests/test_hostile.py", "tests/test_jobs_worker.py", "tests/test_permissions.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite in a temporary file, or a brand-new PostgreSQL database dropped at the end of the run."""
    with fresh_database(tmp_path_factory.mktemp("db"), "test") as url:
        yield url


class CsrfClient(FlaskClient):
    """A test client that sends the session's CSRF token with unsafe requests, as the pages do."""

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            token = self.csrf_token()
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", token)
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        resp = super().open("/login", method="GET")
        html = resp.get_data(as_text=True)
        if resp.status_code in (301, 302, 303):
            html = super().open("/account/password", method="GET").get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, "no CSRF token on the page"
        return match.group(1)


@pytest.fixture(scope="session")
def app(database_url: str):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    app = create_app(Config)
    app.test_client_class = CsrfClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from empty tables (rows are deleted afterwards, children first)."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.rollback()
        if db.engine.dialect.name == "sqlite":
            # The FTS5 index must match assets.search_text row for row, or searches find devices that aren't
            # there; integrity-check with rank 1 compares it with the table's content (raises when they differ).
            db.session.execute(sa.text("INSERT INTO assets_fts(assets_fts, rank) VALUES ('integrity-check', 1)"))
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        db.session.remove()
    from app.extensions import limiter

    limiter.reset()


@pytest.fixture
def ctx(app):
    """An application context for tests that call services and models directly."""
    with app.app_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app) -> CsrfClient:
    return app.test_client()


@pytest.fixture
def district(app):
    """Two campuses with rooms, a model, people and a few devices: the world most tests need."""
    with app.app_context():
        world = factories.make_district()
        db.session.commit()
        ids = {k: v.id for k, v in world.items() if hasattr(v, "id")}
    return ids


@pytest.fixture
def aide_token(app, district) -> str:
    """A bearer token for aide@example.org, an aide at LHS: the phone that sends sync batches in tests."""
    from app.models import Via
    from app.services.users import issue_token

    with app.app_context():
        user = factories.make_user(Role.aide, "LHS", email="aide@example.org")
        raw = issue_token(user, by=None, via=Via.cli)
        db.session.commit()
    return raw


@pytest.fixture
def login_as(app, client):
    """Sign the test client in as a new user with this role (scoped to campus codes; none = district-wide)."""

    def login(role: Role | str = Role.admin, *campus_codes: str, email: str | None = None) -> User:
        with app.app_context():
            user = factories.make_user(Role(role), *campus_codes, email=email)
            session_id = start_session(user, user_agent="pytest")
            db.session.commit()
            user_id = user.id
        with client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
        with app.app_context():
            return db.session.get(User, user_id)

    return login


@pytest.fixture
def tmp_instance(tmp_path: Path) -> Path:
    return tmp_path
