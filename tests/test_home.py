"""Each role's home at `/`, the dashboard at `/dashboard` for everyone, and the navigation app/web/nav.py builds."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app import permissions
from app.extensions import db
from app.models import Audit, AuditStatus, Campus, Role, Room
from app.models.types import utcnow
from app.web import nav
from app.web.offline import OFFLINE_HEADER
from tests import factories
from tests.conftest import hx

ROLES = [r.value for r in Role]


def place_keys(html: str, container: str) -> list[str]:
    """The data-place keys inside the element with this id, in page order."""
    start = html.index(f'id="{container}"')
    end = html.index("</nav>", start)
    return re.findall(r'data-place="([a-z_]+)"', html[start:end])


def tab_keys(html: str) -> list[str]:
    """The tab bar's main places, "More" excluded (and the places inside it)."""
    keys = place_keys(html, "tabbar")
    return keys[: keys.index("more")]


@pytest.fixture
def audit_world(app, district):
    """LHS-101 audited today (not due); LHS-IT never audited (due), and an audit of it in progress."""
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        room = db.session.get(Room, district["lhs_room"])
        store = db.session.get(Room, district["lhs_store"])
        now = utcnow()
        db.session.add(
            Audit(uuid="done-1", room=room, campus=lhs, status=AuditStatus.closed, started_at=now, closed_at=now)
        )
        starter = factories.make_user(Role.aide, "LHS")
        starter.name = "Pat Starter"
        db.session.add(
            Audit(uuid="open-1", room=store, campus=lhs, started_at=now - timedelta(minutes=5), started_by=starter)
        )
        db.session.commit()
    return district


def test_an_aide_lands_on_the_rooms_due_and_start_an_audit(client, audit_world, login_as):
    login_as(Role.aide, "LHS")
    for headers in ({}, hx()):
        resp = client.get("/", headers=headers)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        assert "<h1>Rooms to audit</h1>" in html and "<html" in html  # the whole page, even for htmx
        assert re.search(r'<a class="button primary" href="/audits/live">Start an audit</a>', html)
        due = html[html.index('id="home-due"') :]
        assert 'href="/audits/live#room=LHS-IT"' in due and "never audited" in due
        assert "LHS-101" not in due, "audited today, so not due"
        assert "JMS-201" not in html, "another campus's room"
        assert "join this audit" in html
        # Rooms and counts only: the phone may keep it, so the installed app opens offline.
        assert resp.headers[OFFLINE_HEADER] == "keep"
        for word in ("Zoe Martinez", "LHS100001", "Pat Starter"):
            assert word not in html
    assert 'id="chart-status"' not in html


def test_an_aide_with_every_room_audited_is_told_so(client, app, login_as):
    with app.app_context():
        factories.make_campus("LHS")
        db.session.commit()
    login_as(Role.aide, "LHS")
    html = client.get("/").get_data(as_text=True)
    assert "Every room has been audited on schedule." in html


@pytest.mark.parametrize(("role", "target"), [("librarian", "/loans"), ("tech", "/tickets")])
def test_the_desk_and_the_queue_are_homes_by_redirect(client, district, login_as, role, target):
    login_as(role, "LHS")
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"] == target
    assert client.get(target).status_code == 200


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_admins_and_viewers_land_on_the_dashboard(client, district, login_as, role):
    login_as(role, "LHS")
    resp = client.get("/")
    assert resp.status_code == 200 and resp.headers[OFFLINE_HEADER] == "keep"
    html = resp.get_data(as_text=True)
    assert 'id="chart-status"' in html and "Rooms to audit" not in html


@pytest.mark.parametrize("role", ROLES)
def test_the_dashboard_stays_open_to_every_role_at_its_own_url(client, district, login_as, role):
    login_as(role, "LHS")
    for headers in ({}, hx()):
        resp = client.get("/dashboard", headers=headers)
        assert resp.status_code == 200
        assert 'id="chart-status"' in resp.get_data(as_text=True)
    html = client.get("/dashboard").get_data(as_text=True)
    # And the navigation leads there: a main place for admins and viewers, in "More" for the others.
    assert "dashboard" in place_keys(html, "tabbar")


