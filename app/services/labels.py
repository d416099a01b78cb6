"""Label printing: choosing what to print, recording each print, and the QR code SVG on every label."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.constants
import sqlalchemy as sa
from barcode import Code128
from qrcode import base as qr_base
from qrcode import util as qr_util
from qrcode.LUT import rsPoly_LUT

from app.extensions import db
from app.models import Asset, DeviceModel, LabelFormat, LabelPrint, LabelPrintItem, Room, User, Via
from app.services import activity
from app.services.assets import AssetFilters, search_assets, visible_to
from app.services.errors import Invalid
from app.tagcodes import pretty

MAX_LABELS = 3000
PER_SHEET = {LabelFormat.avery5160: 30, LabelFormat.avery22806: 12, LabelFormat.thermal: 1, LabelFormat.dymo30252: 1}
# Medium error correction survives a scuffed sticker. One fixed mask pattern (any of the eight decodes the same)
# saves scoring all eight per code, and lets every code of a version share one cached template.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
MASK_PATTERN = 0
QUIET_MODULES = 2
_RUNS = re.compile(rb"\x01+")
# Code 128 wants ten modules of white either side; printable ASCII is what every 1D scanner types back.
CODE128_QUIET = 10
_CODE128_TEXT = re.compile(r"[ -~]{1,40}")


@dataclass(frozen=True)
class Label:
    """What one sticker shows."""

    title: str
    subtitle: str
    code: str
    url: str
    # What the Code 128 beside the QR carries (the asset tag), or None for no 1D code.
    barcode: str | None = None

    @property
    def pretty_code(self) -> str:
        return pretty(self.code)

    @property
    def qr_svg(self) -> str:
        return qr_svg(self.url)

    @property
    def code128_svg(self) -> str:
        return code128_svg(self.barcode) if self.barcode else ""


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


class _Bits:
    """A bit buffer with qrcode's put() interface, kept in one integer (qrcode's appends bit by bit)."""

    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def put(self, num: int, length: int) -> None:
        self.value = (self.value << length) | (num & ((1 << length) - 1))
        self.length += length

    def __len__(self) -> int:
        return self.length


@lru_cache(maxsize=32)
def _rs_table(ec_count: int) -> tuple[int, ...]:
    """For each byte value f, f times the generator polynomial of ec_count terms over GF(256), packed into
    one integer (the highest term first) so a division step is a shift and an XOR."""
    exp, log = qr_base.EXP_TABLE, qr_base.LOG_TABLE
    gen_logs = [log[g] for g in rsPoly_LUT[ec_count][1:]]
    return (0,) + tuple(int.from_bytes(bytes(exp[(log[f] + g) % 255] for g in gen_logs), "big") for f in range(1, 256))


def _ec_codewords(data: list[int], ec_count: int) -> list[int]:
    """Reed-Solomon error-correction bytes: the remainder of the data polynomial divided by the generator."""
    table, top, full = _rs_table(ec_count), 8 * (ec_count - 1), (1 << (8 * ec_count)) - 1
    remainder = 0
    for byte in data:
        remainder = ((remainder << 8) & full) ^ table[byte ^ (remainder >> top)]
    return list(remainder.to_bytes(ec_count, "big"))


def _codewords(data_list: list, version: int) -> list[int]:
    """The interleaved data and error-correction bytes, exactly as qrcode's util.create_data computes them."""
    bits = _Bits()
    for chunk in data_list:
        bits.put(chunk.mode, 4)
        bits.put(len(chunk), qr_util.length_in_bits(chunk.mode, version))
        chunk.write(bits)
    blocks = qr_base.rs_blocks(version, ERROR_CORRECTION)
    bit_limit = sum(b.data_count * 8 for b in blocks)
    if len(bits) > bit_limit:
        raise ValueError("data too long for this QR version")
    bits.put(0, min(bit_limit - len(bits), 4))
    bits.put(0, (8 - len(bits) % 8) % 8)
    for i in range((bit_limit - len(bits)) // 8):
        bits.put(qr_util.PAD0 if i % 2 == 0 else qr_util.PAD1, 8)
    stream = list(bits.value.to_bytes(bits.length // 8, "big"))
    dc_blocks, ec_blocks, offset = [], [], 0
    for b in blocks:
        dc = stream[offset : offset + b.data_count]
        offset += b.data_count
        dc_blocks.append(dc)
        ec_blocks.append(_ec_codewords(dc, b.total_count - b.data_count))
    out = []
    for group in (dc_blocks, ec_blocks):
        for i in range(max(len(g) for g in group)):
            out.extend(g[i] for g in group if i < len(g))
    return out


class _Blank(qrcode.QRCode):
    """A symbol with its finder, timing, alignment and format patterns drawn and the data area left empty."""

    def map_data(self, data, mask_pattern):  # noqa: ARG002 - the data area stays None on purpose
        return None


@dataclass(frozen=True)
class _Template:
    """A version's fixed patterns (mask and error level are fixed too) and where its data bits go."""

    size: int
    fixed: bytes  # the symbol row by row, 0/1 per module, data cells 0
    positions: tuple[int, ...]  # flat indexes of the data cells, in qrcode's map_data order
    mask: int  # the mask bit of each data cell, first cell in the highest bit


@lru_cache(maxsize=16)
def _template(version: int) -> _Template:
    blank = _Blank(version=version, error_correction=ERROR_CORRECTION, border=0, mask_pattern=MASK_PATTERN)
    blank.makeImpl(False, MASK_PATTERN)
    modules, count = blank.modules, blank.modules_count
    mask_of = qr_util.mask_func(MASK_PATTERN)
    positions, mask, row, inc = [], 0, count - 1, -1
    for col in range(count - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if modules[row][c] is None:
                    positions.append(row * count + c)
                    mask = (mask << 1) | bool(mask_of(row, c))
            row += inc
            if row < 0 or count <= row:
                row -= inc
                inc = -inc
                break
    fixed = bytes(1 if v else 0 for r in modules for v in r)
    return _Template(count, fixed, tuple(positions), mask)


_BIT_BYTES = bytes.maketrans(b"01", b"\x00\x01")


def _qr_rows(data: str) -> list[bytearray]:
    """The QR symbol for data (no quiet zone) as rows of 0/1 bytes: qrcode's data encoding and patterns,
    placed from a cached template so that a sheet of a thousand codes stays fast."""
    version = _version_for(len(data.encode()))
    qr = qrcode.QRCode(version=version, error_correction=ERROR_CORRECTION, border=0, mask_pattern=MASK_PATTERN)
    qr.add_data(data)
    codewords = _codewords(qr.data_list, version)
    t = _template(version)
    n = len(t.positions)
    # Data bits (zero-padded to the cell count, as map_data leaves remainder cells light), masked in one XOR.
    stream = int.from_bytes(bytes(codewords), "big") << (n - 8 * len(codewords))
    bits = format(stream ^ t.mask, f"0{n}b").encode().translate(_BIT_BYTES)
    flat = bytearray(t.fixed)
    for i, bit in zip(t.positions, bits, strict=True):
        flat[i] = bit
    size = t.size
    return [flat[i : i + size] for i in range(0, size * size, size)]


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR symbol for data as booleans (dark is True), the shape qrcode's get_matrix() returns."""
    return [[bool(v) for v in row] for row in _qr_rows(data)]


def qr_svg(data: str) -> str:
    """An inline SVG of the QR code for data, one <path> of merged horizontal runs, scaled by CSS."""
    rows = _qr_rows(data)
    size = len(rows) + 2 * QUIET_MODULES
    q = QUIET_MODULES
    # Each run of dark modules is one horizontal stroke, one module thick, through the row's middle.
    parts = [
        f"M{a + q} {y}.5h{b - a}"
        for y, row in enumerate(rows, start=q)
        for a, b in (run.span() for run in _RUNS.finditer(row))
    ]
    return (
        f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges" aria-hidden="true" focusable="false">'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path stroke="#000" d="{"".join(parts)}"/></svg>'
    )


def code128_encodable(value: str) -> bool:
    """Whether a value can be a Code 128 that scanners type back as the same text (printable ASCII)."""
    return bool(_CODE128_TEXT.fullmatch(value))


def code128_svg(value: str) -> str:
    """An inline SVG of value as Code 128 (python-barcode picks the code sets), quiet zones included, one
    <path> of bars in a viewBox one module per unit wide; CSS sets its size, and the bars stretch with it."""
    modules = Code128(value, writer=None).build()[0].encode().translate(_BIT_BYTES)
    width = len(modules) + 2 * CODE128_QUIET
    q = CODE128_QUIET
    bars = "".join(f"M{a + q} 0h{b - a}v1h{a - b}z" for a, b in (run.span() for run in _RUNS.finditer(modules)))
    return (
        f'<svg class="code128" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 1" preserveAspectRatio="none" '
        f'shape-rendering="crispEdges" aria-hidden="true" focusable="false">'
        f'<rect width="{width}" height="1" fill="#fff"/><path fill="#000" d="{bars}"/></svg>'
    )


def check_first_position(fmt: LabelFormat, first_position: int | None) -> int:
    """The position on the first sheet to start at (1 when not given); one the stock does not have is refused."""
    if first_position is None:
        return 1
    n = PER_SHEET[fmt]
    if not 1 <= first_position <= n:
        if n == 1:
            raise Invalid(f"{fmt.label} prints one label at a time: start at label 1.", field="start")
        raise Invalid(f"{fmt.label} has {n} labels a sheet: start at a label from 1 to {n}.", field="start")
    return first_position


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


def record_print(
    fmt: LabelFormat,
    targets: list[Asset] | list[Room],
    *,
    by: User,
    via: Via,
    first_position: int | None = None,
    code128: bool = False,
) -> LabelPrint:
    """Record that these assets' or rooms' labels were sent to print (who, when, which codes, on what stock,
    from which position of the first sheet, with or without a Code 128 of each asset tag)."""
    first_position = check_first_position(fmt, first_position)
    if not targets:
        raise Invalid("Choose at least one device or room.", field="ids")
    if len(targets) > MAX_LABELS:
        raise Invalid(f"Print at most {MAX_LABELS} labels at a time.", field="ids")
    for t in targets:
        if not by.can_see_campus(t.campus_id):
            raise Invalid("You can only print labels for your own campuses.", field="ids")
    job = LabelPrint(
        user_id=by.id, format=fmt, count=len(targets), first_position=first_position, code128=bool(code128)
    )
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
        after={
            "format": fmt.value,
            "count": len(targets),
            "first": names[0],
            "last": names[-1],
            "first_position": first_position,
            "code128": bool(code128),
        },
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
            barcode = r.asset_tag if job.code128 and code128_encodable(r.asset_tag) else None
            url = tag_url(base_url, r.tag_code)
            out.append(Label(r.asset_tag, models.get(r.model_id, ""), r.tag_code, url, barcode))
        else:
            subtitle = r.name if r.name and r.name != r.code else ""
            out.append(Label(r.code, subtitle, r.tag_code, tag_url(base_url, r.tag_code)))
    return out


def sheets(labels: list[Label], fmt: LabelFormat, first_position: int = 1) -> list[list[Label | None]]:
    """Labels cut into pages of the stock's size; the first page starts at first_position, the positions
    before it (already used on a part-used sheet) left blank as None."""
    n = PER_SHEET[fmt]
    skip = min(max(first_position, 1), n) - 1
    slots: list[Label | None] = [None] * skip
    slots.extend(labels)
    return [slots[i : i + n] for i in range(0, len(slots), n)]
