"""Guardians from the roster: read from parent/guardian/relative rows and agentSourcedIds (either side), kept with
their contacts, linked to their students, shown on a student's page only to those who hold personal data."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Guardian, GuardianLink, Person, Role, User, Via
from app.services import privacy, roster
from tests import factories
from tests.roster_world import FIXTURES, ORGS, make_campuses

FAMILIES = [
    # Maria writes her child's sourcedId on her own row.
    {"sourcedId": "g-1", "role": "parent", "givenName": "María", "familyName": "Martínez", "email": "MARIA@Example.org",
     "phone": "555-0101", "agentSourcedIds": "u-00001", "preferredLanguage": "es", "orgSourcedIds": "org-hs"},
    # Hana's row names her guardian instead (agentSourcedIds on the student's side).
    {"sourcedId": "g-2", "role": "guardian", "givenName": "Ken", "familyName": "Smith", "sms": "555-0102",
     "orgSourcedIds": "org-district"},
    # A relative of a Jefferson Middle student.
    {"sourcedId": "g-3", "role": "relative", "givenName": "Ana", "familyName": "Lee", "agentSourcedIds": "u-00018",
     "orgSourcedIds": "org-ms"},
    # A guardian of no one in the file: not kept.
    {"sourcedId": "g-9", "role": "guardian", "givenName": "No", "familyName": "One", "orgSourcedIds": "org-district"},
]  # fmt: skip


@pytest.fixture
def campuses(app):
    make_campuses(app)


def users_csv(families: list[dict] = FAMILIES, agents: dict[str, str] | None = None, **changes: dict) -> str:
    """The sample users.csv with a preferredLanguage column, these guardian rows, and students' agentSourcedIds."""
    agents = {"u-00002": "g-2"} if agents is None else agents
    source = list(csv.DictReader(io.StringIO((FIXTURES / "users.csv").read_text(encoding="utf-8"))))
    header = [*source[0].keys(), "preferredLanguage"]
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\r\n", restval="")
    writer.writeheader()
    for row in source:
        row["agentSourcedIds"] = agents.get(row["sourcedId"], "")
        writer.writerow(row)
    for family in families:
        writer.writerow({"status": "active", "enabledUser": "false", **family, **changes.get(family["sourcedId"], {})})
    return out.getvalue()


def run(users: str, by: User | None = None, **kw) -> roster.RosterReport:
    return roster.import_roster(roster.RosterFiles(users.encode(), ORGS.encode()), by=by, via=Via.cli, **kw)


def families() -> dict[str, list[str]]:
    """Each student's guardians' sourcedIds, by student ID."""
    rows = db.session.execute(
        sa.select(Person.external_id, Guardian.sourced_id)
        .join(GuardianLink, GuardianLink.person_id == Person.id)
        .join(Guardian, Guardian.id == GuardianLink.guardian_id)
        .order_by(Person.external_id, Guardian.sourced_id)
    )
    out: dict[str, list[str]] = {}
    for eid, sid in rows:
        out.setdefault(eid, []).append(sid)
    return out


def guardian(sid: str) -> Guardian:
    return db.session.scalar(sa.select(Guardian).where(Guardian.sourced_id == sid))


def test_guardians_are_kept_with_their_contacts_and_linked(app, ctx, campuses):
    report = run(users_csv(), dry_run=True)
    assert report.ok and (report.guardians_created, report.guardians_updated) == (3, 0)
    assert report.created == 52, "guardians are not people who hold devices"
    assert any("Guardians: 3 new, 0 updated" in n for n in report.notes)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Guardian)) == 0, "a dry run writes nothing"

    run(users_csv())
    db.session.commit()
    assert families() == {"JMS100018": ["g-3"], "LHS100001": ["g-1"], "LHS100002": ["g-2"]}
    maria = guardian("g-1")
    assert (maria.name, maria.email, maria.phone, maria.role, maria.language) == (
        "María Martínez",
        "maria@example.org",
        "555-0101",
        "parent",
        "es",
    )
    assert (guardian("g-2").phone, guardian("g-2").language, guardian("g-3").role) == ("555-0102", None, "relative")
    assert guardian("g-9") is None
    assert db.session.scalar(sa.select(Person).where(Person.sourced_id.like("g-%"))) is None, "nor people"

    again = run(users_csv())
    db.session.commit()
    assert (again.guardians_created, again.guardians_updated, again.updated) == (0, 0, 0)
    entry = db.session.scalars(
        sa.select(Activity).where(Activity.action == "people.import").order_by(Activity.id.desc())
    ).first()
    assert entry.after["guardian_links_changed"] == 0


def test_changed_contacts_dropped_links_and_removed_guardians(app, ctx, campuses):
    run(users_csv())
    db.session.commit()
    changed = users_csv(agents={}, **{"g-1": {"phone": "555-0199"}, "g-3": {"status": "tobedeleted"}})
    report = run(changed)
    db.session.commit()
    assert report.guardians_updated == 1
    assert guardian("g-1").phone == "555-0199"
    assert guardian("g-3").active is False, "a removed guardian is kept inactive, like a removed person"
    assert families() == {"LHS100001": ["g-1"]}


def test_a_campus_admin_keeps_only_their_own_families(app, ctx, campuses):
    admin = factories.make_user(Role.admin, "JMS")
    report = run(users_csv(), by=admin)
    db.session.commit()
    assert report.guardians_created == 1
    assert families() == {"JMS100018": ["g-3"]}


def test_a_guardian_row_with_bad_cells_is_a_bad_row(app, ctx, campuses):
    report = run(users_csv(**{"g-1": {"givenName": "", "familyName": ""}, "g-2": {"phone": "5" * 41}}))
    messages = sorted(str(e).split(": ", 1)[1] for e in report.errors)
    assert messages == ["givenName and familyName are both empty", "phone is longer than 40 characters"]
    assert report.dry_run and db.session.scalar(sa.select(sa.func.count()).select_from(Guardian)) == 0


def test_student_page_shows_guardians_to_admins_only(app, client, campuses, login_as):
    with app.app_context():
        run(users_csv())
        db.session.commit()
    login_as(Role.admin, "LHS")
    body = client.get("/people/LHS100001").get_data(as_text=True)
    assert 'id="person-guardians"' in body
    assert "María Martínez" in body and "maria@example.org" in body and "555-0101" in body and "notices in es" in body
    assert 'id="person-guardians"' not in client.get("/people/T15").get_data(as_text=True), "staff have none"
    for role in (Role.librarian, Role.tech, Role.viewer):
        login_as(role, "LHS")
        body = client.get("/people/LHS100001").get_data(as_text=True)
        assert "Zoe Martinez" in body
        assert 'id="person-guardians"' not in body and "maria@example.org" not in body, role


def test_export_and_erasure_take_the_family_along(app, ctx, campuses):
    run(users_csv())
    db.session.commit()
    admin = factories.make_user(Role.admin)
    zoe = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100001"))
    document = privacy.export(zoe, by=admin)
    assert [g["email"] for g in document["guardians"]] == ["maria@example.org"]
    privacy.erase(zoe, confirm="LHS100001", by=admin, via=Via.web)
    db.session.commit()
    assert guardian("g-1") is None, "a guardian of no other student goes with the student's data"
    assert guardian("g-2") is not None and families() == {"JMS100018": ["g-3"], "LHS100002": ["g-2"]}
