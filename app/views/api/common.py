"""What the API's routes share: paging, the ?campus= argument, and logging whose records a response shows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask import abort, request
from flask_login import current_user

from app.extensions import db
from app.models import Campus, Person
from app.security import SAFE_METHODS
from app.services import privacy
from app.web.args import MAX_ID, int_arg, page_arg

MAX_PER_PAGE = 200


def page_args() -> tuple[int, int]:
    """`page` (from 1) and `per_page` (clamped to 1..200, default 50) from the query string; 422 when either is not
    a whole number or the page is past any list."""
    page = page_arg(status=422)
    per_page = int_arg("per_page", 50, low=-MAX_ID, status=422)
    return page, min(MAX_PER_PAGE, max(1, per_page))


def paged(
    stmt: sa.Select,
    to_json: Callable[[Any], dict[str, Any] | None],
    people_of: Callable[[Any], Iterable[Person | None]] | None = None,
) -> dict[str, Any]:
    """One page of stmt's rows as `{"items", "page", "per_page", "total"}`; people_of names the people a row shows,
    whose views are logged (note_people_shown)."""
    page, per_page = page_args()
    result = db.paginate(stmt, page=page, per_page=per_page, max_per_page=MAX_PER_PAGE, error_out=False)
    items = [to_json(x) for x in result.items]
    if people_of is not None:
        note_people_shown(person for x in result.items for person in people_of(x))
    return {"items": items, "page": page, "per_page": per_page, "total": result.total}


def campus_id_arg() -> int | None:
    """The campus named by ?campus=CODE; unknown or out-of-scope codes are a 404."""
    code = request.args.get("campus", "").strip().upper()
    if not code:
        return None
    campus = db.session.scalar(sa.select(Campus).where(Campus.code == code))
    if campus is None or not current_user.can_see_campus(campus.id):
        abort(404, f"No campus {code} on your campuses.")
    return campus.id


def note_people_shown(people: Iterable[Person | None]) -> None:
    """Log in the record-view log ("api") every person a response names, as their pages log a visit (student
    privacy: a script reading the roster is seen like a person reading it).

    Like app.web.note_record_view: a read writes in a short transaction of its own, so its read transaction is
    never upgraded; a write (call it before the commit) adds the entries to its own transaction.
    """
    if request.method not in SAFE_METHODS:
        privacy.note_views(people, current_user, "api", db.session.connection())
        return
    shown = [person for person in people if person is not None]
    if shown:
        with db.engine.begin() as connection:
            privacy.note_views(shown, current_user, "api", connection)
