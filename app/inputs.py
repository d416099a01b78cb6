"""What Rollcall accepts from outside before anything is stored: text both databases can hold, JSON of bounded
depth with finite numbers, and event times in a believable window.

One place decides, so every door (query arguments, form fields, JSON bodies, sync events) refuses the same values
with the same words. PostgreSQL cannot store a NUL character in text or JSON, and neither database's driver can
encode a lone UTF-16 surrogate; `Infinity` and `NaN` are not JSON to PostgreSQL; integers past 64 bits overflow
both databases' integer columns; and JSON nested without bound makes any recursive walk of it fail later.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

# Deeper than any document Rollcall reads or writes (a sync event's data is one or two levels).
MAX_JSON_DEPTH = 32
MAX_INT = 2**63 - 1
# NUL, and UTF-16 surrogates that are not part of a pair (json.loads turns "\ud800" into one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Event times before this are a device clock that was reset, not a scan from the past.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class Unsafe(ValueError):
    """A value Rollcall will not store; `message` says which and why, naming `field` when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _what(char: str) -> str:
    return "a NUL character" if char == "\x00" else "a broken character (a lone UTF-16 surrogate)"


def unstorable(value: str) -> str | None:
    """What makes this text unstorable ("a NUL character", …), or None when it is fine."""
    found = _UNSTORABLE.search(value)
    return _what(found.group()) if found else None


def check_text(value: str, field: str | None = None) -> str:
    """The text itself, or Unsafe when it holds a character that cannot be stored."""
    problem = unstorable(value)
    if problem:
        where = f"The {field}" if field else "The text"
        raise Unsafe(f"{where} contains {problem}, which cannot be stored; remove it and try again.", field)
    return value


def check_fields(items: Iterable[tuple[str, str]], kind: str) -> None:
    """Unsafe for the first (name, value) pair whose name or value cannot be stored; `kind` names them."""
    for name, value in items:
        for text in (name, value):
            problem = unstorable(text)
            if problem:
                shown = name if not unstorable(name) else repr(name)
                raise Unsafe(f"The {kind} {shown} contains {problem}, which cannot be stored.", field=name)


class _Unreadable:
    """Stands in, while parsing leniently, for a number that cannot be stored; `check` refuses it."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:  # the same text each time, so an event holding one hashes the same on replay
        return f"Unreadable({self.text})"


def _strict_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Unsafe(f"The number {text[:20]} is too large to store.")
    return value


def _strict_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_INT:
        raise Unsafe(f"The number {text[:20]}… is too large to store (at most 19 digits).")
    return value


def _strict_constant(name: str) -> Any:
    raise Unsafe(f"{name} is not a number Rollcall can store.")


def _lenient_float(text: str) -> float | _Unreadable:
    value = float(text)
    return value if math.isfinite(value) else _Unreadable(text)


def _lenient_int(text: str) -> int | _Unreadable:
    value = int(text)
    return value if abs(value) <= MAX_INT else _Unreadable(text)


def loads(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, lenient: bool = False) -> Any:
    """Parse JSON that Rollcall can store whole; Unsafe (or ValueError for text that is not JSON) otherwise.

    With `lenient`, a document that parses is returned even when parts of it cannot be stored, so a caller holding
    many independent items (a sync batch) can refuse each bad item on its own with `check`.
    """
    try:
        if lenient:
            value = json.loads(raw, parse_float=_lenient_float, parse_int=_lenient_int, parse_constant=_Unreadable)
        else:
            value = json.loads(raw, parse_float=_strict_float, parse_int=_strict_int, parse_constant=_strict_constant)
    except RecursionError:
        raise Unsafe(f"The JSON is nested more than {max_depth} levels deep.") from None
    except Unsafe:
        raise
    except ValueError as exc:
        # int() refuses numbers of more than 4,300 digits before our own check sees them.
        if "digits" in str(exc):
            raise Unsafe("A number in the JSON is too large to store.") from None
        raise
    if not lenient:
        check(value, max_depth=max_depth)
    return value


def check(value: Any, *, max_depth: int = MAX_JSON_DEPTH, what: str = "The JSON") -> Any:
    """`value` (parsed JSON) when every part of it can be stored; Unsafe naming the first part that cannot.

    Walks with an explicit stack, so no depth of nesting can exhaust the interpreter's.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = unstorable(item)
            if problem:
                raise Unsafe(f"{what} contains {problem}, which cannot be stored.")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise Unsafe(f"{what} is nested more than {max_depth} levels deep.")
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and unstorable(key):
                        raise Unsafe(f"{what} contains {unstorable(key)}, which cannot be stored.")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, _Unreadable):
            raise Unsafe(f"{what} holds the number {item.text[:20]}, which cannot be stored.")
        elif isinstance(item, float) and not math.isfinite(item):
            raise Unsafe(f"{what} holds {item}, which is not a number that can be stored.")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INT:
            raise Unsafe(f"{what} holds a number too large to store.")
    return value


def believable_time(value: datetime, now: datetime, *, ahead: timedelta) -> bool:
    """Whether a device's clock reading can be taken as the time something happened: not before 2000 (a clock
    that was reset) and not more than `ahead` past the server's clock."""
    return EARLIEST <= value <= now + ahead
