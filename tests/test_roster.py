"""OneRoster import: the sample files, upserts, deactivation, campus scoping, and broken files that import nothing."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, ImportRun, Person, PersonKind, Role, Via
from app.services import roster
from app.services.errors import Invalid
from tests import factories
from tests.roster_world import FIXTURES, HEADER, ORGS, USERS, make_campuses


@pytest.fixture
def campuses(app):
    make_campuses(app)


def people_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Person))


def run(users: str | bytes, orgs: str | None = ORGS, **kw) -> roster.ImportReport:
    data = users.encode() if isinstance(users, str) else users
    files = roster.RosterFiles(data, orgs.encode() if orgs is not None else None)
    return roster.import_roster(files, by=kw.pop("by", None), via=Via.cli, **kw)


def write_dir(tmp_path: Path, users: str, orgs: str | None = ORGS) -> Path:
    (tmp_path / "users.csv").write_text(users, encoding="utf-8")
    if orgs is not None:
        (tmp_path / "orgs.csv").write_text(orgs, encoding="utf-8")
    return tmp_path


def test_sample_files_dry_run_then_import_then_again(app, campuses):
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["import", "oneroster", str(FIXTURES), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "line 2: create Zoe Martinez (LHS100001)" in dry.output
    assert "52 new, 0 updated, 1 unchanged, 0 deactivated would be imported; 0 bad row(s)" in dry.output
    with app.app_context():
        assert people_count() == 0, "a dry run writes nothing"

    done = runner.invoke(args=["import", "oneroster", str(FIXTURES)])
    assert done.exit_code == 0, done.output
    assert "52 new" in done.output and "were imported" in done.output
    with app.app_context():
        people = {p.external_id: p for p in db.session.scalars(sa.select(Person))}
        assert len(people) == 52
        zoe = people["LHS100001"]
        assert (zoe.name, zoe.kind, zoe.grade, zoe.campus.code, zoe.sourced_id) == (
            "Zoe Martinez",
            PersonKind.student,
            "12",
            "LHS",
            "u-00001",
        )
        assert zoe.email == "zoe.martinez1@students.mvusd.example" and zoe.username == "zoe.martinez1"
        teacher = people["T15"]
        assert teacher.kind is PersonKind.staff and teacher.grade is None
        # A teacher in two schools lands on the first one that is a campus; accents survive.
        jose = people["T52"]
        assert jose.name == "José Núñez-Renée" and jose.campus.code == "LHS"
        assert "RES199999" not in people, "a tobedeleted row never creates anyone"
        entries = db.session.scalars(sa.select(Activity).where(Activity.action == "people.import")).all()
        assert len(entries) == 1
        assert entries[0].via is Via.cli and entries[0].after["created"] == 52 and entries[0].after["errors"] == 0

    again = runner.invoke(args=["import", "oneroster", str(FIXTURES / "users.csv")])
    assert again.exit_code == 0, again.output
    assert "0 new, 0 updated, 53 unchanged" in again.output
    with app.app_context():
        assert people_count() == 52


def test_updates_deactivation_and_adopting_hand_made_people(app, ctx, campuses):
    lhs = factories.make_campus("LHS")
    # Typed in by hand before the roster arrived: the import adopts the record instead of duplicating it.
    hand = factories.make_person(lhs, "Zoe M.", external_id="LHS100001")
    db.session.commit()
    report = run(USERS)
    db.session.commit()
    assert report.ok and report.created == 51 and report.updated == 1
    db.session.refresh(hand)
    assert hand.sourced_id == "u-00001" and hand.name == "Zoe Martinez"

    renamed = USERS.replace(
        "u-00002,active,2026-08-15T12:00:00Z,true,org-hs,student,hana.smith2",
        "u-00002,active,2026-08-15T12:00:00Z,true,org-ms,student,hana.smith2",
    )
    renamed = renamed.replace(",Hana,Smith,,LHS100002,", ",Hannah,Smith,,LHS100002,")
    renamed = renamed.replace("u-00003,active,", "u-00003,tobedeleted,")
    report = run(renamed, dry_run=True)
    assert report.ok and report.dry_run and (report.updated, report.deactivated) == (1, 1)
    change = next(c for c in report.changes if c["sourced_id"] == "u-00002")
    assert change["fields"]["name"] == ["Hana Smith", "Hannah Smith"]
    assert change["fields"]["campus"] == ["LHS", "JMS"]
    report = run(renamed)
    db.session.commit()
    hana = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100002"))
    diego = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100003"))
    assert hana.name == "Hannah Smith" and hana.campus.code == "JMS"
    assert diego.active is False


def test_one_campus_at_a_time(app, ctx, campuses):
    report = run(USERS, campus_code="JMS")
    db.session.commit()
    assert report.ok and report.created == 18
    assert any("34 row(s) for other campuses" in n for n in report.notes)
    codes = set(db.session.scalars(sa.select(Person.campus_id).distinct()))
    assert len(codes) == 1
    with pytest.raises(Invalid, match="no campus"):
        run(USERS, campus_code="NOPE")


def test_campus_scoped_admin_imports_only_their_campus(app, ctx, campuses):
    admin = factories.make_user(Role.admin, "RES")
    report = roster.import_roster(roster.RosterFiles(USERS.encode(), ORGS.encode()), by=admin, via=Via.web)
    db.session.commit()
    assert report.ok and report.created == 17
    assert {p.campus.code for p in db.session.scalars(sa.select(Person))} == {"RES"}
    with pytest.raises(Invalid, match="your own campuses"):
        roster.import_roster(
            roster.RosterFiles(USERS.encode(), ORGS.encode()), by=admin, via=Via.web, campus_code="LHS"
        )


def test_without_orgs_a_campus_must_be_named(app, ctx, campuses):
    report = run(USERS, orgs=None)
    assert not report.ok and "orgs.csv is needed" in report.errors[0].message
    report = run(USERS, orgs=None, campus_code="LHS")
    assert report.ok and report.created == 52


def test_zip_and_bom_and_windows_line_endings(app, ctx, campuses, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("oneroster/users.csv", "\ufeff" + USERS)
        archive.writestr("oneroster/orgs.csv", "\ufeff" + ORGS)
    path = tmp_path / "roster.zip"
    path.write_bytes(buffer.getvalue())
    files = roster.files_from_path(path)
    report = roster.import_roster(files, by=None, via=Via.cli)
    assert report.ok and report.created == 52
    uploaded = roster.files_from_upload(buffer.getvalue(), None, "roster.zip")
    assert uploaded.orgs is not None and uploaded.name == "roster.zip/users.csv"
    with pytest.raises(Invalid, match="no users.csv"):
        empty = io.BytesIO()
        with zipfile.ZipFile(empty, "w") as archive:
            archive.writestr("readme.txt", "hi")
        roster.files_from_upload(empty.getvalue(), None, "x.zip")


def _lines(*rows: str) -> str:
    return "\r\n".join([HEADER, *rows]) + "\r\n"


GOOD = "u-1,active,,true,org-hs,student,a.b,,Ada,Byron,,LHS900001,ada@example.org,,,,10,"
WIZARD = GOOD.replace("student", "wizard").replace("u-1", "u-3")


@pytest.mark.parametrize(
    "users,orgs,expected",
    [
        (
            _lines(GOOD, GOOD.replace("LHS900001", "LHS900002")),
            ORGS,
            ["line 3, sourcedId: duplicate sourcedId 'u-1' (first on line 2)"],
        ),
        (
            _lines(GOOD.replace("org-hs", "org-nowhere")),
            ORGS,
            ["line 2, orgSourcedIds: unknown org 'org-nowhere' (not in orgs.csv)"],
        ),
        (
            _lines(GOOD, GOOD.replace("u-1", "u-2")),
            ORGS,
            ["line 3, identifier: identifier 'LHS900001' is also on line 2"],
        ),
        # Blank lines are skipped but still counted, so line numbers match what an editor shows.
        (
            f"{HEADER}\r\n\r\n{GOOD}\r\n\r\n,,,,,,,,,,,,,,,,,\r\n{WIZARD}\r\n",
            ORGS,
            ["line 6, role: unknown role 'wizard'"],
        ),
        (
            _lines(GOOD.replace("LHS900001", "")),
            ORGS,
            ["line 2, identifier: identifier (the student ID) is empty"],
        ),
        (
            _lines(GOOD.replace(",Ada,Byron,", ",,,")),
            ORGS,
            ["line 2, givenName: givenName and familyName are both empty"],
        ),
        (
            _lines(GOOD),
            ORGS + "org-x,active,,New School,school,NEW,org-district\r\norg-x,active,,Dup,school,DUP,\r\n",
            ["line 7, sourcedId: orgs.csv: duplicate sourcedId 'org-x' (first on line 6)"],
        ),
        (
            _lines(GOOD.replace("org-hs", "org-new")),
            ORGS + "org-new,active,,New School,school,NEW,org-district\r\n",
            [
                "line 2, orgSourcedIds: school New School has identifier 'NEW', which is no campus code; "
                "add that campus or import one campus at a time"
            ],
        ),
    ],
    ids=[
        "duplicate-sourcedid",
        "unknown-org",
        "duplicate-identifier",
        "blank-lines",
        "no-identifier",
        "no-name",
        "duplicate-org",
        "school-without-campus",
    ],
)
def test_broken_files_report_each_row_and_import_nothing(app, ctx, campuses, users, orgs, expected):
    # Good rows around the bad one: all-or-nothing means none of them is written either.
    report = run(users, orgs)
    assert [str(e) for e in report.errors] == expected
    assert report.dry_run, "a file with errors is never applied"
    db.session.commit()
    assert people_count() == 0


def test_missing_columns_are_named_in_oneroster_spelling(app, ctx, campuses):
    report = run("sourcedId,status,role,givenName\r\nu-1,active,student,Ada\r\n")
    [error] = report.errors
    assert error.line == 1 and report.dry_run
    for column in ("orgSourcedIds", "familyName", "identifier"):
        assert column in error.message
    assert "lastName" not in error.message and "studentId" not in error.message
    assert people_count() == 0


def test_many_bad_rows_all_listed_nothing_imported_cli(app, campuses, tmp_path):
    bad = USERS.replace("org-hs,student,zoe", "org-zz,student,zoe").replace(",Isla,Smith,,LHS100004,", ",,,,LHS100004,")
    bad = "\ufeff" + bad.replace("u-00010,", "u-00009,")
    folder = write_dir(tmp_path, bad)
    result = app.test_cli_runner().invoke(args=["import", "oneroster", str(folder)])
    assert result.exit_code == 1
    assert "line 2, orgSourcedIds: unknown org 'org-zz'" in result.output
    assert "line 5, givenName: givenName and familyName are both empty" in result.output
    assert "line 11, sourcedId: duplicate sourcedId 'u-00009' (first on line 10)" in result.output
    assert "3 bad row(s); nothing was imported." in result.output
    with app.app_context():
        assert people_count() == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_identifier_held_by_another_roster_record(app, ctx, campuses):
    lhs = factories.make_campus("LHS")
    factories.make_person(lhs, "Someone Else", external_id="LHS100001", sourced_id="other-system-1")
    db.session.commit()
    report = run(USERS)
    assert [str(e) for e in report.errors] == [
        "line 2, identifier: identifier 'LHS100001' already belongs to Someone Else (another roster record)"
    ]


def _big_roster(size: int) -> bytes:
    """A users.csv of about `size` bytes: Lincoln High's students, numbered."""
    out = bytearray((HEADER + "\r\n").encode())
    n = 0
    while len(out) < size:
        row = f"u-{n},active,,true,org-hs,student,s{n},,Student,Number{n},,LHS{n:07d},s{n}@example.org,,,,10,"
        out += (row + "\r\n").encode()
        n += 1
    return bytes(out)


