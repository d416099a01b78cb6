"""Label printing: choosing what to print, recording each print, and the QR code SVG on every label."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.constants
import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, DeviceModel, LabelFormat, LabelPrint, LabelPrintItem, Room, User, Via
from app.services import activity
from app.services.assets import AssetFilters, search_assets, visible_to
from app.services.errors import Invalid
from app.tagcodes import pretty

MAX_LABELS = 3000
PER_SHEET = {LabelFormat.avery5160: 30, LabelFormat.avery22806: 12, LabelFormat.thermal: 1}
# Medium error correction survives a scuffed sticker; a fixed mask pattern makes each code about five times
# cheaper to build than scoring all eight (any of the eight decodes the same), which keeps 1,000 labels fast.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
MASK_PATTERN = 0
QUIET_MODULES = 2


@dataclass(frozen=True)
class Label:
    """What one sticker shows."""

    title: str
    subtitle: str
    code: str
    url: str

    @property
    def pretty_code(self) -> str:
        return pretty(self.code)

    @property
    def qr_svg(self) -> str:
        return qr_svg(self.url)


def tag_url(base_url: str, code: str) -> str:
    """The address a sticker's QR code carries: BASE_URL/t/<code> (never the Host of some request)."""
    return f"{base_url.rstrip('/')}/t/{code}"


@lru_cache(maxsize=64)
def _version_for(length: int) -> int:
    """The smallest QR version that holds a URL of this length (every code in a print has the same length)."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=0, mask_pattern=MASK_PATTERN)
    qr.add_data("x" * length)
    qr.make(fit=True)
    return qr.version


def qr_svg(data: str) -> str:
    """An inline SVG of the QR code for data, one <path> of merged horizontal runs, scaled by CSS."""
    qr = qrcode.QRCode(
        version=_version_for(len(data.encode())),
        error_correction=ERROR_CORRECTION,
        border=0,
        mask_pattern=MASK_PATTERN,
    )
    qr.add_data(data)
    qr.make(fit=False)
    matrix = qr.get_matrix()
    size = len(matrix) + 2 * QUIET_MODULES
    parts: list[str] = []
    for y, row in enumerate(matrix, start=QUIET_MODULES):
        x, n = 0, len(row)
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                parts.append(f"M{start + QUIET_MODULES} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (
        f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges" aria-hidden="true" focusable="false">'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{"".join(parts)}"/></svg>'
    )


def assets_to_label(user: User, f: AssetFilters, *, not_printed: bool = False) -> sa.Select:
    """Devices on the user's campuses matching the inventory filters; optionally only those never printed
    with their current code."""
    stmt = search_assets(user, f)
    if not_printed:
        printed = sa.select(LabelPrintItem.id).where(
            LabelPrintItem.asset_id == Asset.id, LabelPrintItem.tag_code == Asset.tag_code
        )
        stmt = stmt.where(~printed.exists())
    return stmt


def rooms_to_label(user: User, campus_id: int | None = None, *, not_printed: bool = False) -> sa.Select:
    """Active rooms on the user's campuses, by code."""
    stmt = sa.select(Room).where(Room.active.is_(True), visible_to(user, Room.campus_id))
    if campus_id:
        stmt = stmt.where(Room.campus_id == campus_id)
    if not_printed:
        printed = sa.select(LabelPrintItem.id).where(
            LabelPrintItem.room_id == Room.id, LabelPrintItem.tag_code == Room.tag_code
        )
        stmt = stmt.where(~printed.exists())
    return stmt.order_by(Room.code)


def record_print(fmt: LabelFormat, targets: list[Asset] | list[Room], *, by: User, via: Via) -> LabelPrint:
    """Record that these assets' or rooms' labels were sent to print (who, when, which codes, on what stock)."""
    if not targets:
        raise Invalid("Choose at least one device or room.", field="ids")
    if len(targets) > MAX_LABELS:
        raise Invalid(f"Print at most {MAX_LABELS} labels at a time.", field="ids")
    for t in targets:
        if not by.can_see_campus(t.campus_id):
            raise Invalid("You can only print labels for your own campuses.", field="ids")
    job = LabelPrint(user_id=by.id, format=fmt, count=len(targets))
    db.session.add(job)
    db.session.flush()
    db.session.execute(
        sa.insert(LabelPrintItem),
        [
            {
                "print_id": job.id,
                "position": i,
                "asset_id": t.id if isinstance(t, Asset) else None,
                "room_id": t.id if isinstance(t, Room) else None,
                "tag_code": t.tag_code,
            }
            for i, t in enumerate(targets)
        ],
    )
    kind = "device" if isinstance(targets[0], Asset) else "room"
    names = [t.asset_tag if isinstance(t, Asset) else t.code for t in targets]
    campus_ids = {t.campus_id for t in targets}
    activity.record(
        "labels.print",
        f"Printed {len(targets)} {kind} label{'s' if len(targets) != 1 else ''} on {fmt.label}",
        by=by,
        via=via,
        asset=targets[0] if len(targets) == 1 and isinstance(targets[0], Asset) else None,
        campus_id=campus_ids.pop() if len(campus_ids) == 1 else None,
        subject=job,
        after={"format": fmt.value, "count": len(targets), "first": names[0], "last": names[-1]},
    )
    return job


def print_visible_to(job: LabelPrint, user: User) -> bool:
    """Whether every label of a print lies on the user's campuses."""
    ids = user.campus_ids
    if ids is None:
        return True
    outside_assets = (
        sa.select(LabelPrintItem.id)
        .join(Asset, Asset.id == LabelPrintItem.asset_id)
        .where(LabelPrintItem.print_id == job.id, Asset.campus_id.not_in(ids))
    )
    outside_rooms = (
        sa.select(LabelPrintItem.id)
        .join(Room, Room.id == LabelPrintItem.room_id)
        .where(LabelPrintItem.print_id == job.id, Room.campus_id.not_in(ids))
    )
    return not db.session.scalar(sa.select(outside_assets.exists())) and not db.session.scalar(
        sa.select(outside_rooms.exists())
    )


def labels_of(job: LabelPrint, base_url: str) -> list[Label]:
    """The labels of a print in order, with the codes that were printed."""
    rows = db.session.execute(
        sa.select(LabelPrintItem.tag_code, Asset.asset_tag, Asset.model_id, Room.code, Room.name)
        .outerjoin(Asset, Asset.id == LabelPrintItem.asset_id)
        .outerjoin(Room, Room.id == LabelPrintItem.room_id)
        .where(LabelPrintItem.print_id == job.id)
        .order_by(LabelPrintItem.position)
    ).all()
    model_ids = {r.model_id for r in rows if r.model_id}
    models = (
        {m.id: str(m) for m in db.session.scalars(sa.select(DeviceModel).where(DeviceModel.id.in_(model_ids)))}
        if model_ids
        else {}
    )
    out = []
    for r in rows:
        if r.asset_tag is not None:
            out.append(Label(r.asset_tag, models.get(r.model_id, ""), r.tag_code, tag_url(base_url, r.tag_code)))
        else:
            subtitle = r.name if r.name and r.name != r.code else ""
            out.append(Label(r.code, subtitle, r.tag_code, tag_url(base_url, r.tag_code)))
    return out


def sheets(labels: list[Label], fmt: LabelFormat) -> list[list[Label]]:
    """Labels cut into pages of the stock's size."""
    n = PER_SHEET[fmt]
    return [labels[i : i + n] for i in range(0, len(labels), n)]
