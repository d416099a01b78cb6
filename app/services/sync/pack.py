"""The offline pack: a campus's rooms and devices as the scan page keeps them for working without a signal."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, Campus, DeviceModel, Room


def offline_pack(campus: Campus) -> dict[str, Any]:
    """Rooms and devices of a campus as the scan page needs them offline; no personal data."""
    rooms = db.session.execute(
        sa.select(Room.id, Room.code, Room.name, Room.kind, Room.tag_code, Room.active)
        .where(Room.campus_id == campus.id)
        .order_by(Room.code)
    ).all()
    room_codes = {r.id: r.code for r in rooms}
    assets = db.session.execute(
        sa.select(
            Asset.tag_code,
            Asset.asset_tag,
            Asset.serial,
            DeviceModel.manufacturer,
            DeviceModel.name,
            Asset.home_room_id,
            Asset.status,
        )
        .join(DeviceModel, DeviceModel.id == Asset.model_id)
        .where(Asset.campus_id == campus.id)
        .order_by(Asset.asset_tag)
    ).all()
    return {
        "campus": {"code": campus.code, "name": campus.name},
        "rooms": [
            {"code": r.code, "name": r.name, "kind": r.kind.value, "tag_code": r.tag_code, "active": r.active}
            for r in rooms
        ],
        "assets": [
            {
                "tag_code": a.tag_code,
                "asset_tag": a.asset_tag,
                "serial": a.serial,
                "model": f"{a.manufacturer} {a.name}",
                "home_room": room_codes.get(a.home_room_id),
                "status": a.status.value,
            }
            for a in assets
        ],
    }
