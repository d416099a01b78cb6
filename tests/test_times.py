"""Times on staff pages: shown in the campus's zone (the district's on district-wide lists), in the reader's
language, with the exact UTC instant kept in the <time> element; JSON and CSV stay ISO UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.web import times

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
