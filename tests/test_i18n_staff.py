"""Staff pages are ready for translation: their strings are marked, extracted, and rendered through gettext."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.i18n import babel
from tests.conftest import CsrfClient

ROOT = Path(__file__).resolve().parent.parent

# One string from each area of the staff pages; a page whose text is not marked drops out of the catalogue.
KNOWN_STAFF_STRINGS = {
    "users": "Add a user",
    "campuses": "Add a campus",
    "device_models": "Device models",
    "labels": "Print the ticked ones",
    "errors": "Back to the start",
    "pwa": "No connection",
    "_macros": "Page %(page)s of %(pages)s",
    "activity": "Person (email)",
    "people": "Import the roster",
    "imports": "Most recent Google user is not the assignee",
    "assets": "Devices",
    "audits": "Start an audit",
    "closet": "Closet finder",
    "loans": "Loaner receipt",
    "repairs": "Repair planning",
    "tickets": "New ticket",
    "scan": "Show reviewed",
    "auth": "Change password",
}
KNOWN_PLURALS = [("%(num)s device", "%(num)s devices"), ("%(total)s device", "%(total)s devices")]


def _ignored_dirs() -> list[str]:
    """The directories `make messages` tells pybabel to skip (its default would skip templates/_macros)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"--ignore-dirs[= ](\"[^\"]*\"|'[^']*'|\S+)", makefile)
    assert match, "make messages names the directories pybabel skips"
    return shlex.split(match.group(1))[0].split()


def _template_messages() -> dict[str, set]:
    """Message ids extracted from templates/ as `make messages` does (babel.cfg's method), by top directory."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    prefix = "templates/"
    templates = [(pattern.removeprefix(prefix), method) for pattern, method in method_map if pattern.startswith(prefix)]
    assert templates, "babel.cfg extracts from templates/"
    ignored = _ignored_dirs()

    def descend(path: str) -> bool:
        return not any(Path(path).match(pattern) for pattern in ignored)

    found: dict[str, set] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        ROOT / "templates", templates, options_map, directory_filter=descend
    ):
        found.setdefault(Path(filename).parts[0], set()).add(message)
    return found


def test_staff_strings_are_extracted():
    found = _template_messages()
    missing = {area: text for area, text in KNOWN_STAFF_STRINGS.items() if text not in found.get(area, set())}
    assert not missing, f"not marked for translation: {missing}"
    everything = set().union(*found.values())
    for plural in KNOWN_PLURALS:
        assert plural in everything


@pytest.fixture(scope="module")
def app(database_url, tmp_path_factory):
    """The app with a tiny English catalogue that rewrites a few staff strings, so their rendering is visible."""
    catalog = Catalog(locale="en", domain="messages")
    catalog.add("Add a user", "Add a user [en-test]")
    catalog.add("Users", "Users [en-test]")
    catalog.add(("%(num)s device", "%(num)s devices"), ("%(num)s device [one]", "%(num)s devices [other]"))
    catalog.add("Page %(page)s of %(pages)s", "Page %(page)s / %(pages)s [en-test]")
    tmp_path = tmp_path_factory.mktemp("catalogue")
    target = tmp_path / "translations" / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        BABEL_TRANSLATION_DIRECTORIES = str(tmp_path / "translations")

    app = create_app(Config)
    app.test_client_class = CsrfClient
    with app.app_context():
        db.create_all()
        # Loaded catalogues are kept per language by the one Babel of the process, whichever app loaded them.
        babel.domain_instance.cache.clear()
    yield app
    with app.app_context():
        babel.domain_instance.cache.clear()
        db.session.remove()
        db.engine.dispose()


def test_staff_pages_render_through_the_catalogue(app, client, district, login_as):
    login_as("admin")
    users = client.get("/users").get_data(as_text=True)
    assert "<h1>Users [en-test]</h1>" in users
    assert ">Add a user [en-test]</a>" in users
    campuses = client.get("/campuses").get_data(as_text=True)
    assert re.search(r"\d+ devices? \[(one|other)\]", campuses)
