"""Warranty: whether a claim would be covered (and plainly why not), the claim's life, shipping batches, receiving."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Asset,
    Campus,
    ClaimStatus,
    ClaimVendorInfo,
    ObservationSource,
    ShippingBatch,
    Ticket,
    TicketStatus,
    User,
    Vendor,
    Via,
    WarrantyClaim,
    utcnow,
)
from app.services import activity, vendors
from app.services import tickets as ticket_service
from app.services.assets import find_asset, visible_to
from app.services.errors import Invalid
from app.services.observations import record_observation
from app.services.repairs.record import repair_of
from app.services.repairs.workflow import LIKELY_ACCIDENTAL, open_claims, take_in
from app.services.sync import Context, Rejected, text

# Claims that can still be put in a box for the vendor.
SHIPPABLE = (ClaimStatus.submitted, ClaimStatus.approved)
# Claims that are over: the device is back or the vendor refused.
CLOSED = (ClaimStatus.returned, ClaimStatus.denied)
# Claims whose device is at the vendor and can be received back.
AWAY = (ClaimStatus.shipped, ClaimStatus.repaired)
NEXT = {
    ClaimStatus.submitted: (ClaimStatus.approved, ClaimStatus.denied),
    ClaimStatus.approved: (ClaimStatus.shipped, ClaimStatus.denied),
    ClaimStatus.shipped: (ClaimStatus.repaired, ClaimStatus.returned, ClaimStatus.denied),
    ClaimStatus.repaired: (ClaimStatus.returned,),
    ClaimStatus.returned: (),
    ClaimStatus.denied: (),
}


@dataclass
class Coverage:
    """Whether a claim for this device and damage would be covered; `reasons` say plainly why not."""

    covered: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return " ".join(self.reasons)


def coverage(asset: Asset, *, accidental: bool, on: date | None = None) -> Coverage:
    """Decide coverage from the device's warranty on file: dates, claim limit, accidental-damage cover."""
    on = on or utcnow().date()
    if not asset.warranty_provider and asset.warranty_end is None:
        return Coverage(False, [f"No warranty on file for {asset.asset_tag}."])
    reasons = []
    if asset.warranty_end is None:
        reasons.append(f"The warranty on {asset.asset_tag} has no end date on file; add it before claiming.")
    elif asset.warranty_end < on:
        reasons.append(f"The warranty expired on {asset.warranty_end.isoformat()}.")
    if asset.warranty_start is not None and asset.warranty_start > on:
        reasons.append(f"The warranty starts on {asset.warranty_start.isoformat()}.")
    allowed = asset.warranty_claims_allowed
    if allowed is not None and asset.warranty_claims_used >= allowed:
        reasons.append(f"Claim limit reached: {asset.warranty_claims_used} of {allowed} claims used.")
    if accidental and not asset.warranty_accidental:
        reasons.append("The plan does not cover accidental damage, and this damage is accidental.")
    return Coverage(not reasons, reasons)


def is_accidental(ticket: Ticket) -> bool:
    """Triage's answer when given, otherwise a guess from the ticket's category."""
    row = repair_of(ticket, create=False)
    if row is not None and row.accidental is not None:
        return row.accidental
    return ticket.category in LIKELY_ACCIDENTAL


def listed_vendor(choice: str | int | Vendor | None, *, default: str | None = None) -> Vendor:
    """The active vendor on the district's list that a form chose (by id or name), else the one named `default`
    (a device's warranty provider); refused, on the `vendor` field, when neither is on the list."""
    vendor = vendors.chosen(choice) if choice not in (None, "") else vendors.chosen(default)
    if vendor is not None:
        return vendor
    named = str(choice if choice not in (None, "") else default or "").strip()
    if named and not named.isdigit():
        raise Invalid(f"{named[:80]} is not on the vendor list; an admin adds vendors.", field="vendor")
    raise Invalid("Choose the vendor from the list.", field="vendor")


def _rma_free(rma: str, claim: WarrantyClaim | None = None) -> None:
    stmt = sa.select(WarrantyClaim.id).where(WarrantyClaim.rma == rma)
    if claim is not None:
        stmt = stmt.where(WarrantyClaim.id != claim.id)
    if db.session.scalar(stmt):
        raise Invalid(f"RMA {rma} is already on another claim.", field="rma")


