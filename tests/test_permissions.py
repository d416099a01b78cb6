"""Each role against each route: allowed, 403 for the role, or 404 for a record on another campus.

The roles expected here are written out from the product (README and PRODUCT.md), not read from
app.permissions, so a change to the table that breaks what the product says fails here.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app import permissions
from app.extensions import db
from app.models import (
    Activity,
    ApiToken,
    Asset,
    AssetStatus,
    Campus,
    DeviceModel,
    Person,
    RecordView,
    Role,
    Room,
    TicketCategory,
    User,
    Via,
    utcnow,
)
from app.services import audits as audit_service
from app.services import loans as loan_service
from app.services import sync as sync_service
from app.services import tickets as ticket_service
from app.services.users import issue_token
from tests import factories
from tests.conftest import hx

ROLES = ("admin", "tech", "librarian", "aide", "viewer")
EDITORS = {"admin", "tech"}
DESK = {"admin", "tech", "librarian"}
HANDS = {"admin", "tech", "librarian", "aide"}
PEOPLE = {"admin", "tech", "librarian", "viewer"}
PLANNERS = {"admin", "tech", "viewer"}
ADMINS = {"admin"}
EVERYONE = set(ROLES)

# (method, path, roles allowed, status when allowed, whether the path names an LHS record)
ROUTES = [
    ("GET", "/dashboard", EVERYONE, 200, False),  # "/" is each role's home: tests/test_home.py
    ("GET", "/assets", EVERYONE, 200, False),
    ("GET", "/assets/LHS-1000", EVERYONE, 200, True),
    ("GET", "/assets/new", EDITORS, 200, False),
    ("GET", "/assets/LHS-1000/edit", EDITORS, 200, True),
    ("POST", "/assets/LHS-1000/status", EDITORS, 303, True),
    ("POST", "/assets/LHS-1001/assign", DESK, 303, True),
    ("POST", "/assets/LHS-1000/return", DESK, 422, True),  # allowed; nothing is assigned, so nothing to take back
    ("GET", "/activity", EDITORS, 200, False),
    ("GET", "/models", EDITORS, 200, False),
    # The catalog is district-wide: these techs serve LHS only, while JMS exists too.
    ("GET", "/models/new", ADMINS, 200, False),
    ("GET", "/people/LHS100001/export", ADMINS, 200, True),
    ("POST", "/people/LHS100001/erase", ADMINS, 422, True),  # allowed; the ID was not typed to confirm
    ("GET", "/people/import", ADMINS, 200, False),
    ("GET", "/campuses", ADMINS, 200, False),
    ("GET", "/campuses/new", set(), 200, False),  # district-wide admins only; these users all have a campus
    ("GET", "/campuses/LHS", ADMINS, 200, True),
    ("POST", "/campuses/LHS/rooms", ADMINS, 422, True),  # allowed; no room code given
    ("GET", "/campuses/LHS/rooms/LHS-101", ADMINS, 200, True),
    ("GET", "/imports", ADMINS, 200, False),
    ("GET", "/imports/export/assets.csv", ADMINS, 200, False),
    ("GET", "/imports/google-admin/mismatches", ADMINS, 200, False),
    ("GET", "/imports/google-admin/mismatches.csv", ADMINS, 200, False),
    ("GET", "/users", ADMINS, 200, False),
    ("GET", "/labels", EDITORS, 200, False),
    ("GET", "/scan", HANDS, 200, False),
    ("GET", "/scan/unknown", EDITORS, 200, False),
    ("GET", "/audits/live", HANDS, 200, False),
    ("GET", "/loans", DESK, 200, False),
    ("GET", "/repairs", EDITORS, 200, False),
    ("GET", "/repairs/planning", PLANNERS, 200, False),
    ("GET", "/tickets/new?asset=LHS-1000", HANDS, 200, True),
    ("GET", "/api/v1/assets", EVERYONE, 200, False),
    ("GET", "/api/v1/assets/LHS-1000", EVERYONE, 200, True),
    ("GET", "/api/v1/people", PEOPLE, 200, False),
    ("GET", "/api/v1/people/LHS100001", PEOPLE, 200, True),
]
FORMS = {"/assets/LHS-1000/status": {"status": "deployed"}, "/assets/LHS-1001/assign": {"person": "LHS100001"}}


def _call(client, method, path, headers=None):
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, data=FORMS.get(path, {}), headers=headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path,allowed,ok_status,names_record", ROUTES)
def test_role_on_own_campus(client, district, login_as, role, method, path, allowed, ok_status, names_record):
    login_as(role, "LHS")
    resp = _call(client, method, path)
    expected = ok_status if role in allowed else 403
    assert resp.status_code == expected, f"{role} {method} {path}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path,allowed,ok_status,names_record", [r for r in ROUTES if r[4]])
def test_role_on_other_campus_sees_404(
    client, district, login_as, role, method, path, allowed, ok_status, names_record
):
    login_as(role, "JMS")
    resp = _call(client, method, path)
    expected = 404 if role in allowed else 403
    assert resp.status_code == expected, f"{role} from JMS {method} {path}"


@pytest.mark.parametrize("method,path", [(m, p) for m, p, *_ in ROUTES])
def test_anonymous_is_sent_to_sign_in(client, district, method, path):
    resp = _call(client, method, path)
    if path.startswith("/api/"):
        assert resp.status_code == 401
    else:
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --- A page and its API twin (or its CSV) answer each role alike ----------------------------------------------


@pytest.fixture
def records(app, district):
    """On LHS: a ticket on LHS-1000, an audit of LHS-101, and a loaner lent to Zoe Martinez."""
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        room = db.session.get(Room, district["lhs_room"])
        store = db.session.get(Room, district["lhs_store"])
        tech = factories.make_user(Role.tech, "LHS", email="records-tech@example.org")
        asset = db.session.get(Asset, district["lhs_asset"])
        ticket = ticket_service.open_ticket(
            asset, category=TicketCategory.cracked_screen, description="Cracked screen", by=tech, via=Via.web
        )
        audit = audit_service.start_audit("audit-lhs-0001", room, by=tech, at=utcnow(), via=Via.web)
        loaner = factories.make_asset(lhs, store, asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner)
        person = db.session.get(Person, district["student"])
        loan_service.check_out(loaner, person, by=tech, due=None, via=Via.web)
        db.session.commit()
        return {"ticket": ticket.number, "audit": audit.uuid}


# (name, page, its twin, roles allowed, whether both name LHS records; {ticket} and {audit} are filled in)
TWINS = [
    ("people list", "/people", "/api/v1/people", PEOPLE, False),
    ("person", "/people/LHS100001", "/api/v1/people/LHS100001", PEOPLE, True),
    ("assets list", "/assets", "/api/v1/assets", EVERYONE, False),
    ("asset", "/assets/LHS-1000", "/api/v1/assets/LHS-1000", EVERYONE, True),
    ("observations", "/assets/LHS-1000", "/api/v1/assets/LHS-1000/observations", EVERYONE, True),
    ("loans", "/loans/out", "/api/v1/loans?open=1", DESK, False),
    ("campus loans", "/loans/out?campus=LHS", "/api/v1/loans?open=1&campus=LHS", DESK, True),
    ("tickets", "/tickets", "/api/v1/tickets", EVERYONE, False),
    ("ticket and its repair", "/tickets/{ticket}", "/api/v1/tickets/{ticket}", EVERYONE, True),
    ("audits", "/audits", "/api/v1/audits", EVERYONE, False),
    ("campus audits", "/audits?campus=LHS", "/api/v1/audits?campus=LHS", EVERYONE, True),
    ("audit", "/audits/{audit}", "/api/v1/audits/{audit}", EVERYONE, True),
    ("scan and the offline pack", "/scan", "/api/v1/offline-pack?campus=LHS", HANDS, False),
    ("device export", "/imports", "/imports/export/assets.csv", ADMINS, False),
    ("google mismatches", "/imports/google-admin/mismatches", "/imports/google-admin/mismatches.csv", ADMINS, False),
    ("closet", "/closet/unseen", "/closet/unseen.csv", EVERYONE, False),
    ("fees", "/repairs/fees", "/repairs/fees.csv", EDITORS, False),
    ("repair planning", "/repairs/planning", "/repairs/planning.csv", PLANNERS, False),
]


def _statuses(client, page: str, twin: str) -> tuple[int, int, int]:
    return (
        client.get(page).status_code,
        client.get(page, headers=hx()).status_code,
        client.get(twin).status_code,
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,page,twin,allowed,names_record", TWINS, ids=[t[0] for t in TWINS])
def test_page_fragment_and_twin_answer_alike(client, records, login_as, role, name, page, twin, allowed, names_record):
    login_as(role, "LHS")
    page, twin = page.format(**records), twin.format(**records)
    expected = 200 if role in allowed else 403
    assert _statuses(client, page, twin) == (expected, expected, expected), f"{role}: {page} / {twin}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "name,page,twin,allowed,names_record", [t for t in TWINS if t[4]], ids=[t[0] for t in TWINS if t[4]]
)
def test_page_and_twin_hide_other_campus_alike(
    client, records, login_as, role, name, page, twin, allowed, names_record
):
    login_as(role, "JMS")
    page, twin = page.format(**records), twin.format(**records)
    expected = 404 if role in allowed else 403
    assert _statuses(client, page, twin) == (expected, expected, expected), f"{role} from JMS: {page} / {twin}"


def test_api_twins_refuse_with_json(client, records, login_as):
    login_as("aide", "LHS")
    resp = client.get("/api/v1/people")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


# --- Every route goes through the table ------------------------------------------------------------------------

# Signed-in pages that are about the user themselves, not about the district's records.
OWN_ACCOUNT = {
    "users.tokens",
    "users.revoke",
    "auth.password",
    "auth.logout",
    "auth.account",
    "auth.end_other_sessions",
    "auth.end_one_session",
}


def _signs_in(view) -> bool:
    """Whether flask_login's login_required is somewhere in the view's decorators."""
    while view is not None:
        if view.__code__.co_qualname.startswith("login_required."):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def test_every_api_route_and_staff_page_names_a_capability(app):
    missing = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        capability = getattr(view, "capability", None)
        if capability is not None:
            assert capability in permissions.CAPABILITIES, rule.rule
        elif rule.rule.startswith("/api/v1/") or (_signs_in(view) and rule.endpoint not in OWN_ACCOUNT):
            missing.append(rule.rule)
    assert missing == []
    assert _signs_in(app.view_functions["users.tokens"]), "the check above must be able to see login_required"


def test_staff_pages_without_a_capability_still_ask_to_sign_in(client, district):
    for path in ("/account/tokens", "/account/password", "/account"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path


def test_sync_events_name_capabilities_of_the_table(app):
    needs = {name: reg.needs for name, reg in sync_service.HANDLERS.items() if reg.needs is not None}
    assert needs["scan"] == "scan"
    assert needs["audit.start"] == needs["audit.close"] == needs["audit.move"] == "audits.run"
    assert needs["loan.checkout"] == needs["loan.checkin"] == "desk"
    assert needs["claim.receive"] == needs["claim.ship"] == "repairs.work"
    assert all(n in permissions.CAPABILITIES for n in needs.values())
    # No registration of the app's own says it with a list of roles any more.
    assert [
        name for name, reg in sync_service.HANDLERS.items() if reg.roles is not None and not name.startswith("test.")
    ] == []


def test_an_unknown_capability_is_refused_when_named():
    from app.web import permission_required

    with pytest.raises(KeyError, match="assets.destroy"):
        permission_required("assets.destroy")
    with pytest.raises(KeyError):
        sync_service.register("test.typo", lambda data, ctx: None, needs="scans")


# --- Item 9: people data only for the roles whose page shows it ------------------------------------------------


def test_aides_read_no_people_through_the_api(app, client, district, login_as):
    with app.app_context():
        asset = db.session.get(Asset, district["lhs_asset"])
        asset.assigned_to = db.session.get(Person, district["student"])
        db.session.get(Person, district["student"]).email = "zoe@students.example.org"
        db.session.commit()
    login_as("aide", "LHS")
    assert client.get("/people").status_code == 403
    assert client.get("/api/v1/people").status_code == 403
    assert client.get("/api/v1/people?q=zoe").status_code == 403
    assert client.get("/api/v1/people/LHS100001").status_code == 403
    # The asset page shows its holder's name and ID to everyone; the API says no more than that.
    holder = client.get("/api/v1/assets/LHS-1000").get_json()["assigned_to"]
    assert holder == {"external_id": "LHS100001", "name": "Zoe Martinez", "kind": "student"}
    listed = client.get("/api/v1/assets?q=LHS-1000").get_json()["items"][0]["assigned_to"]
    assert "email" not in listed and "grade" not in listed
    assert "Zoe Martinez" in client.get("/assets/LHS-1000").get_data(as_text=True)

    login_as("librarian", "LHS")
    holder = client.get("/api/v1/assets/LHS-1000").get_json()["assigned_to"]
    assert holder["email"] == "zoe@students.example.org"
    people = client.get("/api/v1/people?q=zoe").get_json()
    assert [p["external_id"] for p in people["items"]] == ["LHS100001"]


def test_a_person_read_through_the_api_is_logged_like_the_page(app, client, district, login_as):
    user = login_as("viewer", "LHS")
    body = client.get("/api/v1/people/LHS100001").get_json()
    assert body["name"] == "Zoe Martinez" and body["campus"] == "LHS"
    assert client.get("/api/v1/people/JMS200001").status_code == 404
    with app.app_context():
        views = db.session.scalars(sa.select(RecordView).where(RecordView.user_id == user.id)).all()
        assert [(v.person_id, v.what) for v in views] == [(district["student"], "api")]


def test_aides_see_no_loans_but_lend_nothing_either(app, client, district, login_as):
    login_as("aide", "LHS")
    assert client.get("/loans/out").status_code == 403
    assert client.get("/api/v1/loans?open=1").status_code == 403
    assert client.post("/api/v1/loans", json={"asset": "LHS-1001", "person": "LHS100001"}).status_code == 403


# --- Item 20: the full CSV export and the mismatch list are an admin's reports ---------------------------------


@pytest.mark.parametrize(
    "path", ["/imports/export/assets.csv", "/imports/google-admin/mismatches", "/imports/google-admin/mismatches.csv"]
)
def test_techs_do_not_download_the_districts_reports(client, district, login_as, path):
    login_as("tech", "LHS")
    assert client.get(path).status_code == 403
    login_as("admin", "LHS")
    assert client.get(path).status_code == 200


def test_the_imports_link_is_only_for_those_who_may_open_it(client, district, login_as):
    login_as("tech", "LHS")
    assert 'href="/imports"' not in client.get("/assets").get_data(as_text=True)
    login_as("admin", "LHS")
    body = client.get("/imports").get_data(as_text=True)
    assert 'href="/imports"' in body and "/imports/export/assets.csv" in body


# --- Item 20: the district-wide model catalog ------------------------------------------------------------------


def _model_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(DeviceModel.id))


MODEL_FORM = {"manufacturer": "Acer", "name": "Chromebook 311", "category": "Chromebook", "aue_date": "2030-06-01"}


def test_a_campus_tech_reads_the_catalog_but_does_not_change_it(app, client, district, login_as):
    model_id = _model_id(app)
    login_as("tech", "LHS")  # JMS is not theirs
    body = client.get("/models").get_data(as_text=True)
    assert resp_ok(body) and "Add a model" not in body and f"/models/{model_id}" not in body
    assert 'id="device-models-read-only"' in body
    assert client.get("/models/new").status_code == 403
    assert client.post("/models/new", data={"manufacturer": "HP", "name": "G11"}).status_code == 403
    assert client.get(f"/models/{model_id}").status_code == 403
    assert client.post(f"/models/{model_id}", data=MODEL_FORM).status_code == 403
    assert "Model not in the list?" not in client.get("/assets/new").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(DeviceModel, model_id).aue_date.year == 2029


def resp_ok(body: str) -> bool:
    return "<h1>Device models</h1>" in body


@pytest.mark.parametrize("who", ["district tech", "campus admin", "district admin"])
def test_district_wide_techs_and_admins_change_the_catalog(app, client, district, login_as, who):
    model_id = _model_id(app)
    campuses = {"district tech": ("tech", "LHS", "JMS"), "campus admin": ("admin", "LHS"), "district admin": ("admin",)}
    login_as(*campuses[who])
    body = client.get("/models").get_data(as_text=True)
    assert "Add a model" in body and f"/models/{model_id}" in body
    assert "Model not in the list?" in client.get("/assets/new").get_data(as_text=True)
    assert client.post(f"/models/{model_id}", data=MODEL_FORM).status_code == 303
    with app.app_context():
        assert db.session.get(DeviceModel, model_id).aue_date.year == 2030


def test_a_tech_of_every_campus_stops_being_district_wide_when_a_campus_is_added(app, client, district, login_as):
    login_as("tech", "LHS", "JMS")
    assert client.get("/models/new").status_code == 200
    with app.app_context():
        factories.make_campus("RES", "Roosevelt Elementary")
        db.session.commit()
    assert client.get("/models/new").status_code == 403


# --- Issue 16, item 11: viewers mint API tokens only when an admin allows it -----------------------------------


def _token_count(app, user_id: int, live: bool = False) -> int:
    with app.app_context():
        stmt = sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)
        if live:
            stmt = stmt.where(ApiToken.revoked_at.is_(None))
        return db.session.scalar(stmt)


def _tokens_box(page: str) -> str:
    match = re.search(r'<input[^>]*name="api_tokens"[^>]*>', page)
    assert match, "no API tokens checkbox on the user's page"
    return match.group(0)


def test_a_viewer_cannot_mint_a_token_until_an_admin_allows_it(app, client, district, login_as):
    viewer = login_as("viewer", "LHS", email="principal@example.org")
    body = client.get("/account/tokens").get_data(as_text=True)
    assert 'id="tokens-not-allowed"' in body and 'name="name"' not in body
    assert client.post("/account/tokens", data={"name": "my script"}).status_code == 403
    assert _token_count(app, viewer.id) == 0

    login_as("admin", "LHS")
    assert "checked" not in _tokens_box(client.get(f"/users/{viewer.id}").get_data(as_text=True))
    form = {"name": viewer.name, "role": "viewer", "campuses": ["LHS"], "api_tokens": "y"}
    assert client.post(f"/users/{viewer.id}", data=form).status_code == 303
    assert "checked" in _tokens_box(client.get(f"/users/{viewer.id}").get_data(as_text=True))

    own = app.test_client()
    assert own.post("/login", data={"email": viewer.email, "password": factories.PASSWORD}).status_code == 302
    body = own.get("/account/tokens").get_data(as_text=True)
    assert 'id="tokens-not-allowed"' not in body
    resp = own.post("/account/tokens", data={"name": "my script"})
    assert resp.status_code == 200 and 'id="new-token"' in resp.get_data(as_text=True)
    raw = resp.get_data(as_text=True).split('id="new-token">')[1].split("<")[0]
    assert own.get("/api/v1/assets", headers={"Authorization": f"Bearer {raw}"}).status_code == 200

    # Withdrawing it revokes what the viewer holds.
    login_as("admin", "LHS")
    form.pop("api_tokens")
    assert client.post(f"/users/{viewer.id}", data=form).status_code == 303
    assert _token_count(app, viewer.id) == 1 and _token_count(app, viewer.id, live=True) == 0
    assert client.get("/api/v1/assets", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    with app.app_context():
        actions = [a.action for a in db.session.scalars(sa.select(Activity).order_by(Activity.id))]
        assert actions.count("user.api_tokens") == 2 and "token.revoke" in actions


@pytest.mark.parametrize("role", ["admin", "tech", "librarian", "aide"])
def test_other_roles_mint_tokens_without_asking(app, client, district, login_as, role):
    user = login_as(role, "LHS")
    assert client.post("/account/tokens", data={"name": "phone"}).status_code == 200
    assert _token_count(app, user.id) == 1


def test_the_token_service_refuses_a_viewer_but_the_operator_cli_may(app, ctx, district):
    from app.services.errors import Forbidden

    viewer = factories.make_user(Role.viewer, "LHS")
    with pytest.raises(Forbidden):
        issue_token(viewer, name="x", by=viewer, via=Via.web)
    assert issue_token(viewer, name="ops", by=None, via=Via.cli).startswith("rc_")


def test_an_admin_may_allow_a_viewer_when_creating_them(app, client, district, login_as):
    login_as("admin", "LHS")
    form = {"email": "board@example.org", "role": "viewer", "campuses": ["LHS"], "api_tokens": "y"}
    assert client.post("/users/new", data=form).status_code == 303
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "board@example.org"))
        assert user.api_tokens_allowed and permissions.allows(user, "tokens.create")
