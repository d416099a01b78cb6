"""How every staff page shows a time: in the zone of the campus it belongs to, in the reader's language.

Times are stored in UTC. A page shows each one in its campus's zone (a device's, a room's, a ticket's device's)
or, on district-wide lists, in the district's (ROLLCALL_TIMEZONE), formatted by Babel for the reader's locale:
"Tue 1 Dec, 2:05 pm" in English, the year added when it is not this year's. The UTC instant stays in the
<time> element's datetime attribute and its title, so the page still says exactly when. JSON and CSV keep
ISO UTC and never pass through here.

    {{ ticket.created_at|when(ticket.asset.campus) }}   date and time
    {{ assignment.assigned_at|day(asset.campus) }}      the date alone
    {{ entry.at|when(entry.campus_id) }}                a campus id works too; None means the district
    {{ moment|when_text(campus) }}                      the words alone, for an attribute such as aria-label
    {{ ticket.created_at|age }}                         how long ago, in words: "3 days"
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time, format_timedelta
from flask import Flask
from flask_babel import get_locale
from markupsafe import Markup, escape

from app.extensions import db
from app.i18n import DEFAULT_LANGUAGE, campus_zone, zone_named
from app.models import Campus

# English patterns, as a school office writes a time: "Tue 1 Dec, 2:05 pm".
EN_DAY = "EEE d MMM"
EN_DAY_YEAR = "EEE d MMM yyyy"
EN_TIME = "h:mm a"
NEVER = Markup('<span class="muted">never</span>')


def zone_of(campus: Campus | int | str | tzinfo | None) -> tzinfo:
    """The zone a time is shown in: a campus's (or a campus id's), a zone given by name, else the district's."""
    if isinstance(campus, tzinfo):
        return campus
    if isinstance(campus, str):
        return zone_named(campus)
    if isinstance(campus, int) and not isinstance(campus, bool):
        return campus_zone(db.session.get(Campus, campus))
    return campus_zone(campus if isinstance(campus, Campus) else None)


def reader_locale() -> Locale:
    return get_locale() or Locale.parse(DEFAULT_LANGUAGE)


def utc_iso(moment: datetime) -> str:
    """The exact instant, ISO 8601 in UTC with a Z, as JSON and CSV give it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local(moment: datetime, zone: tzinfo) -> datetime:
    if moment.tzinfo is None:
        # Stored times are aware UTC (UTCDateTime); a naive one here came from UTC arithmetic.
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def _date_words(day: date, this_year: int, locale: Locale) -> str:
    if locale.language == "en":
        return format_date(day, EN_DAY if day.year == this_year else EN_DAY_YEAR, locale=locale)
    return format_skeleton("MMMEd" if day.year == this_year else "yMMMEd", day, locale=locale)


def day_text(moment: datetime | date, campus: Any = None, *, today: date | None = None) -> str:
    """The date alone in the reader's language ("Tue 1 Dec"), with the year when it is not this year."""
    zone = zone_of(campus)
    day = _local(moment, zone).date() if isinstance(moment, datetime) else moment
    this_year = (today or datetime.now(zone).date()).year
    return _date_words(day, this_year, reader_locale())


def when_text(moment: datetime, campus: Any = None, *, today: date | None = None) -> str:
    """Date and time in the campus's zone and the reader's language: "Tue 1 Dec, 2:05 pm"."""
    zone = zone_of(campus)
    local = _local(moment, zone)
    this_year = (today or datetime.now(zone).date()).year
    locale = reader_locale()
    if locale.language == "en":
        # Babel writes AM/PM; a lower-case am/pm reads as a time in running text.
        clock = format_datetime(local, EN_TIME, tzinfo=zone, locale=locale).lower()
    else:
        clock = format_time(local, "short", tzinfo=zone, locale=locale)
    # The locale's own way of joining a date and a time ("{1}, {0}" in English, "{1} {0}" in Japanese).
    joined = str(locale.datetime_formats["medium"]).replace("'", "")
    return joined.replace("{1}", _date_words(local.date(), this_year, locale)).replace("{0}", clock)


def _time_element(moment: datetime | date, text: str) -> Markup:
    # To the second: the title is read as a tooltip, and microseconds are noise to a person.
    exact = utc_iso(moment.replace(microsecond=0)) if isinstance(moment, datetime) else moment.isoformat()
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(exact, escape(text))


def when(moment: datetime | None, campus: Any = None) -> Markup:
    """Jinja filter: a <time> showing date and time in the campus's zone, exact UTC in its attributes."""
    if moment is None:
        return NEVER
    return _time_element(moment, when_text(moment, campus))


def day(moment: datetime | date | None, campus: Any = None) -> Markup:
    """Jinja filter: a <time> showing the date in the campus's zone (a date is shown as it is)."""
    if moment is None:
        return NEVER
    return _time_element(moment, day_text(moment, campus))


def age_text(moment: datetime, *, now: datetime | None = None) -> str:
    """How long ago, in the reader's language and the largest unit that fits: "3 days", "2 weeks"."""
    elapsed = (now or datetime.now(UTC)) - _local(moment, UTC)
    return format_timedelta(max(elapsed, timedelta(0)), granularity="minute", locale=reader_locale())


def age(moment: datetime | None) -> Markup:
    """Jinja filter: a <time> saying how long ago, the exact UTC instant in its attributes."""
    if moment is None:
        return NEVER
    return _time_element(moment, age_text(moment))


def init_app(app: Flask) -> None:
    app.add_template_filter(when, "when")
    app.add_template_filter(day, "day")
    app.add_template_filter(when_text, "when_text")
    app.add_template_filter(age, "age")