def open_claim(
    ticket: Ticket,
    *,
    by: User,
    via: Via,
    vendor: str | int | Vendor | None = "",
    note: str = "",
    rma: str = "",
) -> WarrantyClaim:
    """Open a warranty claim for a ticket when the warranty covers it, to a vendor on the district's list, with the
    vendor's claim number or RMA when the portal gave one at once; the device goes in repair."""
    if not ticket.status.is_open:
        raise Invalid(f"{ticket.number} is {ticket.status.label}; reopen it first.", field="claim")
    asset = ticket.asset
    decision = coverage(asset, accidental=is_accidental(ticket))
    if not decision.covered:
        raise Invalid("Not covered: " + decision.message, field="claim")
    chosen = listed_vendor(vendor, default=asset.warranty_provider)
    try:
        rma = _clean_rma(rma)
        if rma:
            _rma_free(rma)
    except Invalid as exc:
        # On the ticket the RMA belongs to the claim form, whose refusals are shown under "claim".
        raise Invalid(exc.message, field="claim") from exc
    if open_claims(ticket):
        raise Invalid(f"{ticket.number} already has an open warranty claim.", field="claim")
    # Counting the claim and checking the limit in one UPDATE: two claims at once cannot both take the last one.
    used = db.session.execute(
        sa.update(Asset)
        .where(
            Asset.id == asset.id,
            sa.or_(Asset.warranty_claims_allowed.is_(None), Asset.warranty_claims_used < Asset.warranty_claims_allowed),
        )
        .values(warranty_claims_used=Asset.warranty_claims_used + 1)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        db.session.refresh(asset)
        raise Invalid("Not covered: " + coverage(asset, accidental=False).message, field="claim")
    db.session.expire(asset, ["warranty_claims_used"])
    claim = WarrantyClaim(
        ticket=ticket,
        asset=asset,
        vendor=chosen.name,
        vendor_id=chosen.id,
        rma=rma or None,
        note=(note or "").strip()[:2000],
        submitted_by_id=by.id,
        status=ClaimStatus.submitted,
    )
    try:
        # The savepoint starts before the row is added: begin_nested() flushes pending rows first.
        with db.session.begin_nested():
            db.session.add(claim)
            db.session.flush()
    except IntegrityError as exc:
        if rma and db.session.scalar(sa.select(WarrantyClaim.id).where(WarrantyClaim.rma == rma)):
            raise Invalid(f"RMA {rma} is already on another claim.", field="claim") from exc
        raise Invalid(f"{ticket.number} already has an open warranty claim.", field="claim") from exc
    take_in(ticket, by=by, via=via, status=TicketStatus.warranty_claim)
    after = {"vendor": chosen.name, "status": claim.status.value, "claims_used": asset.warranty_claims_used}
    activity.record(
        "claim.open",
        f"Warranty claim to {chosen.name} for {asset.asset_tag} ({ticket.number})" + (f", RMA {rma}" if rma else ""),
        by=by,
        via=via,
        asset=asset,
        subject=claim,
        after={**after, "rma": rma} if rma else after,
    )
    return claim


def _move(claim: WarrantyClaim, to: ClaimStatus) -> ClaimStatus:
    old = claim.status
    if to not in NEXT[old]:
        raise Invalid(f"A {old.label} claim cannot become {to.label}.", field="status")
    claim.status = to
    setattr(claim, f"{to.value}_at", utcnow())
    return old


def _log_move(
    claim: WarrantyClaim, old: ClaimStatus, action: str, summary: str, *, by: User, via: Via, **noted: Any
) -> None:
    """The activity entry for a claim that moved from `old` to its current status, with anything else noted."""
    activity.record(
        action,
        summary,
        by=by,
        via=via,
        asset=claim.asset,
        subject=claim,
        before={"status": old.value},
        after={"status": claim.status.value, **noted},
    )


def _clean_rma(rma: str) -> str:
    rma = (rma or "").strip().upper()
    if len(rma) > 64:
        raise Invalid("That RMA number is too long.", field="rma")
    return rma


def approve(claim: WarrantyClaim, *, rma: str, by: User, via: Via) -> WarrantyClaim:
    """The vendor accepted the claim and gave it a number (RMA); one entered when the claim was opened stands."""
    rma = _clean_rma(rma)
    if not rma and claim.status is ClaimStatus.submitted:
        rma = claim.rma or ""
    if not rma:
        raise Invalid("Enter the claim number or RMA the vendor gave.", field="rma")
    _rma_free(rma, claim)
    old = _move(claim, ClaimStatus.approved)
    db.session.flush()
    try:
        with db.session.begin_nested():
            claim.rma = rma
            db.session.flush()
    except IntegrityError as exc:
        raise Invalid(f"RMA {rma} is already on another claim.", field="rma") from exc
    _log_move(
        claim, old, "claim.approve", f"Claim for {claim.asset.asset_tag} approved, RMA {rma}", by=by, via=via, rma=rma
    )
    return claim


def deny(claim: WarrantyClaim, *, reason: str, by: User, via: Via) -> WarrantyClaim:
    """The vendor refused the claim; it no longer counts against the device's claim limit."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 300:
        raise Invalid("Say why the vendor denied it (at most 300 characters).", field="reason")
    old = _move(claim, ClaimStatus.denied)
    claim.denial_reason = reason
    db.session.execute(
        sa.update(Asset)
        .where(Asset.id == claim.asset_id, Asset.warranty_claims_used > 0)
        .values(warranty_claims_used=Asset.warranty_claims_used - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(claim.asset, ["warranty_claims_used"])
    ticket = claim.ticket
    if ticket.status is TicketStatus.warranty_claim:
        ticket_service.change_status(ticket, TicketStatus.in_repair, by=by, via=via)
    db.session.flush()
    _log_move(
        claim, old, "claim.deny", f"Claim for {claim.asset.asset_tag} denied: {reason}", by=by, via=via, reason=reason
    )
    return claim


def mark_repaired(claim: WarrantyClaim, *, by: User, via: Via) -> WarrantyClaim:
    """The vendor says the device is repaired and on its way back."""
    old = _move(claim, ClaimStatus.repaired)
    db.session.flush()
    _log_move(claim, old, "claim.repaired", f"Vendor repaired {claim.asset.asset_tag}", by=by, via=via)
    return claim


# --- shipping batches -------------------------------------------------------------------------------------


def new_batch(*, vendor: str | int | Vendor, campus: Campus, by: User, via: Via) -> ShippingBatch:
    """Start a box of devices for one vendor on the district's list from one campus."""
    chosen = listed_vendor(vendor)
    if not by.can_see_campus(campus.id):
        raise Invalid("Choose one of your campuses.", field="campus")
    batch = ShippingBatch(vendor=chosen.name, vendor_id=chosen.id, campus_id=campus.id, created_by_id=by.id)
    db.session.add(batch)
    db.session.flush()
    activity.record(
        "batch.create",
        f"Started shipping batch {batch.label} to {chosen.name}",
        by=by,
        via=via,
        campus_id=campus.id,
        subject=batch,
    )
    return batch


def _same_vendor(claim: WarrantyClaim, batch: ShippingBatch) -> bool:
    if claim.vendor_id is not None and batch.vendor_id is not None:
        return claim.vendor_id == batch.vendor_id
    return claim.vendor.strip().lower() == batch.vendor.strip().lower()


def _vendor_of(batch: ShippingBatch) -> sa.ColumnElement[bool]:
    if batch.vendor_id is not None:
        return WarrantyClaim.vendor_id == batch.vendor_id
    return sa.func.lower(WarrantyClaim.vendor) == batch.vendor.lower()


def addable_claims(batch: ShippingBatch) -> list[WarrantyClaim]:
    """Claims to the batch's vendor from its campus that are not in a box yet."""
    return list(
        db.session.scalars(
            sa.select(WarrantyClaim)
            .join(Asset, Asset.id == WarrantyClaim.asset_id)
            .where(
                WarrantyClaim.batch_id.is_(None),
                WarrantyClaim.status.in_(SHIPPABLE),
                _vendor_of(batch),
                Asset.campus_id == batch.campus_id,
            )
            .order_by(WarrantyClaim.submitted_at)
        )
    )


def waiting_vendors(user: User) -> dict[int, int]:
    """For each vendor, how many claims on the user's campuses wait to be put in a box."""
    rows = db.session.execute(
        sa.select(WarrantyClaim.vendor_id, sa.func.count())
        .join(Asset, Asset.id == WarrantyClaim.asset_id)
        .where(
            WarrantyClaim.batch_id.is_(None),
            WarrantyClaim.status.in_(SHIPPABLE),
            WarrantyClaim.vendor_id.is_not(None),
            visible_to(user),
        )
        .group_by(WarrantyClaim.vendor_id)
    )
    return {vendor_id: count for vendor_id, count in rows if vendor_id is not None}


def add_to_batch(batch: ShippingBatch, claim: WarrantyClaim, *, by: User, via: Via) -> None:
    """Put a claim's device in the box."""
    if batch.shipped_at is not None:
        raise Invalid(f"{batch.label} has already shipped.", field="claim")
    if claim.batch_id == batch.id:
        raise Invalid(f"{claim.asset.asset_tag} is already in {batch.label}.", field="claim")
    if claim.batch_id is not None:
        raise Invalid(f"{claim.asset.asset_tag} is already in batch {claim.batch.label}.", field="claim")
    if claim.status not in SHIPPABLE:
        raise Invalid(f"A {claim.status.label} claim cannot be shipped.", field="claim")
    if not _same_vendor(claim, batch):
        raise Invalid(f"That claim goes to {claim.vendor}, not {batch.vendor}.", field="claim")
    if claim.asset.campus_id != batch.campus_id:
        raise Invalid(f"{claim.asset.asset_tag} is on another campus.", field="claim")
    claim.batch_id = batch.id
    db.session.flush()
    activity.record(
        "batch.add",
        f"Packed {claim.asset.asset_tag} in {batch.label}",
        by=by,
        via=via,
        asset=claim.asset,
        subject=batch,
        after={"claim": claim.id},
    )


def add_by_scan(batch: ShippingBatch, code: str, *, by: User, via: Via) -> WarrantyClaim:
    """Put the device scanned (tag code, asset tag or serial) in the box: its open claim joins the batch.

    Each refusal says which case it is: no such device, no open claim, already in this batch, in another batch,
    a claim to another vendor (or from another campus), a box that has shipped.
    """
    raw = (code or "").strip()
    if not raw:
        raise Invalid("Scan or type the device's tag, asset tag or serial.", field="code")
    if batch.shipped_at is not None:
        raise Invalid(f"{batch.label} has already shipped.", field="code")
    asset = find_asset(raw)
    if asset is None or not by.can_see_campus(asset.campus_id):
        raise Invalid(f"No device on your campuses matches {raw[:64]}.", field="code")
    claim = db.session.scalar(
        sa.select(WarrantyClaim)
        .where(WarrantyClaim.asset_id == asset.id, WarrantyClaim.status.not_in(CLOSED))
        .order_by(WarrantyClaim.id.desc())
        .limit(1)
    )
    if claim is None:
        raise Invalid(f"{asset.asset_tag} has no open warranty claim.", field="code")
    if claim.batch_id == batch.id:
        raise Invalid(f"{asset.asset_tag} is already in this batch.", field="code")
    if claim.batch_id is not None:
        raise Invalid(f"{asset.asset_tag} is in another batch, {claim.batch.label}.", field="code")
    if not _same_vendor(claim, batch):
        raise Invalid(f"The claim for {asset.asset_tag} goes to {claim.vendor}, not {batch.vendor}.", field="code")
    try:
        add_to_batch(batch, claim, by=by, via=via)
    except Invalid as exc:
        raise Invalid(exc.message, field="code") from exc
    return claim


def remove_from_batch(batch: ShippingBatch, claim: WarrantyClaim, *, by: User, via: Via) -> None:
    """Take a claim's device out of a box that has not shipped."""
    if batch.shipped_at is not None:
        raise Invalid(f"{batch.label} has already shipped.", field="claim")
    if claim.batch_id != batch.id:
        raise Invalid(f"{claim.asset.asset_tag} is not in {batch.label}.", field="claim")
    claim.batch_id = None
    db.session.flush()
    activity.record(
        "batch.remove",
        f"Took {claim.asset.asset_tag} out of {batch.label}",
        by=by,
        via=via,
        asset=claim.asset,
        subject=batch,
    )


def ship_batch(
    batch: ShippingBatch,
    *,
    by: User,
    via: Via,
    tracking: str = "",
    carrier: str = "",
    at: datetime | None = None,
) -> int:
    """The box leaves: every claim in it is shipped, each noted on its device's history (so on its ticket's
    repair steps) with the carrier and tracking; returns how many devices went."""
    if batch.shipped_at is not None:
        raise Invalid(f"{batch.label} has already shipped.", field="batch")
    claims = [c for c in batch.claims if c.status in SHIPPABLE]
    if not claims:
        raise Invalid(f"{batch.label} is empty; add a claim before shipping.", field="batch")
    now = at or utcnow()
    was = {claim.id: claim.status for claim in claims}
    for claim in claims:
        claim.status = ClaimStatus.shipped
        claim.shipped_at = now
    batch.shipped_at = now
    batch.shipped_by_id = by.id
    batch.tracking = (tracking or "").strip()[:120]
    batch.carrier = (carrier or "").strip()[:60]
    db.session.flush()
    activity.record(
        "batch.ship",
        f"Shipped {batch.label} to {batch.vendor}: {len(claims)} device(s)",
        by=by,
        via=via,
        campus_id=batch.campus_id,
        subject=batch,
        after={"devices": [c.asset.asset_tag for c in claims], "carrier": batch.carrier, "tracking": batch.tracking},
    )
    sent = shipping_words(batch)
    for claim in claims:
        activity.record(
            "claim.ship",
            f"{claim.asset.asset_tag} shipped to {claim.vendor} in {sent}",
            by=by,
            via=via,
            asset=claim.asset,
            subject=claim,
            before={"status": was[claim.id].value},
            after={"status": ClaimStatus.shipped.value, "batch": batch.label, **_shipment(batch)},
        )
    return len(claims)


def _shipment(batch: ShippingBatch) -> dict[str, str]:
    return {k: v for k, v in (("carrier", batch.carrier), ("tracking", batch.tracking)) if v}


def shipping_words(batch: ShippingBatch) -> str:
    """The batch as a ticket's repair steps name it: "B-00004 by UPS, tracking 1Z999"."""
    words = batch.label
    if batch.carrier:
        words += f" by {batch.carrier}"
    if batch.tracking:
        words += f", tracking {batch.tracking}"
    return words


def _claim_for_scan(text: str, user: User, statuses: tuple[ClaimStatus, ...], where: str) -> WarrantyClaim:
    raw = (text or "").strip()
    if not raw:
        raise Invalid("Scan or type a device tag, serial or RMA.", field="code")
    claim = db.session.scalar(
        sa.select(WarrantyClaim).where(
            WarrantyClaim.rma == raw.upper(),
            WarrantyClaim.status.in_(statuses),
            WarrantyClaim.batch_id.is_not(None),
        )
    )
    if claim is not None and user.can_see_campus(claim.asset.campus_id):
        return claim
    asset = find_asset(raw)
    if asset is None or not user.can_see_campus(asset.campus_id):
        raise Invalid(
            f"Nothing matches {raw}: no claim has that RMA, and no device has that tag or serial.", field="code"
        )
    claim = db.session.scalar(
        sa.select(WarrantyClaim)
        .where(
            WarrantyClaim.asset_id == asset.id,
            WarrantyClaim.status.in_(statuses),
            WarrantyClaim.batch_id.is_not(None),
        )
        .order_by(WarrantyClaim.id.desc())
    )
    if claim is None:
        raise Invalid(f"{asset.asset_tag} is not in {where}.", field="code")
    return claim


def receive(text: str, *, by: User, via: Via, at: datetime | None = None) -> WarrantyClaim:
    """A device back from the vendor, found by its tag, serial or the claim's RMA; nothing changes if unknown."""
    claim = _claim_for_scan(text, by, AWAY, "a shipped batch waiting to come back")
    old = claim.status
    claim.status = ClaimStatus.returned
    claim.returned_at = max(at or utcnow(), claim.shipped_at or claim.submitted_at)
    if claim.repaired_at is None:
        claim.repaired_at = claim.returned_at
    # Receiving it is a sighting: the device page's "last seen" says when and by whom it came back.
    record_observation(
        claim.asset,
        None,
        at=claim.returned_at,
        by=by,
        source=ObservationSource.scan,
        via=via,
        note=f"Received back from {claim.vendor}"[:500],
    )
    ticket = claim.ticket
    if ticket.status is TicketStatus.warranty_claim:
        ticket_service.change_status(ticket, TicketStatus.in_repair, by=by, via=via)
    db.session.flush()
    _log_move(
        claim,
        old,
        "claim.receive",
        f"{claim.asset.asset_tag} back from {claim.vendor}" + (f" (RMA {claim.rma})" if claim.rma else ""),
        by=by,
        via=via,
    )
    return claim


def ship_scan(text: str, *, by: User, via: Via, at: datetime | None = None) -> WarrantyClaim:
    """One device leaves in its (unshipped) batch, found by scan; the batch ships when its last device does."""
    claim = _claim_for_scan(text, by, SHIPPABLE, "a batch waiting to ship")
    batch = claim.batch
    now = at or utcnow()
    old = claim.status
    claim.status = ClaimStatus.shipped
    claim.shipped_at = now
    if batch is not None and all(c.status not in SHIPPABLE for c in batch.claims):
        batch.shipped_at = now
        batch.shipped_by_id = by.id
    db.session.flush()
    _log_move(
        claim,
        old,
        "claim.ship",
        f"{claim.asset.asset_tag} shipped to {claim.vendor}" + (f" in {batch.label}" if batch else ""),
        by=by,
        via=via,
    )
    return claim


def claims_query(user: User, status: ClaimStatus | None = None, *, open_only: bool = False) -> sa.Select:
    """Claims on the user's campuses, newest first."""
    stmt = sa.select(WarrantyClaim).join(Asset, Asset.id == WarrantyClaim.asset_id).where(visible_to(user))
    if status is not None:
        stmt = stmt.where(WarrantyClaim.status == status)
    elif open_only:
        stmt = stmt.where(WarrantyClaim.status.not_in([ClaimStatus.returned, ClaimStatus.denied]))
    return stmt.order_by(WarrantyClaim.submitted_at.desc(), WarrantyClaim.id.desc())


def batches_query(user: User) -> sa.Select:
    """Shipping batches on the user's campuses: unshipped first, then newest."""
    return (
        sa.select(ShippingBatch)
        .where(visible_to(user, ShippingBatch.campus_id))
        .order_by(ShippingBatch.shipped_at.is_not(None), ShippingBatch.created_at.desc(), ShippingBatch.id.desc())
    )


def claims_of(ticket: Ticket) -> list[WarrantyClaim]:
    return list(
        db.session.scalars(
            sa.select(WarrantyClaim).where(WarrantyClaim.ticket_id == ticket.id).order_by(WarrantyClaim.id)
        )
    )


# --- field work through the offline outbox ----------------------------------------------------------------


def _scanned(data: dict) -> str:
    code = text(data, "rma", required=False, max_len=64) or text(data, "tag", required=False, max_len=200)
    if not code:
        raise Rejected("The event has no tag or rma.")
    return code


def apply_receive(data: dict, ctx: Context) -> dict:
    """`claim.receive` — `tag` (tag code, asset tag or serial) or `rma`: a device is back from the vendor."""
    try:
        claim = receive(_scanned(data), by=ctx.user, via=ctx.via, at=ctx.at)
    except Invalid as exc:
        raise Rejected(exc.message) from exc
    return {"claim": claim.id, "asset_tag": claim.asset.asset_tag, "status": claim.status.value}


def apply_ship(data: dict, ctx: Context) -> dict:
    """`claim.ship` — `tag` or `rma`: a packed device leaves in its batch."""
    try:
        claim = ship_scan(_scanned(data), by=ctx.user, via=ctx.via, at=ctx.at)
    except Invalid as exc:
        raise Rejected(exc.message) from exc
    return {"claim": claim.id, "asset_tag": claim.asset.asset_tag, "status": claim.status.value}


# --- the vendor's side (the vendor door and their status file) ---------------------------------------------------

# What a vendor may set a claim's status to, in their words; "shipped_back" is the device on its way to us.
VENDOR_STATUSES = ("approved", "denied", "repaired", "shipped_back")


def vendor_info(claim: WarrantyClaim, *, create: bool = False) -> ClaimVendorInfo | None:
    """What the vendor told us beyond the status (return tracking, notes, when it was shipped back)."""
    info = db.session.get(ClaimVendorInfo, claim.id)
    if info is None and create:
        info = ClaimVendorInfo(claim_id=claim.id, return_tracking="", notes="")
        db.session.add(info)
    return info


def vendor_status(claim: WarrantyClaim) -> str:
    """The claim's status as the vendor door tells it: `shipped_back` while a device sent back is not yet received."""
    info = vendor_info(claim)
    if info is not None and info.shipped_back_at is not None and claim.status in AWAY:
        return "shipped_back"
    return claim.status.value


def _vendor_text(values: dict[str, Any], name: str, limit: int) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name} must be text.", field=name)
    value = value.strip()
    if len(value) > limit:
        raise Invalid(f"{name} is at most {limit} characters.", field=name)
    return value


