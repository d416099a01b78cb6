"""Domain errors raised by services; views turn them into 4xx responses the user can read."""

from __future__ import annotations


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
