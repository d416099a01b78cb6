"""Erasure is complete and cannot be broken by what is stored: every text and JSON column of every table is
searched for the person's name, IDs and email afterwards, and stored JSON of any depth or shape is survived."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    Asset,
    Fee,
    FeeStatus,
    ImportKind,
    ImportRun,
    Loan,
    Observation,
    ObservationSource,
    Person,
    Role,
    Room,
    SyncEvent,
    SyncStatus,
    TicketCategory,
    TicketLabour,
    UnknownScan,
    User,
    Via,
    utcnow,
)
from app.services import activity, privacy, tickets
from tests import factories

ZOE = "LHS100001"
EMAIL = "zoe@students.example.org"
# Her OneRoster sourcedId is 1000, which is also the number in the device tag LHS-1000.
SOURCED = "1000"
USERNAME = "zmartinez"


def _whole(text: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(text)}(?![\w-])", re.IGNORECASE)


FORBIDDEN = [_whole("Zoe Martinez"), _whole(ZOE), _whole(EMAIL), _whole(SOURCED), _whole(USERNAME)]


def _text_like(column: sa.Column) -> bool:
    kind = column.type.impl_instance if isinstance(column.type, sa.types.TypeDecorator) else column.type
    return isinstance(kind, (sa.String, sa.Text, sa.JSON))


def mentions_everywhere(label: str) -> set[tuple[str, str]]:
    """(table, column) of every text-like value anywhere in the database that still names Zoe.

    Independent of the code under test: every String, Text and JSON column of every table, keys, codes and
    enums included, read as stored text; the label she was given is taken out first (it holds her row id).
    """
    found = set()
    for table in db.metadata.sorted_tables:
        for column in (c for c in table.columns if _text_like(c)):
            for (value,) in db.session.execute(sa.select(sa.cast(column, sa.Text))):
                text = (value or "").replace(label, "")
                if any(p.search(text) for p in FORBIDDEN):
                    found.add((table.name, column.name))
    return found


@pytest.fixture
def mentioned(app, district):
    """Zoe named by name, ID, sourcedId, username or email in records all over the district, most not linked to
    her; her fees are waived and she holds no device, so she can be erased."""
    with app.app_context():
        zoe = db.session.get(Person, district["student"])
        zoe.email, zoe.sourced_id, zoe.username = EMAIL, SOURCED, USERNAME
        liam = db.session.get(Person, district["jms_student"])
        tech = factories.make_user(Role.tech, "LHS", email="tech.erasure@example.org")
        device = db.session.get(Asset, district["lhs_asset"])
        spare = db.session.get(Asset, district["spare"])
        device.notes = f"Zoe Martinez (id {SOURCED}) had LHS-1000 until June; LHS-1000 stays with the library."
        spare.google_recent_user = EMAIL
        spare.annotated_user = USERNAME
        db.session.add_all(
            [
                Fee(
                    person=zoe,
                    asset=device,
                    amount=Decimal("25.00"),
                    reason=f"Screen, Zoe Martinez ({ZOE})",
                    status=FeeStatus.waived,
                    settle_note="Waived: ZOE MARTINEZ qualifies for aid",
                ),
                Fee(
                    person=liam,
                    amount=Decimal("10.00"),
                    reason=f"Charger borrowed from {USERNAME}",
                    status=FeeStatus.outstanding,
                ),
                Observation(
                    asset=device,
                    room_id=district["lhs_room"],
                    at=utcnow(),
                    by_id=tech.id,
                    note=f"Found in the gym, {EMAIL} says it is hers",
                    source=ObservationSource.scan,
                    via=Via.web,
                ),
                Loan(
                    asset=spare,
                    person=liam,
                    due_at=utcnow() + timedelta(days=1),
                    returned_at=utcnow(),
                    note=f"Liam took it for Zoe Martinez / {ZOE}",
                ),
                UnknownScan(code=ZOE, room_id=district["lhs_room"], at=utcnow(), note="Zoe Martinez's ID card"),
                SyncEvent(
                    id=str(uuid.uuid4()),
                    type="loan.checkout",
                    user_id=tech.id,
                    status=SyncStatus.rejected,
                    reason="Unknown device",
                    at=utcnow(),
                    data={"asset": "LHS-1000", "person": ZOE, "extra": [{ZOE: f"{USERNAME} and LHS-1000"}]},
                ),
                ImportRun(
                    kind=ImportKind.oneroster,
                    token=uuid.uuid4().hex,
                    filename="users.csv",
                    report={"skipped": [{"row": 7, "name": "Zoe Martinez", "email": EMAIL}]},
                ),
            ]
        )
        db.session.get(Room, district["lhs_room"]).name = "Room 101 (Zoe Martinez's homeroom)"
        # Someone else writes about her: a ticket, a comment, labour, and an activity entry not linked to her.
        ticket = tickets.open_ticket(
            device,
            category=TicketCategory.cracked_screen,
            description=f"Zoe Martinez ({ZOE}) says it fell; LHS-1000 needs a screen",
            by=tech,
            via=Via.web,
        )
        tickets.comment(ticket, f"Mailed {EMAIL} about pickup", by=tech, via=Via.web)
        db.session.add(TicketLabour(ticket_id=ticket.id, minutes=10, cost=Decimal("5.00"), note="Zoe Martinez watched"))
        activity.record(
            "asset.update",
            f"Note about Zoe Martinez on {device.asset_tag}",
            by=tech,
            via=Via.web,
            asset=device,
            before={"notes": ""},
            after={"notes": device.notes, "who": [ZOE, {"email": EMAIL}]},
        )
        db.session.commit()
    return district


def test_no_row_names_her_after_erasure_and_the_tag_stays(app, client, mentioned, login_as):
    label = f"Erased person {mentioned['student']}"
    with app.app_context():
        before = mentions_everywhere(label)
    # The search above finds her wherever she was written, so finding nothing afterwards means something.
    assert {
        ("assets", "notes"),
        ("assets", "google_recent_user"),
        ("assets", "annotated_user"),
        ("fees", "reason"),
        ("fees", "settle_note"),
        ("observations", "note"),
        ("loans", "note"),
        ("unknown_scans", "code"),
        ("unknown_scans", "note"),
        ("sync_events", "data"),
        ("import_runs", "report"),
        ("rooms", "name"),
        ("tickets", "description"),
        ("ticket_comments", "body"),
        ("ticket_labour", "note"),
        ("activity", "summary"),
        ("activity", "after"),
        ("people", "name"),
    } <= before

    login_as("admin", "LHS")
    resp = client.post(f"/people/{ZOE}/erase", data={"confirm": ZOE})
    assert resp.status_code == 303

    with app.app_context():
        assert mentions_everywhere(label) == set()
        device = db.session.get(Asset, mentioned["lhs_asset"])
        assert device.asset_tag == "LHS-1000"
        assert device.notes == f"{label} (id {label}) had LHS-1000 until June; LHS-1000 stays with the library."
        kept = db.session.scalar(sa.select(SyncEvent.data))
        assert kept == {"asset": "LHS-1000", "person": label, "extra": [{label: f"{label} and LHS-1000"}]}
        fee = db.session.scalar(sa.select(Fee).where(Fee.person_id == mentioned["student"]))
        assert (fee.reason, fee.settle_note) == (f"Screen, {label} ({label})", f"Waived: {label} qualifies for aid")
        # Liam's fee and loan are still his; only her name left them.
        assert db.session.scalar(sa.select(Fee.reason).where(Fee.person_id == mentioned["jms_student"])) == (
            f"Charger borrowed from {label}"
        )
        erased = db.session.scalar(sa.select(Activity).where(Activity.action == "person.erase"))
        assert erased.after["records_rewritten"] >= 14
    assert client.get(f"/people/erased-{mentioned['student']}").status_code == 200


def test_someone_else_of_the_same_name_keeps_their_own_record(app, client, mentioned, login_as):
    with app.app_context():
        other = factories.make_person(
            db.session.get(Person, mentioned["student"]).campus, "Zoe Martinez", external_id="LHS100777"
        )
        staff = factories.make_user(Role.viewer, "LHS", email="zoe.martinez@staff.example.org")
        staff.name = "Zoe Martinez"
        db.session.commit()
        other_id, staff_id = other.id, staff.id
    login_as("admin", "LHS")
    assert client.post(f"/people/{ZOE}/erase", data={"confirm": ZOE}).status_code == 303
    with app.app_context():
        assert db.session.get(Person, other_id).name == "Zoe Martinez"
        assert db.session.get(User, staff_id).name == "Zoe Martinez"


def _nested(depth: int, inner: str) -> str:
    return "[" * depth + inner + "]" * depth


def _store_raw(event_id: str, raw: str, user_id: int) -> None:
    """A sync event whose data is this JSON text, written as is (no Python encoder that would itself recurse)."""
    text = sa.type_coerce(raw, sa.Text)
    value = text if db.session.get_bind().dialect.name == "sqlite" else sa.cast(text, sa.JSON)
    db.session.execute(
        sa.insert(SyncEvent.__table__).values(
            id=event_id,
            type="x.unknown",
            user_id=user_id,
            status=SyncStatus.rejected,
            reason="Unknown event type",
            at=utcnow(),
            received_at=utcnow(),
            data=value,
        )
    )


def _stored(event_id: str) -> str:
    return db.session.scalar(sa.select(sa.cast(SyncEvent.data, sa.Text)).where(SyncEvent.id == event_id))


@pytest.mark.parametrize("depth", [900, 5_000, 100_000])
def test_erasure_survives_json_of_any_depth_already_stored(app, client, mentioned, login_as, depth):
    admin = login_as("admin", "LHS")
    naming, other = str(uuid.uuid4()), str(uuid.uuid4())
    with app.app_context():
        if depth > 14_000 and db.session.get_bind().dialect.name == "postgresql":
            # PostgreSQL's own JSON parser refuses this much nesting (stack depth limit exceeded, about 14,500
            # levels at the default max_stack_depth of 2MB), so such a value can be stored on SQLite only.
            with pytest.raises(sa.exc.DBAPIError, match="stack depth"):
                _store_raw(naming, _nested(depth, json.dumps(ZOE)), admin.id)
            return
        _store_raw(naming, _nested(depth, json.dumps(f"for {ZOE}")), admin.id)
        _store_raw(other, _nested(depth, '"nobody"'), admin.id)
        db.session.commit()
        untouched = _stored(other)

    resp = client.post(f"/people/{ZOE}/erase", data={"confirm": ZOE})
    assert resp.status_code == 303
    assert client.get(resp.headers["Location"]).status_code == 200

    label = f"Erased person {mentioned['student']}"
    with app.app_context():
        # Too deep to rewrite in place: replaced whole, so her ID is gone and nothing of it is left to parse.
        assert json.loads(_stored(naming)) == {"erased": label}
        assert _stored(other) == untouched
        assert mentions_everywhere(label) == set()


@pytest.mark.parametrize(
    ("stored", "after"),
    [
        (json.dumps(f"Zoe Martinez {ZOE}"), "{label} {label}"),
        (json.dumps([EMAIL, 3, None, True]), ["{label}", 3, None, True]),
        (json.dumps({ZOE: {"by": [[[[EMAIL]]]]}}), {"{label}": {"by": [[[["{label}"]]]]}}),
        # Escaped as a phone's JSON encoder may write it: still her ID once decoded.
        ('{"person": "\\u004cHS100001"}', {"person": "{label}"}),
        (json.dumps(1000), 1000),
        ("null", None),
    ],
)
def test_erasure_handles_stored_json_of_any_shape(app, client, mentioned, login_as, stored, after):
    admin = login_as("admin", "LHS")
    event_id = str(uuid.uuid4())
    with app.app_context():
        _store_raw(event_id, stored, admin.id)
        db.session.commit()
    assert client.post(f"/people/{ZOE}/erase", data={"confirm": ZOE}).status_code == 303
    label = f"Erased person {mentioned['student']}"
    expected = json.loads(json.dumps(after).replace("{label}", label))
    with app.app_context():
        assert json.loads(_stored(event_id)) == expected


def test_stored_text_that_is_not_json_is_replaced_when_it_names_her(app, client, mentioned, login_as):
    """SQLite keeps whatever text a JSON column was given (PostgreSQL refuses anything that is not JSON)."""
    admin = login_as("admin", "LHS")
    with app.app_context():
        if db.session.get_bind().dialect.name != "sqlite":
            with pytest.raises(sa.exc.DBAPIError, match="invalid input syntax for type json"):
                _store_raw("broken-naming", "{person: Zoe Martinez", admin.id)
            return
        _store_raw("broken-naming", "{person: Zoe Martinez", admin.id)
        _store_raw("broken-other", "{person: nobody", admin.id)
        db.session.commit()
    assert client.post(f"/people/{ZOE}/erase", data={"confirm": ZOE}).status_code == 303
    with app.app_context():
        assert json.loads(_stored("broken-naming")) == {"erased": f"Erased person {mentioned['student']}"}
        assert _stored("broken-other") == "{person: nobody"


def test_json_past_the_bounds_is_judged_without_being_decoded():
    mentions = privacy._mentions(["Zoe Martinez"])
    deep = _nested(1_000_000, '{"note": "Zo\\u0065 Martinez"}')
    assert privacy._scrub_stored_json(deep, mentions, "Erased person 1") == ({"erased": "Erased person 1"}, True)
    assert privacy._scrub_stored_json(_nested(1_000_000, "1"), mentions, "Erased person 1")[1] is False
    brackets_in_strings = json.dumps(["[" * 100_000, "Zoe Martinez"])
    assert privacy._scrub_stored_json(brackets_in_strings, mentions, "E") == (["[" * 100_000, "E"], True)


def test_needles_find_every_spelling_the_regex_accepts():
    """The database narrows rows by LIKE, which folds ASCII case only; the needles must not miss a spelling."""
    assert privacy._needles(["José Núñez"]) == {"Jos"}
    assert privacy._needles(["Ольга"]) == {"Ольга", "ольга", "ОЛЬГА"}
    assert privacy._needles(["LHS100001"]) == {"LHS100001"}
    # Her username is inside her email, so looking for the username finds every row the email would.
    assert privacy._needles(["zoe@students.example.org", "ZMartinez", "zmartinez@x.org"]) == {
        "zoe@students.example.org",
        "ZMartinez",
    }
