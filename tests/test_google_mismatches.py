"""The Google mismatch list's actions: reassign to the Google user, open a ticket, mark as expected (and undo),
with their refusals, the activity they log, and who may use them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Assignment, Loan, Role, Ticket, Via, utcnow
from app.models.google_expected import GoogleExpectedUser
from app.services import assets as asset_service
from tests import factories
from tests.conftest import hx

LIST = "/imports/google-admin/mismatches"


@pytest.fixture
def fleet(app):
    """LHS devices used in Google by someone other than their assignee, and one on JMS."""
    with app.app_context():
        lhs, jms = factories.make_campus("LHS"), factories.make_campus("JMS")
        clerk = factories.make_user(Role.admin, "LHS")
        owner = factories.make_person(lhs, "Yara Owens", email="yara.owens@students.example.org")
        user = factories.make_person(lhs, "Xavier Ruiz", email="Xavier.Ruiz@students.example.org")
        factories.make_person(lhs, "Kim Park", email="kim.park@students.example.org")
        shared = factories.make_asset(lhs, asset_tag="LHS-7001", google_recent_user="xavier.ruiz@students.example.org")
        asset_service.assign(shared, owner, by=clerk, via=Via.web)
        typo = factories.make_asset(lhs, asset_tag="LHS-7002", google_recent_user="kim.parc@students.example.org")
        lent = factories.make_asset(lhs, asset_tag="LHS-7003", google_recent_user="xavier.ruiz@students.example.org")
        db.session.add(Loan(asset=lent, person=owner, due_at=utcnow() + timedelta(days=2)))
        repair = factories.make_asset(
            lhs,
            asset_tag="LHS-7004",
            status=AssetStatus.in_repair,
            google_recent_user="xavier.ruiz@students.example.org",
        )
        other = factories.make_asset(jms, asset_tag="JMS-7001", google_recent_user="xavier.ruiz@students.example.org")
        db.session.commit()
        return {
            "shared": shared.id,
            "typo": typo.id,
            "lent": lent.id,
            "repair": repair.id,
            "other": other.id,
            "owner": owner.id,
            "user": user.id,
        }


def _listed(client, path: str = LIST) -> set[str]:
    return set(re.findall(r'<span class="tag">([A-Z]+-\d+)</span>', client.get(path).get_data(as_text=True)))


def _row_of(html: str, tag: str) -> str:
    start = html.index(f'<span class="tag">{tag}</span>')
    return html[start : html.index("</li>", start)]


def test_rows_offer_reassign_to_the_person_with_that_email_or_say_none_has_it(client, login_as, fleet):
    login_as(Role.admin, "LHS")
    page = client.get(LIST).get_data(as_text=True)
    fragment = client.get(LIST, headers=hx()).get_data(as_text=True)
    assert '<div id="mismatches"' in fragment and "<html" not in fragment and "<html" in page
    # The email matches Xavier's whatever its case; the JMS device is not on this admin's list.
    assert "Reassign to Xavier Ruiz" in _row_of(page, "LHS-7001")
    assert "JMS-7001" not in page
    typo = _row_of(page, "LHS-7002")
    assert "Reassign" not in typo
    assert "No person in Rollcall has the email kim.parc@students.example.org." in typo
    assert "Did you mean kim.park@students.example.org?" in typo
    assert "Used by xavier.ruiz@students.example.org, assigned to Yara Owens" in _row_of(page, "LHS-7001")


def test_reassign_hands_the_device_to_its_google_user_and_logs_it(app, client, login_as, fleet):
    me = login_as(Role.admin, "LHS")
    resp = client.post("/google/mismatches/LHS-7001/reassign", headers=hx())
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert body.lstrip().startswith(f'<li class="asset-row mismatch-row" id="mismatch-{fleet["shared"]}"')
    assert "LHS-7001 is now assigned to Xavier Ruiz." in body and "Reassign to" not in body
    with app.app_context():
        asset = db.session.get(Asset, fleet["shared"])
        assert asset.assigned_to_id == fleet["user"] and asset.status is AssetStatus.deployed
        rows = db.session.scalars(
            sa.select(Assignment).where(Assignment.asset_id == asset.id).order_by(Assignment.id)
        ).all()
        assert [(r.person_id, r.returned_at is not None, r.returned_by_id) for r in rows] == [
            (fleet["owner"], True, me.id),
            (fleet["user"], False, None),
        ]
        entry = db.session.scalars(
            sa.select(Activity)
            .where(Activity.asset_id == asset.id, Activity.action == "asset.assign")
            .order_by(Activity.id.desc())
        ).first()
        assert entry.user_id == me.id and entry.before["assigned_to"] == "Yara Owens"
        assert entry.after["assigned_to"] == "Xavier Ruiz"
    assert "LHS-7001" not in _listed(client)


@pytest.mark.parametrize(
    "tag,reason",
    [
        ("LHS-7003", "LHS-7003 is on loan to Yara Owens; check it in first."),
        ("LHS-7004", "cannot be assigned"),
        ("LHS-7002", "No one on your campuses in Rollcall has the email kim.parc@students.example.org."),
    ],
)
def test_reassign_refusals_say_why_and_change_nothing(app, client, login_as, fleet, tag, reason):
    login_as(Role.admin, "LHS")
    resp = client.post(f"/google/mismatches/{tag}/reassign", headers=hx())
    assert resp.status_code == 422
    assert reason in resp.get_data(as_text=True)
    assert client.post(f"/google/mismatches/{tag}/reassign").status_code == 422  # a plain form post too
    with app.app_context():
        assert db.session.scalar(sa.select(Asset.assigned_to_id).where(Asset.asset_tag == tag)) is None
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.action == "asset.assign"))
            == 1
        )


def test_a_plain_form_post_goes_back_to_the_list(client, login_as, fleet):
    login_as(Role.admin, "LHS")
    resp = client.post("/google/mismatches/LHS-7001/reassign")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(LIST)


def test_open_a_ticket_prefilled_and_link_to_it(app, client, login_as, fleet):
    me = login_as(Role.admin, "LHS")
    bad = client.post("/google/mismatches/LHS-7001/ticket", data={"category": "nonsense"}, headers=hx())
    assert bad.status_code == 422 and "Choose a category from the list." in bad.get_data(as_text=True)
    resp = client.post(
        "/google/mismatches/LHS-7001/ticket",
        data={"category": "other", "description": "Used by xavier.ruiz@students.example.org, assigned to Yara Owens."},
        headers=hx(),
    )
    assert resp.status_code == 200
    with app.app_context():
        ticket = db.session.scalars(sa.select(Ticket).where(Ticket.asset_id == fleet["shared"])).one()
        assert ticket.category.value == "other" and ticket.opened_by_id == me.id
        assert ticket.description.startswith("Used by xavier.ruiz@students.example.org, assigned to Yara Owens")
        number = ticket.number
        logged = db.session.scalar(
            sa.select(Activity.user_id).where(Activity.action == "ticket.open", Activity.asset_id == fleet["shared"])
        )
        assert logged == me.id
    assert f'href="/tickets/{number}"' in resp.get_data(as_text=True)
    # Left blank, the description is the prefilled one.
    client.post("/google/mismatches/LHS-7002/ticket", data={"category": "other", "description": ""}, headers=hx())
    with app.app_context():
        text = db.session.scalar(sa.select(Ticket.description).where(Ticket.asset_id == fleet["typo"]))
        assert text == "Used by kim.parc@students.example.org, assigned to no one."


def test_marked_as_expected_leaves_until_the_google_user_changes(app, client, login_as, fleet):
    me = login_as(Role.admin, "LHS")
    refused = client.post("/google/mismatches/LHS-7001/expected", data={"reason": "  "}, headers=hx())
    assert refused.status_code == 422 and "Say why" in refused.get_data(as_text=True)
    resp = client.post("/google/mismatches/LHS-7001/expected", data={"reason": "Cart 3, room 117"}, headers=hx())
    assert resp.status_code == 200 and "Undo" in resp.get_data(as_text=True)
    assert "LHS-7001" not in _listed(client)
    marked = client.get(f"{LIST}?expected=1").get_data(as_text=True)
    assert _listed(client, f"{LIST}?expected=1") == {"LHS-7001"}
    assert "Cart 3, room 117" in marked and me.name in marked
    with app.app_context():
        mark = db.session.get(GoogleExpectedUser, fleet["shared"])
        assert (mark.recent_user, mark.marked_by_id) == ("xavier.ruiz@students.example.org", me.id)
        entry = db.session.scalars(sa.select(Activity).where(Activity.action == "google.mismatch.expected")).one()
        assert entry.user_id == me.id and entry.asset_id == fleet["shared"]
        # Google reports someone else: the mark no longer holds.
        db.session.get(Asset, fleet["shared"]).google_recent_user = "kim.park@students.example.org"
        db.session.commit()
    assert "LHS-7001" in _listed(client)
    assert _listed(client, f"{LIST}?expected=1") == set()
    with app.app_context():
        db.session.get(Asset, fleet["shared"]).google_recent_user = "xavier.ruiz@students.example.org"
        db.session.commit()
    assert "LHS-7001" not in _listed(client)  # the same user again: still expected
    undo = client.post("/google/mismatches/LHS-7001/expected/delete", data={"expected": "1"}, headers=hx())
    assert undo.status_code == 200 and "back on the mismatch list" in undo.get_data(as_text=True)
    assert "LHS-7001" in _listed(client)
    again = client.post("/google/mismatches/LHS-7001/expected/delete", headers=hx())
    assert again.status_code == 422 and "is not marked as expected" in again.get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalars(sa.select(Activity).where(Activity.action == "google.mismatch.unexpected")).one()
        assert entry.user_id == me.id and entry.before["reason"] == "Cart 3, room 117"


def test_a_device_used_by_its_assignee_is_not_acted_on(app, client, login_as, fleet):
    login_as(Role.admin, "LHS")
    client.post("/google/mismatches/LHS-7001/reassign", headers=hx())
    resp = client.post("/google/mismatches/LHS-7001/expected", data={"reason": "cart"}, headers=hx())
    assert resp.status_code == 422 and "no longer on the mismatch list" in resp.get_data(as_text=True)


ACTIONS = [
    ("reassign", {}),
    ("ticket", {"category": "other"}),
    ("expected", {"reason": "cart"}),
    ("expected/delete", {}),
]


@pytest.mark.parametrize("action,data", ACTIONS, ids=[a for a, _ in ACTIONS])
def test_another_campus_is_404_and_other_roles_403(app, client, login_as, fleet, action, data):
    login_as(Role.admin, "JMS")
    assert client.post(f"/google/mismatches/LHS-7001/{action}", data=data, headers=hx()).status_code == 404
    assert client.post(f"/google/mismatches/NOPE-1/{action}", data=data, headers=hx()).status_code == 404
    for role in (Role.aide, Role.tech, Role.librarian, Role.viewer):
        login_as(role, "LHS")
        assert client.post(f"/google/mismatches/LHS-7001/{action}", data=data, headers=hx()).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GoogleExpectedUser)) == 0
        assert db.session.get(Asset, fleet["shared"]).assigned_to_id == fleet["owner"]


def test_actions_need_a_session_and_its_csrf_token(client, login_as, fleet):
    assert client.post("/google/mismatches/LHS-7001/reassign").status_code in (302, 401)
    login_as(Role.admin, "LHS")
    assert client.post("/google/mismatches/LHS-7001/reassign", csrf=False).status_code == 400


def test_fleet_mismatches_is_the_same_list_for_its_callers(app, fleet):
    from app.services.google import fleet as google_fleet

    with app.app_context():
        district_admin = factories.make_user(Role.admin)  # no campus: the whole district
        tags = {a.asset_tag for a in db.session.scalars(google_fleet.mismatches(district_admin))}
    assert tags == {"LHS-7001", "LHS-7002", "LHS-7003", "LHS-7004", "JMS-7001"}
