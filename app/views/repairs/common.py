"""What the repairs pages share: list length and reading posted fields, each refusal noted on its field."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from flask import request
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.web import args

E = TypeVar("E", bound=Enum)
M = TypeVar("M")

PER_PAGE = 50


class Posted:
    """The posted form, read field by field: each field that does not parse keeps a message under its name in
    `errors`, so a form with several mistakes shows them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def refuse(self, name: str, message: str) -> None:
        """Note a refusal the caller decided (a record not found, not on the user's campuses)."""
        self.errors.setdefault(name, message)

    def number(self, name: str, message: str, default: int | None = None) -> int | None:
        """A whole number (args.whole_number's rules: either sign, at most 64 bits); blank gives the default, and is
        refused without one."""
        try:
            value = args.whole_number(request.form.get(name), name, default, low=-args.MAX_ID, status=422)
        except (HTTPException, ValueError):  # ValueError: digits int() does not read, such as "²"
            value = None
        if value is None:
            self.refuse(name, message)
        return value

    def record(self, name: str, model: type[M], message: str) -> M | None:
        """The row whose id (a positive 64-bit number) the field holds; None, refused, when there is none."""
        try:
            record_id = args.whole(request.form.get(name))
        except ValueError:  # digits int() does not read, such as "²"
            record_id = None
        row = db.session.get(model, record_id) if record_id else None
        if row is None:
            self.refuse(name, message)
        return row

    def choice(
        self, name: str, enum_cls: type[E], message: str, *, among: tuple[E, ...] = (), default: E | None = None
    ) -> E | None:
        """One of the enum's values (args.choice), or of `among`; blank or absent gives the default, and is refused
        without one."""
        raw = request.form.get(name)
        if not raw and default is not None:
            return default
        value = args.choice(raw, enum_cls)
        if value is None or (among and value not in among):
            self.refuse(name, message)
            return None
        return value
