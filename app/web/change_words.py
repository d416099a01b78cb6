"""The before and after values of an activity entry as people read them on a device's or a person's timeline.

Entries keep JSON-safe values (True, "in_repair", "2026-12-08T15:00:00.123456+00:00"); a page shows yes or no,
"in repair", and a time in the campus's zone without its microseconds. A few flags read better as a phrase
("waiting for the swap to be reversed") than as "swap waiting: yes".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from app.web.times import day_text, when_text

ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CODE = re.compile(r"^[a-z]+(_[a-z]+)+$")


def _phrases() -> dict[str, tuple[str, str]]:
    """Flags said as a phrase when true and when false."""
    return {
        "swap_waiting": (_("waiting for the swap to be reversed"), _("no swap to reverse")),
        "accidental": (_("looks accidental"), _("not accidental")),
        "photo": (_("with a photo"), _("no photo")),
    }


def phrase(key: str, value: Any) -> str | None:
    """The phrase for a flag (None when the key is not one of them or the value is not a flag)."""
    words = _phrases().get(key)
    if words is None or not isinstance(value, bool):
        return None
    return words[0] if value else words[1]


def key_words(key: str) -> str:
    """A field's name in words: "home_room_id" → "home room"."""
    return key.removesuffix("_id").replace("_", " ")


def value_words(value: Any, campus: Any = None) -> str:
    """A logged value in words: yes or no, a time in the campus's zone, a code with spaces, a list joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(value_words(v, campus) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key_words(str(k))} {value_words(v, campus)}" for k, v in value.items())
    if isinstance(value, str):
        try:
            if ISO_TIME.match(value):
                return when_text(datetime.fromisoformat(value.replace("Z", "+00:00")), campus)
            if ISO_DAY.match(value):
                return day_text(date.fromisoformat(value), campus)
        except ValueError:
            return value
        if CODE.match(value):
            return value.replace("_", " ")
    return str(value)
