"""For vendors without an API: the open claims to a vendor as a bulk-claim CSV, and the vendor's status file read
back by RMA or serial, checked (dry run) and then applied through the vendor door's own workflow."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, User, Vendor, Via, WarrantyClaim
from app.services import activity, vendors, warranty
from app.services.csvio import HeaderError, read_table
from app.services.errors import Invalid

EXPORT_COLUMNS = (
    "claim_id",
    "rma",
    "status",
    "asset_tag",
    "serial",
    "manufacturer",
    "model",
    "warranty_plan",
    "ticket",
    "category",
    "fault",
    "submitted_at",
    "batch",
    "tracking",
)
STATUS_ALIASES = {
    "rma": ("RMA", "RMA number", "claim number", "case number"),
    "serial": ("Serial", "serial number", "service tag"),
    "status": ("Status", "claim status"),
    "tracking": ("Tracking", "tracking number", "return tracking"),
    "notes": ("Notes", "comments", "remarks"),
}
MOST_ROWS = 5000


def open_claims(vendor: Vendor) -> list[WarrantyClaim]:
    """The vendor's claims that are not over yet, oldest first."""
    return list(
        db.session.scalars(
            sa.select(WarrantyClaim)
            .where(WarrantyClaim.vendor_id == vendor.id, WarrantyClaim.status.not_in(warranty.CLOSED))
            .order_by(WarrantyClaim.submitted_at, WarrantyClaim.id)
        )
    )


def export_rows(vendor: Vendor) -> Iterator[list[Any]]:
    """One row per open claim, in EXPORT_COLUMNS' order: the device and the fault, never the student."""
    for claim in open_claims(vendor):
        asset, batch = claim.asset, claim.batch
        yield [
            claim.id,
            claim.rma or "",
            warranty.vendor_status(claim),
            asset.asset_tag,
            asset.serial or "",
            asset.model.manufacturer if asset.model else "",
            asset.model.name if asset.model else "",
            asset.warranty_plan or "",
            claim.ticket.number,
            claim.ticket.category.value,
            claim.note,
            claim.submitted_at.date().isoformat(),
            batch.label if batch is not None else "",
            batch.tracking if batch is not None else "",
        ]


@dataclass
class Line:
    """One row of a status file: the claim it names, what it would change, or why it cannot."""

    line: int
    key: str
    claim_id: int | None = None
    asset_tag: str = ""
    changes: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class StatusReport:
    lines: list[Line]
    applied: bool = False

    @property
    def errors(self) -> list[Line]:
        return [line for line in self.lines if line.error]

    @property
    def changed(self) -> int:
        return sum(1 for line in self.lines if line.changes and not line.error)


def _claim_for(vendor: Vendor, rma: str, serial: str) -> WarrantyClaim | None:
    if rma:
        found = db.session.scalar(
            sa.select(WarrantyClaim).where(WarrantyClaim.vendor_id == vendor.id, WarrantyClaim.rma == rma.upper())
        )
        if found is not None:
            return found
    if serial:
        return db.session.scalar(
            sa.select(WarrantyClaim)
            .join(Asset, Asset.id == WarrantyClaim.asset_id)
            .where(
                WarrantyClaim.vendor_id == vendor.id,
                WarrantyClaim.status.not_in(warranty.CLOSED),
                sa.func.upper(Asset.serial) == serial.upper(),
            )
            .order_by(WarrantyClaim.id.desc())
            .limit(1)
        )
    return None


STATUS_WORDS = {"shipped back": "shipped_back", "shipped": "shipped_back", "approve": "approved", "deny": "denied"}


def status_file(vendor: Vendor, source: bytes | str, *, by: User, via: Via, apply: bool) -> StatusReport:
    """Read a vendor's status file (rma or serial, status, tracking, notes). Each row runs through the vendor door's
    workflow as the vendor; a dry run rolls every row back and reports. Apply is all or nothing: refused while any
    row is refused, so the file is fixed first."""
    try:
        table = read_table(source, STATUS_ALIASES, verbatim=("notes",))
    except HeaderError as exc:
        raise Invalid(str(exc), field="file") from exc
    if "rma" not in table.columns and "serial" not in table.columns:
        raise Invalid("The file needs an RMA or a serial column to find each claim.", field="file")
    actor = vendors.account(vendor, create=True)
    assert actor is not None
    report = StatusReport(lines=[])
    outer = db.session.begin_nested()
    for row in table.rows:
        if len(report.lines) >= MOST_ROWS:
            raise Invalid(f"At most {MOST_ROWS:,} rows at a time.", field="file")
        rma, serial = row.get("rma"), row.get("serial")
        line = Line(row.line, rma or serial)
        report.lines.append(line)
        claim = _claim_for(vendor, rma, serial)
        if claim is None:
            line.error = f"No open claim to {vendor.name} has RMA or serial {line.key[:64] or '(blank)'}."
            continue
        line.claim_id, line.asset_tag = claim.id, claim.asset.asset_tag
        status = row.get("status").strip().lower().replace("-", " ")
        values = {
            "rma": rma or None,
            "status": STATUS_WORDS.get(status, status.replace(" ", "_")) or None,
            "tracking": row.get("tracking") or None,
            "notes": row.get("notes") or None,
        }
        try:
            with db.session.begin_nested():
                line.changes = warranty.vendor_update(claim, values, by=actor, via=via)
        except Invalid as exc:
            line.error = exc.message
    if not apply or report.errors:
        outer.rollback()
        return report
    outer.commit()
    activity.record(
        "import.vendor_status",
        f"Applied {vendor.name}'s status file: {report.changed} claim(s) changed",
        by=by,
        via=via,
        subject=vendor,
        after={"rows": len(report.lines), "changed": report.changed},
    )
    report.applied = True
    return report
