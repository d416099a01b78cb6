"""What the API's routes share in reading a request: paging and the ?campus= argument."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import abort, request
from flask_login import current_user

from app.extensions import db
from app.models import Campus
from app.web.args import MAX_ID, int_arg, page_arg

MAX_PER_PAGE = 200


def page_args() -> tuple[int, int]:
    """`page` (from 1) and `per_page` (clamped to 1..200, default 50) from the query string; 422 when either is not
    a whole number or the page is past any list."""
    page = page_arg(status=422)
    per_page = int_arg("per_page", 50, low=-MAX_ID, status=422)
    return page, min(MAX_PER_PAGE, max(1, per_page))


def paged(stmt: sa.Select, to_json: Callable[[Any], dict[str, Any] | None]) -> dict[str, Any]:
    """One page of stmt's rows as `{"items", "page", "per_page", "total"}`."""
    page, per_page = page_args()
    result = db.paginate(stmt, page=page, per_page=per_page, max_per_page=MAX_PER_PAGE, error_out=False)
    return {"items": [to_json(x) for x in result.items], "page": page, "per_page": per_page, "total": result.total}


def campus_id_arg() -> int | None:
    """The campus named by ?campus=CODE; unknown or out-of-scope codes are a 404."""
    code = request.args.get("campus", "").strip().upper()
    if not code:
        return None
    campus = db.session.scalar(sa.select(Campus).where(Campus.code == code))
    if campus is None or not current_user.can_see_campus(campus.id):
        abort(404, f"No campus {code} on your campuses.")
    return campus.id
