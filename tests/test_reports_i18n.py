"""The public pages' words come from the gettext catalogues: the template matches the code, Spanish is complete,
and the pages render in Spanish for a Spanish browser or ?lang=es."""

from __future__ import annotations

import html
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.extensions import db
from app.models import Asset, Room, TicketStatus
from tests.test_reports import report, world  # noqa: F401 (the fixture)

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
# The Makefile's `make messages` passes these keywords too (lazy_gettext for module-level names).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# Where the words of the public pages are written: their views and templates.
PUBLIC_SOURCES = ("app/views/reports.py", "app/views/tags.py", "templates/reports/", "templates/tags/")
# The layout's words a public page shows (the rest of base.html is for signed-in staff).
LAYOUT_MSGIDS = {"Skip to content"}


def extracted(paths: tuple[str, ...] | None = None) -> dict[str, set[str]]:
    """Every msgid the code marks now, as `make messages` finds it (babel.cfg), with the files using it."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        if paths is not None and not filename.startswith(paths):
            continue
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, set()).add(filename)
    return found


def catalogue(path: Path):
    with open(path, "rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def public_msgids() -> set[str]:
    ids = set(extracted(PUBLIC_SOURCES)) | LAYOUT_MSGIDS
    # The extraction itself must have found the pages' words, or the checks below would pass on nothing.
    assert {"Report a problem with this device", "Cracked screen", "Being repaired", "Copy the link"} <= ids
    return ids


@pytest.fixture(scope="module")
def spanish() -> dict[str, str]:
    cat = catalogue(TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po")
    return {m.id: m.string for m in cat if m.id and not m.fuzzy and isinstance(m.id, str)}


def make_messages_template(tmp_path: Path) -> Path:
    """Run the extraction `make messages` runs (its very command, from `make -n`), writing to a scratch file."""
    recipe = subprocess.run(["make", "-n", "messages"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    line = next(cmd for cmd in recipe.replace("\\\n", " ").splitlines() if " extract " in cmd)
    args = shlex.split(line)
    out = tmp_path / "messages.pot"
    args[args.index("-o") + 1] = str(out)
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True, timeout=300)
    return out


def test_the_template_catalogue_is_up_to_date_with_the_code(tmp_path):
    in_code = {m.id for m in catalogue(make_messages_template(tmp_path)) if m.id}
    in_pot = {m.id for m in catalogue(TRANSLATIONS / "messages.pot") if m.id}
    assert "Report a problem with this device" in in_code and "Cracked screen" in in_code
    assert in_code - in_pot == set(), "marked in the code but missing from messages.pot: run make messages"
    assert in_pot - in_code == set(), "in messages.pot but no longer in the code: run make messages"


def test_every_public_message_has_a_spanish_translation(public_msgids, spanish):
    cat = catalogue(TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po")
    fuzzy = {m.id for m in cat if m.id and m.fuzzy}
    missing = sorted(m for m in public_msgids if not (spanish.get(m) or "").strip())
    assert missing == [], f"no Spanish for: {missing}"
    assert public_msgids & fuzzy == set()
    # Placeholders survive translation, or the Spanish page would fail to format (or show "%(mb)s").
    for msgid in public_msgids:
        assert re.findall(r"%\(\w+\)s", msgid) == re.findall(r"%\(\w+\)s", spanish[msgid]), msgid


def test_the_compiled_catalogue_is_what_the_app_reads(app):
    """make translations compiles the .po the tests read; a stale .mo would show English on the pages."""
    mo = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.mo"
    po = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, "run make translations"


def visible_text(page: str) -> str:
    body = page.split("<body", 1)[1]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def assert_spanish(page: str, public_msgids: set[str], spanish: dict[str, str], name: str = "") -> None:
    """The page is in Spanish: <html lang="es">, and no English sentence of the public pages is on it."""
    assert '<html lang="es">' in page, name
    text = " ".join(visible_text(page).split())
    english = [m for m in public_msgids if "%(" not in m and spanish.get(m) != m and len(m) > 8 and m in text]
    assert english == [], f"English left on the Spanish {name} page: {english}"


def public_pages(app, client, code: str, room_code: str) -> dict[str, str]:
    """Each public page as a visitor sees it: form, failed submit, done, status, typed code, unknown, room."""
    pages = {"form": client.get(f"/t/{code}").get_data(as_text=True)}
    pages["errors"] = report(client, code, category="", description="").get_data(as_text=True)
    resp = report(client, code)
    assert resp.status_code == 303
    pages["done"] = client.get("/reports/done").get_data(as_text=True)
    status_path = re.search(r'id="status-link" href="[^"]*?(/reports/status/[^"]+)"', pages["done"]).group(1)
    pages["status"] = client.get(status_path).get_data(as_text=True)
    pages["type"] = client.get("/r").get_data(as_text=True)
    pages["bad code"] = client.get("/r?code=nope").get_data(as_text=True)
    pages["unknown"] = client.get("/t/ZZZZZZZZZZ").get_data(as_text=True)
    pages["room"] = client.get(f"/t/{room_code}").get_data(as_text=True)
    pages["no status"] = client.get("/reports/status/not-a-token").get_data(as_text=True)
    return pages


@pytest.fixture
def codes(app, world):  # noqa: F811 (the fixture imported above)
    with app.app_context():
        room = db.session.scalar(sa.select(Room).where(Room.tag_code.is_not(None)).limit(1))
        asset_code = db.session.scalar(sa.select(Asset.tag_code).where(Asset.id == world["asset_id"]))
        return asset_code, room.tag_code


def test_a_spanish_browser_gets_every_public_page_in_spanish(app, client, codes, public_msgids, spanish):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-MX,es;q=0.9,en;q=0.5"
    pages = public_pages(app, client, *codes)
    for name, page in pages.items():
        assert_spanish(page, public_msgids, spanish, name)
    assert "Reportar un problema con este dispositivo" in pages["form"] and "Pantalla rota" in pages["form"]
    assert "Corrige esto y vuelve a enviar el reporte" in pages["errors"] and "Elige qué pasa." in pages["errors"]
    assert "Copiar el enlace" in pages["done"] and "Enlace copiado." in pages["done"]
    assert "Recibido: esperando a un técnico" in pages["status"] and "Qué hacer ahora" in pages["status"]
    assert "Eso no parece un código de etiqueta" in pages["bad code"]
    assert "Esta es la etiqueta de un salón" in pages["room"]
    assert "Saltar al contenido" in pages["form"]


def test_lang_es_in_the_address_turns_the_visit_spanish(app, client, codes, public_msgids, spanish):
    code, room_code = codes
    page = client.get(f"/t/{code}?lang=es", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert_spanish(page, public_msgids, spanish)
    # The choice is remembered for the rest of the visit, whatever the browser asks for.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    for name, page in public_pages(app, client, code, room_code).items():
        assert_spanish(page, public_msgids, spanish, name)


def test_an_english_browser_gets_english(app, client, codes, public_msgids, spanish):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    pages = public_pages(app, client, *codes)
    for name, page in pages.items():
        assert '<html lang="en">' in page, name
    assert "Report a problem with this device" in pages["form"] and "Pantalla rota" not in pages["form"]
    assert "Received: waiting for a technician" in pages["status"]


def test_staff_pages_stay_english_for_a_spanish_browser(client, login_as):
    login_as("tech", "LHS")
    page = client.get("/assets", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Skip to content" in page


def test_a_staff_route_among_the_public_pages_is_a_staff_page(client, login_as, codes):
    # Reissuing a tag lives beside the public tag pages; its answers are staff pages, with the staff app.
    login_as("tech", "LHS")
    resp = client.post("/tags/assets/NO-SUCH-TAG/reissue", headers={"Accept-Language": "es"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert '<html lang="en">' in page and "js/app.js" in page


def test_every_status_has_a_name_and_a_next_step():
    from app.views.reports import NEXT_STEPS, STATUS_NAMES

    assert set(STATUS_NAMES) == set(TicketStatus) and set(NEXT_STEPS) == set(TicketStatus)
