"""Student privacy in the JSON API: every response that names a person writes that person's record-view log, as
opening their page does; a response that names nobody writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Campus, Person, RecordView, User, Via
from app.services import privacy
from app.services.repairs import swaps
from app.services.users import issue_token
from tests import factories, repairs_world


@pytest.fixture
def shop(app):
    """The repair shop (Zoe holds LHS-1000, which has a ticket) with Zoe's device swapped for a loaner; a bearer
    token for its tech."""
    with app.app_context():
        world = repairs_world.make_shop()
        swaps.swap_in_loaner(world["ticket"], by=world["tech"], via=Via.web, loaner=world["loaners"][0])
        raw = issue_token(world["tech"], by=None, via=Via.cli)
        db.session.commit()
        out = repairs_world.ids(world)
        out["number"] = world["ticket"].number
    out["headers"] = {"Authorization": f"Bearer {raw}"}
    return out


def _named(body: Any) -> set[str]:
    """The IDs of every person a response names: person objects, a swap's person, triage's responsible."""
    found: set[str] = set()
    if isinstance(body, dict):
        if isinstance(body.get("external_id"), str):
            found.add(body["external_id"])
        for key, value in body.items():
            if key in ("person", "responsible") and isinstance(value, str):
                found.add(value)
            else:
                found |= _named(value)
    elif isinstance(body, list):
        for value in body:
            found |= _named(value)
    return found


def _logged_since(app, last_id: int) -> list[tuple[str, int, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Person.external_id, RecordView.user_id, RecordView.what)
            .join(Person, Person.id == RecordView.person_id)
            .where(RecordView.id > last_id)
            .order_by(Person.external_id)
        ).all()
    return [tuple(r) for r in rows]


def _last_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(RecordView.id), 0)))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/people", None),
        ("get", "/api/v1/people/LHS100002", None),
        ("get", "/api/v1/assets", None),
        ("get", "/api/v1/assets/LHS-1000", None),
        ("get", "/api/v1/loans?open=1", None),
        ("get", "/api/v1/tickets/{number}", None),
        ("post", "/api/v1/loans", {"asset": "LHS-L002", "person": "LHS100002"}),
        ("post", "/api/v1/loans/checkin", {"asset": "LHS-L001"}),
    ],
)
def test_every_person_a_response_names_is_logged_once(app, client, shop, method, path, body):
    before = _last_id(app)
    resp = getattr(client, method)(path.format(number=shop["number"]), headers=shop["headers"], json=body)
    assert resp.status_code in (200, 201), resp.get_json()
    named = _named(resp.get_json())
    assert named, "each of these responses names someone"
    assert _logged_since(app, before) == [(who, shop["tech"], "api") for who in sorted(named)]


@pytest.mark.parametrize("path", ["/api/v1/assets/LHS-L002", "/api/v1/tickets", "/api/v1/people?q=nobody"])
def test_a_response_naming_nobody_logs_nothing(app, client, shop, path):
    before = _last_id(app)
    resp = client.get(path, headers=shop["headers"])
    assert resp.status_code == 200 and not _named(resp.get_json())
    assert _logged_since(app, before) == []


def test_a_refused_read_logs_nothing(app, client, shop):
    before = _last_id(app)
    assert client.get("/api/v1/people/NOPE404", headers=shop["headers"]).status_code == 404
    resp = client.post("/api/v1/loans", headers=shop["headers"], json={"asset": "LHS-L002", "person": "JMS-none"})
    assert resp.status_code == 422
    assert _logged_since(app, before) == []


def test_a_viewers_session_reads_are_logged_and_shown_on_the_record(app, client, shop, login_as):
    """A viewer reading through the session (not a token): the holder's read is a visit on their record."""
    viewer = login_as("viewer", "LHS")
    before = _last_id(app)
    body = client.get("/api/v1/assets/LHS-1000").get_json()
    assert (body["assigned_to"]["external_id"], body["assigned_to"]["name"]) == ("LHS100001", "Zoe Martinez")
    assert _logged_since(app, before) == [("LHS100001", viewer.id, "api")]
    with app.app_context():
        zoe = db.session.get(Person, shop["student"])
        assert [(v.user.id, v.what) for v in privacy.visits(zoe)][0] == (viewer.id, {"api"})


def test_note_views_logs_each_person_once(app, shop):
    with app.app_context():
        lhs = db.session.get(Campus, shop["lhs"])
        people = [factories.make_person(lhs) for _ in range(3)]
        db.session.commit()
        user = db.session.get(User, shop["tech"])
        assert privacy.note_views([*people, people[0], None], user, "api", db.session.connection()) == 3
        db.session.commit()
        rows = db.session.execute(sa.select(RecordView.person_id).where(RecordView.what == "api")).scalars().all()
        assert sorted(rows) == sorted(p.id for p in people)
