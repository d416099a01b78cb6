"""Load-or-abort helpers: each answers 404 for records that do not exist or lie outside the user's campuses."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from app.extensions import db
from app.models import Asset, Campus, Person, Room
from app.services.people import find_person_by_id


def get_asset_or_404(asset_tag: str) -> Asset:
    """The asset with this tag on one of the user's campuses; 404 otherwise (no hint that it exists)."""
    asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == asset_tag))
    if asset is None or not current_user.can_see_campus(asset.campus_id):
        abort(404)
    return asset


def get_room_or_404(code: str) -> Room:
    """The room with this code on one of the user's campuses; 404 otherwise."""
    room = db.session.scalar(sa.select(Room).where(Room.code == code))
    if room is None or not current_user.can_see_campus(room.campus_id):
        abort(404)
    return room


def get_campus_or_404(code: str) -> Campus:
    """The campus with this code, if it is one of the user's; 404 otherwise."""
    campus = db.session.scalar(sa.select(Campus).where(Campus.code == code.upper()))
    if campus is None or not current_user.can_see_campus(campus.id):
        abort(404)
    return campus


def get_person_or_404(external_id: str) -> Person:
    """The person with this student or staff ID who belongs to one of the user's campuses; 404 otherwise."""
    person = find_person_by_id(external_id)
    if person is None or not person.seen_by(current_user):
        abort(404)
    return person


def visible_campuses() -> list[Campus]:
    """The campuses the signed-in user may see, by code."""
    stmt = sa.select(Campus).order_by(Campus.code)
    ids = current_user.campus_ids
    if ids is not None:
        stmt = stmt.where(Campus.id.in_(ids))
    return list(db.session.scalars(stmt))
