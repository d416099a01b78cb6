"""Retirement and disposal: batches of end-of-life devices for a recycler, from open to picked up to disposed.

A batch belongs to one campus and one vendor from the district's list. Devices join it by tag (scanned or typed,
several at once) or from the campus's retired devices not yet in any batch; a device that is not retired can be
retired as it joins, under the bulk action's rules (one a person has cannot be). Joining is all or nothing, and a
device is in at most one batch ever. A disposed batch records the date, the certificate of data destruction number
and its file, and never changes again; its devices leave the dashboard's counts and AUE chart but keep their page
and history. Google hears about retired devices through write-back (a retired device is deprovisioned), which the
view asks for when a batch is disposed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Campus,
    DeviceModel,
    DisposalBatch,
    DisposalCertificate,
    DisposalItem,
    DisposalStatus,
    User,
    Via,
)
from app.services import activity, bulk_actions, vendors
from app.services.assets import AssetFilters, find_asset, search_assets, visible_to
from app.services.errors import Invalid

# Certificates are a few pages of PDF or a phone photo of one.
MAX_CERTIFICATE_BYTES = 8 * 1024 * 1024
# Tags one paste may hold; a larger lot is added from the list of retired devices.
MAX_CODES = 2_000
# Retired devices the batch page offers at once.
CANDIDATES_SHOWN = 200
CERTIFICATE_TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MANIFEST_COLUMNS = ("Asset tag", "Serial", "Manufacturer", "Model", "Campus", "Purchased", "Batch")


class CertificateTooLarge(Invalid):
    """The certificate file is over MAX_CERTIFICATE_BYTES (413)."""

    status = 413
    code = "too_large"


@dataclass(frozen=True)
class Certificate:
    """An uploaded certificate file, checked by its content."""

    filename: str
    content_type: str
    content: bytes


def batches_query(user: User) -> sa.Select:
    """Batches on the user's campuses, newest first."""
    return (
        sa.select(DisposalBatch)
        .where(visible_to(user, DisposalBatch.campus_id))
        .order_by(DisposalBatch.created_at.desc(), DisposalBatch.id.desc())
    )


def batch_of(asset: Asset) -> DisposalBatch | None:
    """The batch this device is in (or went with), if any."""
    return db.session.scalar(
        sa.select(DisposalBatch).join(DisposalItem).where(DisposalItem.asset_id == asset.id).limit(1)
    )


def _log(action: str, summary: str, batch: DisposalBatch, *, by: User, via: Via, **kw: Any) -> None:
    activity.record(f"disposal.{action}", summary, by=by, via=via, subject=batch, campus_id=batch.campus_id, **kw)


def _writable(batch: DisposalBatch, field: str) -> None:
    if batch.status is DisposalStatus.disposed:
        raise Invalid(f"{batch.label} was disposed on {batch.disposed_on}; it can no longer change.", field=field)


def _open(batch: DisposalBatch, field: str) -> None:
    _writable(batch, field)
    if not batch.is_open:
        raise Invalid(f"{batch.label} has been picked up; devices can no longer be added or taken out.", field=field)


def create_batch(campus: Campus | None, vendor: Any, planned_on: date | None, *, by: User, via: Via) -> DisposalBatch:
    """Start a batch for a recycler from the vendor list."""
    if campus is None or not by.can_see_campus(campus.id):
        raise Invalid("Choose one of your campuses.", field="campus")
    chosen = vendors.chosen(vendor)
    if chosen is None:
        raise Invalid("Choose a recycler from the vendor list.", field="vendor")
    batch = DisposalBatch(campus=campus, vendor=chosen, planned_on=planned_on, created_by_id=by.id)
    db.session.add(batch)
    db.session.flush()
    _log(
        "create",
        f"Started disposal batch {batch.label} for {chosen.name}",
        batch,
        by=by,
        via=via,
        after={"vendor": chosen.name, "campus": campus.code, "planned_on": activity.plain(planned_on)},
    )
    return batch


def split_codes(text: str) -> list[str]:
    """The tags in a scanned or pasted list: one per line, or separated by commas, semicolons or spaces."""
    codes = [c for c in re.split(r"[\s,;]+", text or "") if c]
    return list(dict.fromkeys(codes))