def vendor_update(claim: WarrantyClaim, values: dict[str, Any], *, by: User, via: Via) -> list[str]:
    """A vendor's news about a claim: `rma`, `status` (approved, denied, repaired, shipped_back), `tracking` (the
    return shipment) and `notes`; each change goes through the claim's own workflow (so its rules and the ticket's
    moves are the usual ones) and is logged as `by`'s. Returns the changes made, in words."""
    rma = _vendor_text(values, "rma", 64)
    status = _vendor_text(values, "status", 20)
    tracking = _vendor_text(values, "tracking", 120)
    notes = _vendor_text(values, "notes", 2000)
    if status and status not in VENDOR_STATUSES:
        raise Invalid(f"status must be one of {', '.join(VENDOR_STATUSES)}.", field="status")
    done: list[str] = []
    if rma and _clean_rma(rma) != (claim.rma or ""):
        if status == "approved" and claim.status is ClaimStatus.submitted:
            pass  # approving below sets it
        else:
            _set_rma(claim, _clean_rma(rma), by=by, via=via)
            done.append("rma")
    if status and status != vendor_status(claim):
        _vendor_move(claim, status, rma=rma or "", notes=notes or "", tracking=tracking or "", by=by, via=via)
        done.append("status")
    info_changes = {}
    info = vendor_info(claim, create=tracking is not None or notes is not None)
    if info is not None:
        for key, value in (("return_tracking", tracking), ("notes", notes)):
            if value is not None and value != (getattr(info, key) or ""):
                setattr(info, key, value)
                info_changes[key] = value
    if info_changes and info is not None:
        info.updated_at = utcnow()
        db.session.flush()
        activity.record(
            "claim.vendor_note",
            f"{claim.vendor} updated the claim for {claim.asset.asset_tag}"
            + (f": tracking {tracking}" if "return_tracking" in info_changes else ""),
            by=by,
            via=via,
            asset=claim.asset,
            subject=claim,
            after={("tracking" if k == "return_tracking" else k): v for k, v in info_changes.items()},
        )
        done += [k for k in ("return_tracking", "notes") if k in info_changes]
    return done


