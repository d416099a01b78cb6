"""Tag codes: finding the asset or room a typed or scanned code names, and reissuing a code."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Asset, Room, User, Via
from app.services import activity
from app.tagcodes import LENGTH, looks_like_code, new_tag_code, normalise, scanned_value


@dataclass(frozen=True)
class TagHit:
    """What a tag code points at: exactly one of asset or room."""

    asset: Asset | None = None
    room: Room | None = None

    @property
    def campus_id(self) -> int:
        return self.asset.campus_id if self.asset is not None else self.room.campus_id  # type: ignore[union-attr]


def code_from_text(text: str) -> str | None:
    """The canonical code in what someone typed or scanned (a bare code or a whole /t/ URL); None if none."""
    raw = scanned_value(text)
    if len(raw) > 4 * LENGTH or not looks_like_code(raw):
        return None
    return normalise(raw)


def lookup(text: str) -> TagHit | None:
    """The asset or room whose current tag code this is; None for unknown or reissued codes."""
    code = code_from_text(text)
    if code is None:
        return None
    asset = db.session.scalar(sa.select(Asset).where(Asset.tag_code == code))
    if asset is not None:
        return TagHit(asset=asset)
    room = db.session.scalar(sa.select(Room).where(Room.tag_code == code))
    return TagHit(room=room) if room is not None else None


def _fresh_code() -> str:
    """A code used by no asset and no room (a clash in 50 bits is all but impossible; check anyway)."""
    while True:
        code = new_tag_code()
        taken = db.session.scalar(sa.select(Asset.id).where(Asset.tag_code == code)) or db.session.scalar(
            sa.select(Room.id).where(Room.tag_code == code)
        )
        if not taken:
            return code


def reissue(target: Asset | Room, *, by: User, via: Via) -> str:
    """Give an asset or room a new tag code; the old code stops working at once. Returns the new code."""
    old = target.tag_code
    target.tag_code = _fresh_code()
    if isinstance(target, Asset):
        target.refresh_search_text()
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # pragma: no cover - a clash in a race; one more draw settles it
        target.tag_code = _fresh_code()
        db.session.flush()
    is_asset = isinstance(target, Asset)
    name = target.asset_tag if is_asset else target.code
    activity.record(
        "asset.tag_reissue" if is_asset else "room.tag_reissue",
        f"Reissued the tag code of {name}; the old sticker no longer works",
        by=by,
        via=via,
        asset=target if is_asset else None,
        campus_id=target.campus_id,
        subject=target,
        before={"tag_code": old},
        after={"tag_code": target.tag_code},
    )
    return target.tag_code
