"""A viewer mints API tokens only once an admin allows it on their user page: the server refuses before that, the
change is an activity entry, and the users list shows which viewers hold the allowance."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, ApiToken, Role, User
from tests import factories


def test_the_allowance_is_refused_until_given_logged_and_shown(app, client, district, login_as):
    with app.app_context():
        viewer = factories.make_user(Role.viewer, "LHS", email="board@example.org")
        db.session.commit()
        viewer_id = viewer.id
    own = app.test_client()
    assert own.post("/login", data={"email": "board@example.org", "password": factories.PASSWORD}).status_code == 302
    # The server refuses, whatever the page shows: a hand-made POST gets 403 and no token.
    assert own.post("/account/tokens", data={"name": "board report"}).status_code == 403

    admin = login_as("admin", "LHS")
    listing = client.get("/users").get_data(as_text=True)
    row = listing.split(f'id="user-{viewer_id}"')[1].split("</li>")[0]
    assert "API tokens" not in row
    form = {"name": "Board", "role": "viewer", "campuses": ["LHS"], "api_tokens": "y"}
    assert client.post(f"/users/{viewer_id}", data=form).status_code == 303
    row = client.get("/users").get_data(as_text=True).split(f'id="user-{viewer_id}"')[1].split("</li>")[0]
    assert ">API tokens</span>" in row
    with app.app_context():
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "user.api_tokens"))
        assert (entry.user_id, entry.before, entry.after) == (
            admin.id,
            {"api_tokens_allowed": False},
            {"api_tokens_allowed": True},
        )
        assert db.session.get(User, viewer_id).api_tokens_allowed

    assert own.post("/login", data={"email": "board@example.org", "password": factories.PASSWORD}).status_code == 302
    assert own.post("/account/tokens", data={"name": "board report"}).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1