def _refusal(batch: DisposalBatch, asset: Asset, retire: bool) -> str | None:
    """Why this device cannot join the batch, or None."""
    if asset.campus_id != batch.campus_id:
        return f"it belongs to {asset.campus.code}; this batch is for {batch.campus.code}"
    if asset.status is not AssetStatus.retired:
        if not retire:
            return f"it is {asset.status.label}, not retired (tick “retire as they are added”)"
        reason = bulk_actions.status_refusal(AssetStatus.retired, bulk_actions.in_hands(asset))
        if reason:
            return reason
    return None


def _refused(refusals: list[bulk_actions.Refusal], total: int, field: str) -> bulk_actions.Refused:
    """The bulk action's all-or-nothing refusal, shown on this page's field."""
    error = bulk_actions.Refused(refusals, total)
    error.field = field
    return error


def _memberships(ids: Sequence[int]) -> dict[int, DisposalBatch]:
    """The batch each of these devices is already in."""
    out: dict[int, DisposalBatch] = {}
    for start in range(0, len(ids), bulk_actions.CHUNK):
        rows = db.session.execute(
            sa.select(DisposalItem.asset_id, DisposalBatch)
            .join(DisposalBatch, DisposalItem.batch_id == DisposalBatch.id)
            .where(DisposalItem.asset_id.in_(ids[start : start + bulk_actions.CHUNK]))
        )
        out.update((asset_id, batch) for asset_id, batch in rows)
    return out


def add_assets(
    batch: DisposalBatch, assets: Sequence[Asset], *, retire: bool, by: User, via: Via, field: str = "codes"
) -> list[Asset]:
    """Put these devices in the batch, retiring those that are not yet (when `retire`), or none when any is refused:
    one on another campus, one a person has, one not retired (without `retire`), one already in a batch."""
    _open(batch, field)
    if not assets:
        raise Invalid("Choose at least one device.", field=field)
    inside = _memberships([a.id for a in assets])
    refusals: list[bulk_actions.Refusal] = []
    for asset in assets:
        other = inside.get(asset.id)
        if other is batch:
            reason: str | None = "it is already in this batch"
        elif other is not None:
            state = "an open batch" if other.is_open else f"a batch that was {other.status.label}"
            reason = f"it is in {state}, {other.label}"
        else:
            reason = _refusal(batch, asset, retire)
        if reason:
            refusals.append(bulk_actions.Refusal(asset.asset_tag, reason))
    if refusals:
        raise _refused(refusals, len(assets), field)
    to_retire = tuple(a.id for a in assets if a.status is not AssetStatus.retired)
    if to_retire:
        bulk_actions.change_status(by, bulk_actions.Selection(ids=to_retire), AssetStatus.retired, via=via)
    for asset in assets:
        db.session.add(DisposalItem(batch_id=batch.id, asset_id=asset.id, added_by_id=by.id))
    db.session.flush()
    for asset in assets:
        activity.record(
            "disposal.add",
            f"Added {asset.asset_tag} to disposal batch {batch.label}",
            by=by,
            via=via,
            asset=asset,
            subject=batch,
            after={"batch": batch.label, "retired_now": asset.id in to_retire},
        )
    db.session.expire(batch, ["items"])
    return list(assets)


def add_by_codes(batch: DisposalBatch, text: str, *, retire: bool, by: User, via: Via) -> list[Asset]:
    """Put the devices named by scanned or typed tags (tag code, asset tag or serial) in the batch, or none."""
    _open(batch, "codes")
    codes = split_codes(text)
    if not codes:
        raise Invalid("Scan or type at least one tag, asset tag or serial.", field="codes")
    if len(codes) > MAX_CODES:
        raise Invalid(f"At most {MAX_CODES:,} tags at a time.", field="codes")
    found: list[Asset] = []
    unknown: list[bulk_actions.Refusal] = []
    for code in codes:
        asset = find_asset(code)
        if asset is None or not by.can_see_campus(asset.campus_id):
            unknown.append(bulk_actions.Refusal(code[:64], "no device on your campuses has this tag"))
        elif asset not in found:
            found.append(asset)
    if unknown:
        raise _refused(unknown, len(codes), "codes")
    return add_assets(batch, found, retire=retire, by=by, via=via)


