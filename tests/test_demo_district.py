"""The demo district tells the truth about a working district: every state a newcomer should see exists, and every
page a newcomer opens shows real rows, not its empty state."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Audit,
    AuditItem,
    AuditOutcome,
    AuditStatus,
    ClaimStatus,
    Fee,
    FeeStatus,
    Loan,
    LoanerSwap,
    PartStock,
    ShippingBatch,
    StockAdjustment,
    Ticket,
    TicketPhoto,
    TicketSource,
    TicketStatus,
    User,
    WarrantyClaim,
    utcnow,
)
from app.services import demo
from app.services.users import start_session

# What each page shows when it has nothing; none of it may appear on the seeded district's pages.
EMPTY = [
    "No tickets match.",
    "No devices match.",
    "No activity matches.",
    "No one matches.",
    "No audits yet.",
    "No batches yet.",
    "No claims here.",
    "No fees here.",
    "No loaner swaps are open.",
    "No loaners are out.",
    "No parts yet.",
    "No repair cost yet.",
    "No device is missing in an audit.",
    "Nothing found yet.",
    "Every device in use has been seen in the last",
    "Every device's most recent Google user is the person it is assigned to.",
]

# Each page with what only its rows show (a pattern that needs at least one real row).
PAGES = {
    "/": r"<strong>\d+</strong> not seen in 30 days",
    "/dashboard": r"not seen in 30 days",
    "/assets": r"[A-Z]{3}-1\d{4}",
    "/tickets": r"T-\d{6}",
    "/tickets?status=all": r"closed",
    "/repairs": r"Swaps to reverse.*T-\d{6}",
    "/repairs/swaps": r"Reverse: [A-Z]{3}-1\d{4} back to",
    "/repairs/claims": r"RMA-\d{6}",
    "/repairs/claims?status=shipped": r"shipped",
    "/repairs/batches": r"B-\d{5}",
    "/repairs/parts": r'id="low-stock".*USBC-45W',
    "/repairs/fees": r"outstanding",
    "/repairs/fees?status=paid": r"Paid at the front office",
    "/repairs/repeat": r"2 tickets",
    "/repairs/planning": r"Total repair cost",
    "/loans/out": r"receipt",
    "/loans/overdue": r"overdue",
    "/audits": r"Missing: [A-Z]{3}-1\d{4}",
    "/audits/missing": r"[A-Z]{3}-1\d{4}",
    "/closet": r"Not seen in 30 days: \d+",
    "/closet/found": r"Found in [A-Z]{3}-",
    "/people": r"student, grade",
    "/labels": r"[A-Z]{3}-1\d{4}",
    "/activity": r"Triaged T-\d{6}",
    "/imports/google-admin/mismatches": r"Assigned to:",
}


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def _text(html: str) -> str:
    main = html.split('id="main"', 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def test_demo_district_has_every_state_and_every_page_shows_rows(app, client):
    with app.app_context():
        demo.seed(n_assets=300, seed=1)
        db.session.commit()
        now = utcnow()

        # Tickets in every state: student reports with photos, triaged, in repair, waiting for parts, on a claim,
        # resolved with the swap still to reverse, closed.
        statuses = set(db.session.scalars(sa.select(Ticket.status).distinct()))
        assert statuses == set(TicketStatus)
        reports = sa.select(Ticket.id).where(Ticket.source == TicketSource.student_report)
        assert _count(TicketPhoto, TicketPhoto.ticket_id.in_(reports)) >= 5
        resolved = sa.select(Ticket.id).where(Ticket.status == TicketStatus.resolved)
        assert _count(LoanerSwap, LoanerSwap.reversed_at.is_(None), LoanerSwap.ticket_id.in_(resolved)) >= 1
        assert _count(LoanerSwap, LoanerSwap.reversed_at.is_not(None)) >= 1
        # Warranty claims in a shipped batch, and others submitted, approved and returned.
        shipped_batch = sa.select(ShippingBatch.id).where(ShippingBatch.shipped_at.is_not(None))
        assert _count(WarrantyClaim, WarrantyClaim.batch_id.in_(shipped_batch)) >= 2
        claim_states = set(db.session.scalars(sa.select(WarrantyClaim.status).distinct()))
        assert {ClaimStatus.submitted, ClaimStatus.approved, ClaimStatus.shipped, ClaimStatus.returned} <= claim_states
        # Parts on the shelf with their history; fees outstanding, paid and waived.
        assert db.session.scalar(sa.select(sa.func.sum(PartStock.stock))) > 50
        assert {"received", "counted", "used"} <= {
            r.value for r in db.session.scalars(sa.select(StockAdjustment.reason))
        }
        assert set(db.session.scalars(sa.select(Fee.status).distinct())) == set(FeeStatus)
        # Closed audits with devices missing; loaners out, some overdue.
        assert _count(Audit, Audit.status == AuditStatus.closed) >= 6
        assert _count(AuditItem, AuditItem.outcome == AuditOutcome.missing) >= 3
        open_loans = Loan.returned_at.is_(None)
        assert _count(Loan, open_loans, Loan.due_at < now) >= 2
        assert _count(Loan, open_loans, Loan.due_at > now) >= 2
        # Google facts on nearly every device in use, and a few mismatches with the assignee.
        in_use = Asset.status.in_([AssetStatus.deployed, AssetStatus.loaner, AssetStatus.in_stock])
        assert _count(Asset, in_use, Asset.google_device_id.is_(None)) == 0
        assert _count(Asset, in_use, Asset.org_unit.is_(None)) == 0
        # Warranty plans agree with their names.
        for plan, accidental in (("3-year standard", False), ("3-year accidental damage", True), ("4-year ADP", True)):
            rows = db.session.execute(
                sa.select(Asset.warranty_accidental, Asset.warranty_start, Asset.warranty_end).where(
                    Asset.warranty_plan == plan
                )
            ).all()
            assert rows, plan
            years = int(plan[0])
            assert all(a is accidental and end.year - start.year == years for a, start, end in rows), plan
        # "Not seen in 30 days" is a minority: more than none, far fewer than half.
        seen_statuses = [AssetStatus.deployed, AssetStatus.loaner, AssetStatus.in_stock, AssetStatus.in_repair]
        total = _count(Asset, Asset.status.in_(seen_statuses))
        stale = sa.func.coalesce(Asset.last_seen_at, now - timedelta(days=3650)) < now - timedelta(days=30)
        unseen = _count(Asset, Asset.status.in_(seen_statuses), stale)
        assert 0 < unseen < total * 0.25, (unseen, total)
        # Nothing is dated in the future; the people who acted have names.
        assert _count(Ticket, Ticket.created_at > now) == 0
        assert "Priya Raman" in set(db.session.scalars(sa.select(User.name)))

        admin = db.session.scalar(sa.select(User).where(User.email == demo.DEMO_USERS[0][0]))
        session_id = start_session(admin, user_agent="pytest")
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True

    # The dashboard's reports: devices losing updates this school year, warranties already ended.
    school_year = now.year if now.month >= 7 else now.year - 1
    reports = {
        f"/assets?aue_year={school_year}&active=1": r"100e Chromebook Gen 3",
        "/assets?warranty=expired&active=1": r"[A-Z]{3}-1\d{4}",
        "/tickets?sort=oldest_open": r"T-\d{6}",
    }
    for url, rows in {**PAGES, **reports}.items():
        resp = client.get(url)
        assert resp.status_code == 200, url
        text = _text(resp.get_data(as_text=True))
        assert re.search(rows, text) or re.search(rows, resp.get_data(as_text=True), re.S), (url, text[:600])
        shown = [phrase for phrase in EMPTY if phrase in text]
        assert not shown, (url, shown)