def test_signed_out_home_and_dashboard_ask_for_a_sign_in(client, district):
    for path in ("/", "/dashboard"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_sign_in_lands_on_the_role_home(client, app, district):
    with app.app_context():
        factories.make_user(Role.librarian, "LHS", email="lib@example.org")
        db.session.commit()
    resp = client.post("/login", data={"email": "lib@example.org", "password": factories.PASSWORD})
    assert resp.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/loans"


MAIN = {
    "aide": ["home", "scan", "audits", "devices"],
    "librarian": ["desk", "loans_out", "devices", "tickets"],
    "tech": ["tickets", "scan", "devices", "repairs"],
    "admin": ["dashboard", "devices", "tickets", "audits"],
    "viewer": ["dashboard", "devices", "tickets", "audits"],
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_has_its_main_places_and_more_holds_only_what_it_may_open(app, district, role):
    with app.test_request_context("/assets"):
        user = factories.make_user(Role(role), "LHS")
        built = nav.nav_places(user, "assets.index", "assets")
        assert [link.key for link in built.main] == MAIN[role]
        keys = [link.key for link in built.places]
        assert len(keys) == len(set(keys)), "no place twice"
        for link in built.places + built.account:
            assert nav.may_open(user, link.place)
            view = app.view_functions[link.place.endpoint]
            capability = getattr(view, "capability", None)
            assert capability is None or permissions.allows(user, capability)
        assert [link.key for link in built.places if link.current] == ["devices"]
        db.session.rollback()


def test_places_a_role_may_not_open_are_not_offered(app, district):
    with app.test_request_context("/"):
        aide = nav.nav_places(factories.make_user(Role.aide, "LHS"), "dashboard.index", "dashboard")
        keys = {link.key for link in aide.places + aide.account}
        assert {"people", "desk", "repairs", "imports", "activity", "labels", "users", "device_models"} & keys == set()
        assert {"tickets", "dashboard", "closet", "password", "tokens"} <= keys
        assert [link.key for link in aide.places if link.current] == ["home"]
        viewer = nav.nav_places(factories.make_user(Role.viewer, "LHS"), "dashboard.index", "dashboard")
        assert "scan" not in {link.key for link in viewer.places}
        assert [(link.key, link.href) for link in viewer.places if link.current] == [("dashboard", "/")]
        db.session.rollback()


def test_the_current_place_is_the_most_specific_one(app, district):
    """The desk and "Loans out" share the loans blueprint: the out-now list is the second, the rest the first."""
    with app.test_request_context("/"):
        librarian = factories.make_user(Role.librarian, "LHS")
        out = nav.nav_places(librarian, "loans.out", "loans")
        assert [link.key for link in out.places if link.current] == ["loans_out"]
        desk = nav.nav_places(librarian, "loans.scan", "loans")
        assert [link.key for link in desk.places if link.current] == ["desk"]
        # A tech has no "Loans out" tab: the desk's blueprint makes the out-now list the desk's.
        tech = nav.nav_places(factories.make_user(Role.tech, "LHS"), "loans.out", "loans")
        assert [link.key for link in tech.places if link.current] == ["desk"]
        assert not tech.more_current or "desk" in {link.key for link in tech.more}
        tokens = nav.nav_places(librarian, "users.tokens", "users")
        assert [link.key for link in tokens.account if link.current] == ["tokens"] and tokens.more_current
        db.session.rollback()


@pytest.mark.parametrize("role", ROLES)
def test_pages_carry_the_tab_bar_with_the_page_marked(client, district, login_as, role):
    login_as(role, "LHS")
    html = client.get("/assets").get_data(as_text=True)
    assert tab_keys(html) == MAIN[role]
    current = re.findall(r'data-place="([a-z_]+)" aria-current="page"', html)
    assert current == ["devices", "devices"], "the header's link and the tab"
    bar = html[html.index('id="tabbar"') :]
    assert 'action="/logout"' in bar and ">Sign out</button>" in bar
    assert ">Change password</a>" in bar


def test_the_header_lists_every_place_main_ones_first(client, district, login_as):
    login_as(Role.librarian, "LHS")
    html = client.get("/loans/out").get_data(as_text=True)
    header = html[html.index('<nav class="nav"') : html.index("</nav>", html.index('<nav class="nav"'))]
    keys = re.findall(r'data-place="([a-z_]+)"', header)
    assert keys[:4] == MAIN["librarian"] and "people" in keys and "dashboard" in keys
    assert re.search(r'data-place="loans_out" aria-current="page"', header)
    assert 'data-place="desk" aria-current' not in header


def test_no_navigation_for_the_signed_out(client, district):
    html = client.get("/login").get_data(as_text=True)
    assert 'id="tabbar"' not in html and 'class="nav"' not in html
