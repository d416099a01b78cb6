"""Query arguments and form values read with bounds: whole numbers, page numbers, record ids, dates and choices.

A value that is malformed or out of range is refused with a message naming the argument (400 for pages, the
status the caller asks for elsewhere), never passed on to the database, where a number past 64 bits or a date past
year 9999 would fail as a server error.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TypeVar

from flask import abort, request
from werkzeug.routing import IntegerConverter, ValidationError

from app.services.errors import Invalid

# The largest value of a 64-bit signed integer column: ids and counts beyond it cannot exist.
MAX_ID = 2**63 - 1
# Further than any list goes; past it, offsets overflow long before a page could be shown.
MAX_PAGE = 100_000
# Dates outside these years are typing mistakes; the bounds leave room for a day either side of any time zone.
FIRST_YEAR, LAST_YEAR = 1900, 2999

E = TypeVar("E", bound=Enum)


def _refuse(status: int, message: str):
    abort(status, message)


def whole_number(
    raw: str | None, name: str, default: int | None = None, *, low: int = 0, high: int = MAX_ID, status: int = 400
) -> int | None:
    """`raw` (a query argument or form value called `name`) as a whole number between low and high; absent or blank
    gives the default."""
    text = (raw or "").strip()
    if not text:
        return default
    # isascii: str.isdigit() also takes "²" and other digits that int() refuses.
    if not (text.isascii() and text.removeprefix("-").isdigit()) or len(text) > 20:
        _refuse(status, f"{name} must be a whole number.")
    value = int(text)
    if not low <= value <= high:
        _refuse(status, f"{name} must be between {low:,} and {high:,}.")
    return value


def int_arg(
    name: str, default: int | None = None, *, low: int = 0, high: int = MAX_ID, status: int = 400
) -> int | None:
    """`?name=` as a whole number between low and high; absent or blank gives the default."""
    return whole_number(request.args.get(name), name, default, low=low, high=high, status=status)


def page_arg(name: str = "page", *, status: int = 400) -> int:
    """The page number of a list, from 1 (the default) to MAX_PAGE."""
    return int_arg(name, 1, low=1, high=MAX_PAGE, status=status) or 1


def id_arg(name: str, *, status: int = 400) -> int | None:
    """A record id named in the query (a campus, a room, a model): a positive 64-bit number, or None."""
    return int_arg(name, None, low=1, high=MAX_ID, status=status)


def date_arg(name: str, *, status: int = 400) -> date | None:
    """`?name=YYYY-MM-DD` as a date between FIRST_YEAR and LAST_YEAR; absent or blank gives None."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        _refuse(status, f"{name} must be a date written YYYY-MM-DD.")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        _refuse(status, f"{name} must be a date between {FIRST_YEAR} and {LAST_YEAR}.")
    return value


def enum_arg(name: str, enum_cls: type[E], default: E | None = None, *, status: int = 400) -> E | None:
    """`?name=` as one of the enum's values; absent or blank gives the default, anything else is refused."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    value = choice(raw, enum_cls)
    if value is None:
        allowed = ", ".join(str(m.value) for m in enum_cls)
        _refuse(status, f"Unknown {name} {raw[:40]!r}; use one of {allowed}.")
    return value


def choice(raw: str | None, enum_cls: type[E], default: E | None = None) -> E | None:
    """A query argument or form value as the enum's member with that value; absent or anything else gives the
    default (a filter that is then off, a condition left unsaid)."""
    member = enum_cls._value2member_map_.get(raw) if isinstance(raw, str) else None
    return member if member is not None else default  # type: ignore[return-value]


def form_choice(name: str, enum_cls: type[E], message: str) -> E:
    """The posted field `name` as one of the enum's members; absent or anything else is refused on that field
    (an Invalid, which `app.web.committing()` and `submit()` show there with a 422)."""
    value = choice(request.form.get(name), enum_cls)
    if value is None:
        raise Invalid(message, field=name)
    return value


def whole(value: str | int | None) -> int | None:
    """A form value as a record id (a positive 64-bit number), or None when it is not one (WTForms' coerce)."""
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_ID else None


class IdConverter(IntegerConverter):
    """`<int:...>` in routes: a number too large to be any record's id does not match, so it is a plain 404."""

    def to_python(self, value: str) -> int:
        if len(value) > 19 or int(value) > MAX_ID:
            raise ValidationError()
        return super().to_python(value)
