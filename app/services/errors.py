"""Domain errors raised by services; views turn them into 4xx responses the user can read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from app.extensions import db


class DomainError(Exception):
    """A broken rule. `field` names the form field it belongs to, when there is one."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """Input that cannot be accepted as given (unknown values, duplicates of unique fields)."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


@contextmanager
def unique_fields(messages: dict[str, str]) -> Iterator[None]:
    """Make the changes inside a savepoint, so that a unique-constraint race becomes a field error, not a 500.

    `messages` maps a unique column to the message for its form field. The changes must happen inside the block:
    begin_nested() first flushes whatever is already pending, outside the savepoint's protection.
    """
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError as exc:
        # SQLite names the columns as "table.a, table.b", PostgreSQL as "Key (a, b)=(...)".
        text = str(exc.orig).lower()
        for column, message in messages.items():
            if re.search(rf"[.(] ?{column}\b|, {column}\b", text):
                raise Invalid(message, field=column) from exc
        raise Invalid("Another record already has one of these values.") from exc
