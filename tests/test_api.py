"""The JSON API: auth by token or session, campus scoping, contract fields, JSON errors, the OpenAPI spec."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Role, Via
from app.services.users import issue_token
from tests import factories


@pytest.fixture
def token(app, district):
    with app.app_context():
        user = factories.make_user(Role.aide, "LHS", email="aide@example.org")
        raw = issue_token(user, by=None, via=Via.cli)
        db.session.commit()
    return raw


def bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def test_unauthenticated_is_401_json_never_redirect(client):
    for path in ("/api/v1/assets", "/api/v1/assets/LHS-1000", "/api/v1/people"):
        resp = client.get(path)
        assert resp.status_code == 401
        assert resp.get_json()["error"]["code"] == "unauthorized"


def test_bad_token_is_401(client, district):
    assert client.get("/api/v1/assets", headers=bearer("rc_nope")).status_code == 401


def test_list_assets_with_token_is_campus_scoped(client, token):
    body = client.get("/api/v1/assets", headers=bearer(token)).get_json()
    assert set(body) >= {"items", "page", "per_page", "total"}
    tags = {a["asset_tag"] for a in body["items"]}
    assert tags == {"LHS-1000", "LHS-1001"}
    assert body["total"] == 2


def test_asset_contract_fields(client, token):
    body = client.get("/api/v1/assets/LHS-1000", headers=bearer(token)).get_json()
    for key in (
        "asset_tag",
        "tag_code",
        "status",
        "condition",
        "campus",
        "home_room",
        "current_room",
        "last_seen",
        "assigned_to",
        "aue_date",
        "warranty",
    ):
        assert key in body
    assert body["campus"]["code"] == "LHS" and body["home_room"]["code"] == "LHS-101"
    assert body["aue_date"] == "2029-06-01"


def test_other_campus_asset_is_404(client, token):
    resp = client.get("/api/v1/assets/JMS-2000", headers=bearer(token))
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_filters_and_paging(client, token):
    body = client.get("/api/v1/assets?status=in_stock&per_page=1", headers=bearer(token)).get_json()
    assert [a["asset_tag"] for a in body["items"]] == ["LHS-1001"] and body["per_page"] == 1
    assert client.get("/api/v1/assets?status=bogus", headers=bearer(token)).status_code == 422
    assert client.get("/api/v1/assets?page=x", headers=bearer(token)).status_code == 422
    assert client.get("/api/v1/assets?campus=JMS", headers=bearer(token)).status_code == 404
    body = client.get("/api/v1/assets?room=LHS-101", headers=bearer(token)).get_json()
    assert [a["asset_tag"] for a in body["items"]] == ["LHS-1000"]


def test_people(app, client, district, token):
    # Aides do not read the people list (the /people page refuses them too); a librarian's token does.
    assert client.get("/api/v1/people?q=zoe", headers=bearer(token)).status_code == 403
    with app.app_context():
        token = issue_token(factories.make_user(Role.librarian, "LHS"), by=None, via=Via.cli)
        db.session.commit()
    body = client.get("/api/v1/people?q=zoe", headers=bearer(token)).get_json()
    assert [p["external_id"] for p in body["items"]] == ["LHS100001"]
    assert body["items"][0]["kind"] == "student" and body["items"][0]["campus"] == "LHS"
    body = client.get("/api/v1/people?q=liam", headers=bearer(token)).get_json()
    assert body["items"] == [], "people on other campuses are invisible"


def test_session_auth_works_for_api(client, district, login_as):
    login_as("viewer", "JMS")
    body = client.get("/api/v1/assets").get_json()
    assert [a["asset_tag"] for a in body["items"]] == ["JMS-2000"]


def test_openapi_describes_every_v1_route(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = set(spec["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.replace("<", "{").replace(">", "}")
            path = path.replace("{int:", "{").replace("{path:", "{")
            assert path in documented, f"{rule.rule} is missing from the OpenAPI spec"


def test_token_use_is_noted_to_the_minute(app, client, district):
    from datetime import timedelta

    import sqlalchemy as sa

    from app.models import ApiToken

    with app.app_context():
        raw = issue_token(factories.make_user(Role.tech, "LHS"), by=None, via=Via.cli)
        db.session.commit()

    def last_used():
        with app.app_context():
            return db.session.scalar(sa.select(ApiToken.last_used_at))

    headers = {"Authorization": f"Bearer {raw}"}
    assert last_used() is None
    assert client.get("/api/v1/assets", headers=headers).status_code == 200
    first = last_used()
    assert first is not None
    assert client.get("/api/v1/assets", headers=headers).status_code == 200
    assert last_used() == first  # seconds later: not written again
    with app.app_context():
        db.session.execute(sa.update(ApiToken).values(last_used_at=first - timedelta(minutes=2)))
        db.session.commit()
    assert client.get("/api/v1/assets", headers=headers).status_code == 200
    assert last_used() > first - timedelta(minutes=2)
