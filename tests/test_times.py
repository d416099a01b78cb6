"""Times on staff pages: shown in the campus's zone (the district's on district-wide lists), in the reader's
language, with the exact UTC instant kept in the <time> element; JSON and CSV stay ISO UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.models import TicketCategory
from app.web import times
from tests import factories

# 10:05 UTC on 1 December 2026: already the 2nd at Kiritimati (UTC+14), still the 30th of November at Pago Pago
# (UTC−11), 02:05 in Los Angeles.
INSTANT = datetime(2026, 12, 1, 10, 5, tzinfo=UTC)
ISO = "2026-12-01T10:05:00Z"
KIRITIMATI = "Pacific/Kiritimati"
PAGO_PAGO = "Pacific/Pago_Pago"


@pytest.fixture
def en(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield


@pytest.mark.parametrize(
    ("zone", "text"),
    [
        ("UTC", "Tue 1 Dec, 10:05 am"),
        (KIRITIMATI, "Wed 2 Dec, 12:05 am"),
        (PAGO_PAGO, "Mon 30 Nov, 11:05 pm"),
        ("America/Los_Angeles", "Tue 1 Dec, 2:05 am"),
    ],
)
def test_when_text_in_english(en, zone, text):
    assert times.when_text(INSTANT, zone, today=date(2026, 6, 1)) == text


def test_another_year_is_named(en):
    assert times.when_text(INSTANT, KIRITIMATI, today=date(2027, 1, 5)) == "Wed 2 Dec 2026, 12:05 am"
    assert times.day_text(INSTANT, PAGO_PAGO, today=date(2027, 1, 5)) == "Mon 30 Nov 2026"
    assert times.day_text(INSTANT, PAGO_PAGO, today=date(2026, 1, 5)) == "Mon 30 Nov"


def test_afternoon_is_lower_case_pm(en):
    assert times.when_text(datetime(2026, 12, 1, 14, 5, tzinfo=UTC), "UTC", today=date(2026, 12, 1)) == (
        "Tue 1 Dec, 2:05 pm"
    )


def test_when_filter_keeps_the_exact_utc_instant(en):
    html = str(times.when(INSTANT, KIRITIMATI))
    assert html.startswith(f'<time datetime="{ISO}" title="{ISO}">Wed 2 Dec')
    assert html.endswith("12:05 am</time>")
    assert "never" in str(times.when(None, KIRITIMATI))


def test_day_filter_shows_the_local_date(en):
    html = str(times.day(INSTANT, PAGO_PAGO))
    assert html.startswith(f'<time datetime="{ISO}" title="{ISO}">Mon 30 Nov')
    # A date is a date wherever it is read: no zone moves it.
    html = str(times.day(date(2026, 12, 1), KIRITIMATI))
    assert html.startswith('<time datetime="2026-12-01" title="2026-12-01">Tue 1 Dec')


def test_another_language_uses_its_own_patterns(app):
    # The public pages speak Spanish; a time there is written the Spanish way, in the same zone.
    with app.test_request_context("/t/x?lang=es"):
        assert times.reader_locale().language == "es"
        assert times.when_text(INSTANT, KIRITIMATI, today=date(2026, 6, 1)) == "mié, 2 dic, 0:05"
        assert times.day_text(INSTANT, PAGO_PAGO, today=date(2027, 6, 1)) == "lun, 30 nov 2026"


def test_zone_of_a_campus_an_id_a_name_or_the_district(app, district):
    from app.extensions import db
    from app.models import Campus

    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        lhs.timezone = KIRITIMATI
        db.session.flush()
        assert times.zone_of(lhs) == ZoneInfo(KIRITIMATI)
        assert times.zone_of(lhs.id) == ZoneInfo(KIRITIMATI)
        assert times.zone_of(PAGO_PAGO) == ZoneInfo(PAGO_PAGO)
        app.config["TIMEZONE"] = PAGO_PAGO
        try:
            assert times.zone_of(None) == ZoneInfo(PAGO_PAGO)
            assert times.zone_of(999_999) == ZoneInfo(PAGO_PAGO)
        finally:
            app.config["TIMEZONE"] = "America/Los_Angeles"
        db.session.rollback()


# The pages. LHS keeps Kiritimati's time (UTC+14), JMS Pago Pago's (UTC−11), the district Kathmandu's (UTC+5:45):
# three zones none of which is UTC, so a time shown in the wrong one cannot pass.
DISTRICT_ZONE = "Asia/Kathmandu"


def at(minutes: int) -> datetime:
    return INSTANT + timedelta(minutes=minutes)


def iso(minutes: int) -> str:
    return at(minutes).isoformat().replace("+00:00", "Z")


@pytest.fixture
def zoned(app, district):
    """Rows with known instants on both campuses, each a few minutes after 10:05 UTC on 1 December 2026."""
    from app.extensions import db
    from app.models import (
        Activity,
        Asset,
        AssetStatus,
        Assignment,
        Audit,
        AuditStatus,
        Campus,
        ImportKind,
        ImportRun,
        Role,
        Room,
        TicketComment,
        TicketEvent,
        TicketEventKind,
        UnknownScan,
        Via,
    )
    from app.services import tickets as ticket_service

    app.config["TIMEZONE"] = DISTRICT_ZONE
    with app.app_context():
        db.session.get(Campus, district["lhs"]).timezone = KIRITIMATI
        db.session.get(Campus, district["jms"]).timezone = PAGO_PAGO
        tech = factories.make_user(Role.tech, "LHS", "JMS", email="tech.times@example.org")
        lhs_asset = db.session.get(Asset, district["lhs_asset"])
        lhs_asset.last_seen_at = at(0)
        spare = db.session.get(Asset, district["spare"])
        spare.status, spare.last_seen_at = AssetStatus.missing, at(5)
        room = db.session.get(Room, district["lhs_room"])
        audit = Audit(
            uuid="audit-times",
            room_id=room.id,
            campus_id=room.campus_id,
            status=AuditStatus.closed,
            started_at=at(0),
            closed_at=at(30),
        )
        ticket = ticket_service.open_ticket(
            db.session.get(Asset, district["jms_asset"]),
            category=TicketCategory.wont_charge,
            description="Dead battery",
            by=tech,
            via=Via.web,
        )
        ticket.created_at = at(0)
        for event in ticket.events:
            event.at = at(0)
        db.session.add_all(
            [
                audit,
                TicketEvent(ticket=ticket, at=at(15), user_id=tech.id, kind=TicketEventKind.assigned, to_value="Tech"),
                TicketComment(ticket=ticket, author_id=tech.id, body="Battery ordered", created_at=at(20)),
                UnknownScan(code="STRAY-CODE-1", room_id=room.id, by_id=tech.id, at=at(40)),
                Activity(
                    at=at(50),
                    via=Via.web,
                    action="asset.update",
                    summary="Handed to Zoe",
                    asset_id=lhs_asset.id,
                    person_id=district["student"],
                    campus_id=lhs_asset.campus_id,
                ),
                Activity(at=at(55), via=Via.cli, action="user.create", summary="District-wide account"),
                Assignment(asset_id=lhs_asset.id, person_id=district["student"], assigned_at=at(0)),
                ImportRun(kind=ImportKind.snipeit, filename="assets.csv", token="times-run", created_at=at(0)),
            ]
        )
        db.session.commit()
        number = ticket.number
    yield {"ticket": number}
    app.config["TIMEZONE"] = "America/Los_Angeles"


def local_time_element(minutes: int, text: str) -> re.Pattern[str]:
    """The <time> a page shows for at(minutes): the exact instant in its attributes, the local text inside (the
    year appears once 2026 is not the current year)."""
    day, _, clock = text.partition(", ")
    shown = re.escape(day) + "(?: 2026)?" + (re.escape(", " + clock) if clock else "")
    return re.compile(rf'<time datetime="{iso(minutes)}" title="{iso(minutes)}">{shown}</time>')


DISPLAYS = [
    # (what, page, minutes after the instant, the local text in that row's zone)
    ("audit started (LHS)", "/audits/audit-times", 0, "Wed 2 Dec, 12:05 am"),
    ("audit closed (LHS)", "/audits/audit-times", 30, "Wed 2 Dec, 12:35 am"),
    ("audit history (LHS)", "/audits", 30, "Wed 2 Dec, 12:35 am"),
    ("ticket opened (JMS)", "/tickets/{ticket}", 0, "Mon 30 Nov, 11:05 pm"),
    ("ticket timeline: assigned (JMS)", "/tickets/{ticket}", 15, "Mon 30 Nov, 11:20 pm"),
    ("ticket timeline: comment (JMS)", "/tickets/{ticket}", 20, "Mon 30 Nov, 11:25 pm"),
    ("ticket queue (JMS)", "/tickets", 0, "Mon 30 Nov, 11:05 pm"),
    ("device last seen (LHS)", "/assets/LHS-1000", 0, "Wed 2 Dec, 12:05 am"),
    ("device timeline (LHS)", "/assets/LHS-1000", 50, "Wed 2 Dec, 12:55 am"),
    ("unknown-tag queue (LHS room)", "/scan/unknown", 40, "Wed 2 Dec, 12:45 am"),
    ("activity log, a campus's entry (LHS)", "/activity", 50, "Wed 2 Dec, 12:55 am"),
    ("activity log, a district entry (district)", "/activity", 55, "Tue 1 Dec, 4:45 pm"),
    ("imports history (district)", "/imports", 0, "Tue 1 Dec, 3:50 pm"),
    ("person's device, since (LHS)", "/people/LHS100001", 0, "Wed 2 Dec"),
    ("person's history (LHS)", "/people/LHS100001", 50, "Wed 2 Dec, 12:55 am"),
    ("closet finder, missing (LHS)", "/closet", 5, "Wed 2 Dec, 12:10 am"),
]


@pytest.mark.parametrize(("what", "page", "minutes", "text"), DISPLAYS, ids=[d[0] for d in DISPLAYS])
def test_each_display_shows_the_rows_own_zone(client, login_as, zoned, what, page, minutes, text):
    login_as("admin")
    resp = client.get(page.format(**zoned), headers={"Accept-Language": "en"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert local_time_element(minutes, text).search(html), f"{what}: no {text!r} at {iso(minutes)} on {page}"
    # Nothing on the page is written in UTC any more.
    assert " UTC</time>" not in html


def test_the_api_keeps_iso_utc(client, login_as, zoned):
    login_as("admin")
    body = client.get(f"/api/v1/tickets/{zoned['ticket']}").get_json()
    assert body["created_at"] == ISO


def test_the_closet_csv_keeps_iso_utc(client, login_as, zoned, app, district):
    from app.extensions import db
    from app.models import Asset, AssetStatus

    with app.app_context():
        asset = db.session.get(Asset, district["lhs_asset"])
        asset.status = AssetStatus.missing
        db.session.commit()
    login_as("admin")
    csv_text = client.get("/closet/missing.csv").get_data(as_text=True)
    assert "LHS-1000" in csv_text
    assert "2026-12-01T10:05:00+00:00" in csv_text
    assert "Wed 2 Dec" not in csv_text
