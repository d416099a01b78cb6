"""Managing staff logins and API tokens from the browser."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, ApiToken, Role, User
from tests import factories
from tests.conftest import hx


def _user(app, email):
    """What the database holds for a login, read in its own app context."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        return {"id": user.id, "role": user.role, "campuses": {c.code for c in user.campuses}, "active": user.active}


def test_district_admin_creates_and_edits_users(app, client, district, login_as):
    login_as("admin")
    resp = client.post(
        "/users/new",
        data={"email": "New.Aide@Example.org", "role": "aide", "campuses": ["LHS"], "password": "a-long-password"},
    )
    assert resp.status_code == 303
    user = _user(app, "new.aide@example.org")
    assert user["role"] is Role.aide and user["campuses"] == {"LHS"}
    resp = client.post(f"/users/{user['id']}", data={"name": "Ana", "role": "tech", "campuses": ["LHS", "JMS"]})
    assert resp.status_code == 303
    user = _user(app, "new.aide@example.org")
    assert user["role"] is Role.tech and user["campuses"] == {"LHS", "JMS"}
    with app.app_context():
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "user.update"))
        assert entry.before["role"] == "aide" and entry.after["role"] == "tech"


def test_role_or_campus_change_ends_sessions(app, district, login_as, client):
    login_as("admin")
    with app.app_context():
        target = factories.make_user(Role.aide, "LHS", email="walker@example.org")
        db.session.commit()
        target_id = target.id
    other = app.test_client()
    other.post("/login", data={"email": "walker@example.org", "password": factories.PASSWORD})
    assert other.get("/assets").status_code == 200
    client.post(f"/users/{target_id}", data={"name": "", "role": "viewer", "campuses": ["LHS"]})
    assert other.get("/assets").status_code == 302


def test_validation_errors_are_422_on_the_field(client, district, login_as):
    login_as("admin")
    resp = client.post("/users/new", data={"email": "not-an-email", "role": "aide", "campuses": ["LHS"]})
    assert resp.status_code == 422 and "Enter an email address." in resp.get_data(as_text=True)
    resp = client.post("/users/new", data={"email": "x@example.org", "role": "aide"})
    assert resp.status_code == 422 and "needs at least one campus" in resp.get_data(as_text=True)
    resp = client.post(
        "/users/new", data={"email": "x@example.org", "role": "aide", "campuses": ["LHS"], "password": "short"}
    )
    assert resp.status_code == 422 and "at least 10 characters" in resp.get_data(as_text=True)


def test_campus_admin_is_limited_to_own_campuses(app, client, district, login_as):
    login_as("admin", "LHS")
    resp = client.post("/users/new", data={"email": "x@example.org", "role": "aide", "campuses": ["JMS"]})
    assert resp.status_code == 422 and "not a valid choice" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "x@example.org")) is None
    resp = client.post("/users/new", data={"email": "y@example.org", "role": "admin"})
    assert resp.status_code == 422, "a campus admin cannot make a district-wide admin"
    with app.app_context():
        jms_user = factories.make_user(Role.aide, "JMS")
        db.session.commit()
        jms_id = jms_user.id
    assert client.get(f"/users/{jms_id}").status_code == 404
    assert f"user-{jms_id}" not in client.get("/users").get_data(as_text=True)


def test_disable_and_enable_fragment(app, client, district, login_as):
    login_as("admin")
    with app.app_context():
        target = factories.make_user(Role.aide, "LHS")
        db.session.commit()
        target_id, email = target.id, target.email
    resp = client.post(f"/users/{target_id}/active", data={"active": "0"}, headers=hx())
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li class="asset-row user-row" id="user-{target_id}"') and "Enable" in html
    assert _user(app, email)["active"] is False
    page = client.post(f"/users/{target_id}/active", data={"active": "1"})
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert _user(app, email)["active"] is True


def test_non_admins_cannot_manage_users(client, district, login_as):
    login_as("tech", "LHS")
    assert client.get("/users").status_code == 403
    assert client.post("/users/new", data={"email": "x@example.org", "role": "aide"}).status_code == 403


def test_tokens_page_creates_shows_once_and_revokes(app, client, district, login_as):
    login_as("aide", "LHS")
    assert client.post("/account/tokens", data={"name": ""}).status_code == 422
    html = client.post("/account/tokens", data={"name": "inventory script"}).get_data(as_text=True)
    raw = html.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert raw.startswith("rc_")
    assert client.get("/api/v1/assets", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    assert raw not in client.get("/account/tokens").get_data(as_text=True), "shown once"
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 303
    assert client.get("/api/v1/assets", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_admin_password_reset_ends_sessions_and_revokes_tokens(app, client, district, login_as):
    from app.models import Via
    from app.services.users import issue_token

    login_as("admin")
    with app.app_context():
        target = factories.make_user(Role.tech, "LHS", email="reset@example.org")
        raw = issue_token(target, name="label printer", by=None, via=Via.cli)
        db.session.commit()
        target_id = target.id
    phone = app.test_client()
    phone.post("/login", data={"email": "reset@example.org", "password": factories.PASSWORD})
    assert phone.get("/assets").status_code == 200
    bearer = {"Authorization": f"Bearer {raw}"}
    assert app.test_client().get("/api/v1/assets", headers=bearer).status_code == 200
    assert "revokes their API tokens" in client.get(f"/users/{target_id}").get_data(as_text=True)
    resp = client.post(
        f"/users/{target_id}", data={"name": "", "role": "tech", "campuses": ["LHS"], "password": "a-fresh-password"}
    )
    assert resp.status_code == 303
    assert phone.get("/assets").status_code == 302
    assert app.test_client().get("/api/v1/assets", headers=bearer).status_code == 401
    with app.app_context():
        assert db.session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == target_id)) is not None