def candidates(batch: DisposalBatch, *, by: User, q: str = "", model_id: int | None = None) -> sa.Select:
    """Retired devices of the batch's campus that are in no batch, matching the inventory's search, by asset tag."""
    filters = AssetFilters(q=q, campus_id=batch.campus_id, status=AssetStatus.retired, model_id=model_id)
    return search_assets(by, filters).where(Asset.id.not_in(sa.select(DisposalItem.asset_id)))


def add_candidates(
    batch: DisposalBatch,
    *,
    ids: Sequence[int] = (),
    q: str = "",
    model_id: int | None = None,
    everything: bool = False,
    by: User,
    via: Via,
) -> list[Asset]:
    """Put retired devices from the list in the batch: the ticked ones, or every one matching the filter."""
    _open(batch, "ids")
    stmt = candidates(batch, by=by, q=q, model_id=model_id)
    if not everything:
        wanted = [i for i in dict.fromkeys(ids) if 0 < i <= bulk_actions.MAX_ROW_ID]
        if not wanted:
            raise Invalid("Tick at least one device.", field="ids")
        stmt = stmt.where(Asset.id.in_(wanted[: bulk_actions.MAX_DEVICES]))
    chosen = list(db.session.scalars(stmt.limit(bulk_actions.MAX_DEVICES + 1)))
    if len(chosen) > bulk_actions.MAX_DEVICES:
        raise Invalid(f"At most {bulk_actions.MAX_DEVICES:,} devices at a time; narrow the filter.", field="ids")
    if not chosen:
        raise Invalid("None of these retired devices is still free to add.", field="ids")
    return add_assets(batch, chosen, retire=False, by=by, via=via, field="ids")


def remove_asset(batch: DisposalBatch, asset: Asset, *, by: User, via: Via) -> None:
    """Take a device out of an open batch (it stays retired)."""
    _open(batch, "remove")
    item = db.session.scalar(
        sa.select(DisposalItem).where(DisposalItem.batch_id == batch.id, DisposalItem.asset_id == asset.id)
    )
    if item is None:
        raise Invalid(f"{asset.asset_tag} is not in {batch.label}.", field="remove")
    db.session.delete(item)
    db.session.flush()
    db.session.expire(batch, ["items"])
    activity.record(
        "disposal.remove",
        f"Took {asset.asset_tag} out of disposal batch {batch.label}",
        by=by,
        via=via,
        asset=asset,
        subject=batch,
        before={"batch": batch.label},
    )


def _still_retired(batch: DisposalBatch, field: str) -> None:
    """Every device of the batch is still retired (someone may have put one back in service since it was added)."""
    if not batch.items:
        raise Invalid(f"{batch.label} has no devices yet.", field=field)
    back = [i.asset.asset_tag for i in batch.items if i.asset.status is not AssetStatus.retired]
    if back:
        shown = ", ".join(back[:5]) + (f" and {len(back) - 5} more" if len(back) > 5 else "")
        raise Invalid(f"Not retired any more: {shown}. Retire them again or take them out.", field=field)


def _day(value: date | None, field: str, what: str) -> date:
    if value is None:
        raise Invalid(f"Enter the date {what}.", field=field)
    return value


def mark_picked_up(batch: DisposalBatch, on: date | None, *, by: User, via: Via) -> DisposalBatch:
    """The recycler took the devices away."""
    _writable(batch, "picked_up_on")
    if batch.status is DisposalStatus.picked_up:
        raise Invalid(f"{batch.label} was already picked up on {batch.picked_up_on}.", field="picked_up_on")
    day = _day(on, "picked_up_on", "the recycler picked the devices up")
    _still_retired(batch, "picked_up_on")
    batch.status, batch.picked_up_on, batch.picked_up_by_id = DisposalStatus.picked_up, day, by.id
    db.session.flush()
    _log(
        "pick_up",
        f"Disposal batch {batch.label} picked up by {batch.vendor.name} ({len(batch.items)} devices)",
        batch,
        by=by,
        via=via,
        before={"status": DisposalStatus.open.value},
        after={"status": batch.status.value, "picked_up_on": day.isoformat()},
    )
    return batch


