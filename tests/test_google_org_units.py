"""The Google org units page: admins map org units to campuses and set tag rules; campus admins only for their
campuses; everyone else is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Role
from app.models.google import GoogleTagRule, OrgUnitMapping
from app.services.google.placement import prefix_key
from tests import factories
from tests.conftest import hx


@pytest.fixture
def campuses(app):
    with app.app_context():
        lhs, res = factories.make_campus("LHS"), factories.make_campus("RES")
        factories.make_room(lhs, "LHS-117")
        factories.make_room(res, "RES-101")
        db.session.add(OrgUnitMapping(prefix="/Students/RES", prefix_key="/students/res", campus=res))
        db.session.commit()
        return {"LHS": lhs.id, "RES": res.id}


def _mappings() -> list[tuple[str, str, str | None]]:
    rows = db.session.scalars(sa.select(OrgUnitMapping).order_by(OrgUnitMapping.prefix_key))
    return [(m.prefix, m.campus.code, m.room.code if m.room else None) for m in rows]


@pytest.mark.parametrize("role", ["tech", "librarian", "aide", "viewer"])
def test_only_admins_open_the_page(client, login_as, campuses, role):
    login_as(Role(role), "LHS")
    assert client.get("/google/org-units").status_code == 403
    assert client.post("/google/org-units", data={"prefix": "/X", "campus": "LHS"}).status_code == 403
    assert client.post("/google/tag-rules/LHS", data={"prefix": "L-"}).status_code == 403


def test_signed_out_goes_to_sign_in(client, campuses):
    response = client.get("/google/org-units")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_district_admin_maps_an_org_unit_with_a_room(app, client, login_as, campuses):
    login_as(Role.admin)
    page = client.get("/google/org-units").get_data(as_text=True)
    assert "/Students/RES" in page and 'id="rule-LHS"' in page and 'id="rule-RES"' in page
    response = client.post("/google/org-units", data={"prefix": " students/LHS/ ", "campus": "LHS", "room": "lhs-117"})
    assert response.status_code == 303
    with app.app_context():
        assert _mappings() == [("/students/LHS", "LHS", "LHS-117"), ("/Students/RES", "RES", None)]
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "google.org_unit.map"))
        assert entry.summary == "Org unit /students/LHS → LHS LHS-117"


def test_adding_by_htmx_returns_the_mappings_fragment(client, login_as, campuses):
    login_as(Role.admin)
    response = client.post("/google/org-units", data={"prefix": "/Staff", "campus": "LHS"}, headers=hx())
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<section class="card" id="org-units"')
    assert "/Staff" in body and "<html" not in body


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"prefix": "", "campus": "LHS"}, "prefix", "Enter an org unit path"),
        ({"prefix": "/students/res", "campus": "LHS"}, "prefix", "already mapped"),
        ({"prefix": "/A", "campus": "LHS", "room": "RES-101"}, "room", "No room RES-101 on LHS."),
        ({"prefix": "/=cmd", "campus": "LHS"}, "prefix", "cannot start with"),
        ({"prefix": "/A", "campus": ""}, "campus", "Choose a campus."),
    ],
)
def test_bad_mappings_are_field_errors(app, client, login_as, campuses, data, field, message):
    login_as(Role.admin)
    response = client.post("/google/org-units", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body
    assert f'id="{field}-error"' in body
    with app.app_context():
        assert _mappings() == [("/Students/RES", "RES", None)]


def test_campus_admin_sees_and_changes_only_their_campuses(app, client, login_as, campuses):
    login_as(Role.admin, "LHS")
    page = client.get("/google/org-units").get_data(as_text=True)
    assert "/Students/RES" not in page and 'id="rule-RES"' not in page and 'id="rule-LHS"' in page
    assert client.post("/google/org-units", data={"prefix": "/X", "campus": "RES"}).status_code == 404
    assert client.post("/google/tag-rules/RES", data={"prefix": "R-"}).status_code == 404
    with app.app_context():
        res_mapping = db.session.scalar(sa.select(OrgUnitMapping.id))
    assert client.post(f"/google/org-units/{res_mapping}/delete").status_code == 404
    assert client.post("/google/org-units", data={"prefix": "/X", "campus": "LHS"}).status_code == 303
    with app.app_context():
        assert _mappings() == [("/Students/RES", "RES", None), ("/X", "LHS", None)]


def test_removing_a_mapping(app, client, login_as, campuses):
    login_as(Role.admin)
    with app.app_context():
        mapping_id = db.session.scalar(sa.select(OrgUnitMapping.id).where(OrgUnitMapping.prefix_key == "/students/res"))
    response = client.post(f"/google/org-units/{mapping_id}/delete", headers=hx())
    assert response.status_code == 200 and "is no longer mapped" in response.get_data(as_text=True)
    assert client.post(f"/google/org-units/{mapping_id}/delete").status_code == 404
    with app.app_context():
        assert _mappings() == []
        assert prefix_key("/Students/RES/") == "/students/res"


def test_tag_rules_are_set_and_cleared(app, client, login_as, campuses):
    login_as(Role.admin)
    assert client.post("/google/tag-rules/LHS", data={"prefix": "LHS-G"}).status_code == 303
    page = client.get("/google/org-units").get_data(as_text=True)
    assert 'value="LHS-G"' in page and "LHS-GSERIAL" in page
    with app.app_context():
        assert db.session.get(GoogleTagRule, campuses["LHS"]).prefix == "LHS-G"
    bad = client.post("/google/tag-rules/LHS", data={"prefix": "@x"})
    assert bad.status_code == 422 and "cannot start with" in bad.get_data(as_text=True)
    too_long = client.post("/google/tag-rules/LHS", data={"prefix": "X" * 17})
    assert too_long.status_code == 422 and 'id="prefix-LHS-error"' in too_long.get_data(as_text=True)
    assert client.post("/google/tag-rules/LHS", data={"prefix": ""}).status_code == 303
    assert client.post("/google/tag-rules/NOPE", data={"prefix": "N"}).status_code == 404
    with app.app_context():
        assert db.session.get(GoogleTagRule, campuses["LHS"]) is None
        assert [e.after for e in db.session.scalars(sa.select(Activity).where(Activity.action == "google.tag_rule"))]