def _set_rma(claim: WarrantyClaim, rma: str, *, by: User, via: Via) -> None:
    _rma_free(rma, claim)
    old = claim.rma
    try:
        with db.session.begin_nested():
            claim.rma = rma
            db.session.flush()
    except IntegrityError as exc:
        raise Invalid(f"RMA {rma} is already on another claim.", field="rma") from exc
    activity.record(
        "claim.rma",
        f"RMA {rma} for the claim on {claim.asset.asset_tag}",
        by=by,
        via=via,
        asset=claim.asset,
        subject=claim,
        before={"rma": old},
        after={"rma": rma},
    )


def _vendor_move(claim: WarrantyClaim, status: str, *, rma: str, notes: str, tracking: str, by: User, via: Via) -> None:
    if status == "approved":
        approve(claim, rma=rma, by=by, via=via)
    elif status == "denied":
        deny(claim, reason=notes[:300] or f"Denied by {claim.vendor}", by=by, via=via)
    elif status == "repaired":
        mark_repaired(claim, by=by, via=via)
    else:
        ship_back(claim, tracking=tracking, by=by, via=via)


def ship_back(claim: WarrantyClaim, *, tracking: str = "", by: User, via: Via) -> WarrantyClaim:
    """The vendor sent the device back (repaired, unless they say otherwise): it now waits to be received by scan,
    which closes the claim and puts the ticket back in repair."""
    if claim.status is ClaimStatus.shipped:
        mark_repaired(claim, by=by, via=via)
    if claim.status is not ClaimStatus.repaired:
        raise Invalid(f"A {claim.status.label} claim cannot be shipped back.", field="status")
    info = vendor_info(claim, create=True)
    assert info is not None
    info.shipped_back_at = utcnow()
    if tracking:
        info.return_tracking = tracking
    info.updated_at = info.shipped_back_at
    db.session.flush()
    activity.record(
        "claim.ship_back",
        f"{claim.vendor} shipped {claim.asset.asset_tag} back"
        + (f", tracking {tracking}" if tracking else "")
        + "; waiting to be received",
        by=by,
        via=via,
        asset=claim.asset,
        subject=claim,
        before={"status": ClaimStatus.repaired.value},
        after={"status": "shipped_back", **({"tracking": tracking} if tracking else {})},
    )
    return claim