def check_certificate(filename: str, data: bytes) -> Certificate:
    """A certificate file: a PDF, PNG or JPEG by its content, at most MAX_CERTIFICATE_BYTES."""
    if len(data) > MAX_CERTIFICATE_BYTES:
        limit = MAX_CERTIFICATE_BYTES // (1024 * 1024)
        raise CertificateTooLarge(f"That file is too large; the limit is {limit} MB.", field="certificate")
    if not data:
        raise Invalid("Choose the certificate file (PDF or a photo of it).", field="certificate")
    kind = next((t for magic, t in CERTIFICATE_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise Invalid("The certificate must be a PDF, PNG or JPEG file.", field="certificate")
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip()
    return Certificate(name[:200] or "certificate", kind, data)


def mark_disposed(
    batch: DisposalBatch,
    on: date | None,
    certificate_number: str,
    certificate: Certificate | None,
    *,
    by: User,
    via: Via,
) -> DisposalBatch:
    """The recycler destroyed the data and the devices: the date, the certificate's number and its file. The batch
    and its devices are final from here on."""
    _writable(batch, "disposed_on")
    day = _day(on, "disposed_on", "of disposal on the certificate")
    number = (certificate_number or "").strip()
    if not number:
        raise Invalid("Enter the certificate of data destruction number.", field="certificate_number")
    if len(number) > 80:
        raise Invalid("At most 80 characters.", field="certificate_number")
    if certificate is None:
        raise Invalid("Choose the certificate file (PDF or a photo of it).", field="certificate")
    if batch.picked_up_on is not None and day < batch.picked_up_on:
        raise Invalid(f"The devices were picked up on {batch.picked_up_on}; disposal comes after.", field="disposed_on")
    _still_retired(batch, "disposed_on")
    before = batch.status.value
    batch.status, batch.disposed_on, batch.disposed_by_id = DisposalStatus.disposed, day, by.id
    batch.certificate_number = number
    db.session.add(
        DisposalCertificate(
            batch_id=batch.id,
            filename=certificate.filename,
            content_type=certificate.content_type,
            byte_size=len(certificate.content),
            content=certificate.content,
        )
    )
    db.session.flush()
    _log(
        "dispose",
        f"Disposal batch {batch.label} disposed by {batch.vendor.name}, certificate {number}",
        batch,
        by=by,
        via=via,
        before={"status": before},
        after={
            "status": batch.status.value,
            "disposed_on": day.isoformat(),
            "certificate_number": number,
            "certificate_file": certificate.filename,
            "devices": len(batch.items),
        },
    )
    for item in batch.items:
        activity.record(
            "disposal.disposed",
            f"{item.asset.asset_tag} disposed with batch {batch.label}, certificate {number}",
            by=by,
            via=via,
            asset=item.asset,
            subject=batch,
            after={"batch": batch.label, "disposed_on": day.isoformat(), "certificate_number": number},
        )
    return batch


def certificate_file(batch: DisposalBatch) -> DisposalCertificate | None:
    return db.session.get(DisposalCertificate, batch.id)


def manifest_rows(batch: DisposalBatch) -> Iterator[list[Any]]:
    """The manifest as CSV rows (MANIFEST_COLUMNS), by asset tag."""
    rows = db.session.execute(
        sa.select(
            Asset.asset_tag, Asset.serial, DeviceModel.manufacturer, DeviceModel.name, Campus.code, Asset.purchase_date
        )  # fmt: skip
        .join(DisposalItem, DisposalItem.asset_id == Asset.id)
        .join(DeviceModel, Asset.model_id == DeviceModel.id)
        .join(Campus, Asset.campus_id == Campus.id)
        .where(DisposalItem.batch_id == batch.id)
        .order_by(Asset.asset_tag)
    )
    for tag, serial, maker, model, campus, purchased in rows:
        yield [tag, serial, maker, model, campus, purchased.isoformat() if purchased else "", batch.label]


def manifest_items(batch: DisposalBatch) -> list[DisposalItem]:
    """The batch's devices by asset tag, for the printed manifest."""
    return sorted(batch.items, key=lambda i: i.asset.asset_tag)


def form_day(value: str | None, field: str) -> date | None:
    """A date typed in a form (YYYY-MM-DD): None when left empty, refused when unreadable."""
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise Invalid("Enter a date like 2026-06-30.", field=field) from None