def _post_roster(client, users: bytes, **headers):
    data = {"users": (io.BytesIO(users), "users.csv"), "orgs": (io.BytesIO(ORGS.encode()), "orgs.csv")}
    return client.post("/people/import", data=data, content_type="multipart/form-data", headers=headers)


def test_roster_upload_takes_the_import_limit_and_says_it(app, client, campuses, login_as, monkeypatch):
    """Above the app's body limit, within the import limit: read from the spooled upload, parked compressed."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    monkeypatch.setitem(app.config, "IMPORT_MAX_CONTENT_LENGTH", 3 * 1024 * 1024)
    login_as(Role.admin)
    assert "Up to 3 MB in all." in client.get("/people/import").get_data(as_text=True)
    users = _big_roster(2 * 1024 * 1024)
    resp = _post_roster(client, users)
    assert resp.status_code == 303
    url = resp.headers["Location"]
    body = client.get(url).get_data(as_text=True)
    assert "Nothing is saved yet." in body
    created = int(re.search(r"(\d+) new, 0 updated", body).group(1))
    assert created > 20_000
    with app.app_context():
        parked = db.session.scalar(sa.select(ImportRun).where(ImportRun.token == url.rsplit("/", 1)[1]))
        assert len(parked.content) < len(users) / 3
        assert zipfile.ZipFile(io.BytesIO(parked.content)).read("users.csv") == users
    assert client.post(f"{url}/apply").status_code == 303
    assert f"Imported: {created} new" in client.get(url).get_data(as_text=True)
    with app.app_context():
        assert people_count() == created


@pytest.mark.parametrize("headers", [{"HX-Request": "true"}, {}], ids=["htmx", "plain"])
def test_roster_upload_over_the_limit_is_413_on_the_form(app, client, campuses, login_as, monkeypatch, headers):
    monkeypatch.setitem(app.config, "IMPORT_MAX_CONTENT_LENGTH", 1024 * 1024)
    login_as(Role.admin)
    resp = _post_roster(client, _big_roster(1024 * 1024), **headers)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 413
    assert '<p class="error" id="roster-users-error">That file is larger than 1 MB, the most an import takes.' in body
    assert ("<html" in body) is not bool(headers) and 'id="roster-import"' in body
    with app.app_context():
        assert people_count() == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportRun)) == 0
