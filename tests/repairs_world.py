"""A small repair shop for the repair, warranty and fee tests: a student's device, a loaner pool, parts, a tech."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Assignment,
    Loan,
    Part,
    PartStock,
    Role,
    TicketCategory,
    Vendor,
    Via,
    utcnow,
)
from app.services import tickets as ticket_service
from tests import factories


def make_shop() -> dict[str, Any]:
    """LHS with a student holding LHS-1000 (assigned, under warranty), two loaners, a screen part, a tech."""
    lhs = factories.make_campus("LHS", "Lincoln High")
    jms = factories.make_campus("JMS", "Jefferson Middle")
    room = factories.make_room(lhs, "LHS-101")
    student = factories.make_person(lhs, "Zoe Martinez", external_id="LHS100001")
    other = factories.make_person(lhs, "Ava Brown", external_id="LHS100002")
    today = utcnow().date()
    device = factories.make_asset(
        lhs,
        room,
        asset_tag="LHS-1000",
        serial="MKQQA7MSUA",
        warranty_provider="Acer Care",
        warranty_plan="3-year ADP",
        warranty_start=today - timedelta(days=200),
        warranty_end=today + timedelta(days=500),
        warranty_accidental=True,
        warranty_claims_allowed=2,
    )
    device.assigned_to = student
    db.session.add(Assignment(asset=device, person=student, assigned_at=utcnow()))
    loaners = [
        factories.make_asset(lhs, room, asset_tag=f"LHS-L00{i}", serial=f"LOANER000{i}", status=AssetStatus.loaner)
        for i in (1, 2)
    ]
    jms_loaner = factories.make_asset(jms, None, asset_tag="JMS-L001", serial="LOANERJ001", status=AssetStatus.loaner)
    tech = factories.make_user(Role.tech, "LHS", email="tech@staff.example.org")
    tech2 = factories.make_user(Role.tech, "LHS", email="tech2@staff.example.org")
    screen = Part(name="Screen 11.6in", part_number="SCR-116", unit_cost=Decimal("42.50"), fits=[device.model])
    db.session.add(screen)
    db.session.flush()
    db.session.add(PartStock(part_id=screen.id, campus_id=lhs.id, stock=3))
    # The district's vendor list: the device's warranty provider, and one other.
    acer = Vendor(name="Acer Care", contact="Claims desk 1-800-555-0100", ship_to="Acer Service Center\n1 Repair Way")
    dell = Vendor(name="Dell", contact="ProSupport", ship_to="Dell Returns\n2 Depot Rd")
    db.session.add_all([acer, dell])
    ticket = ticket_service.open_ticket(
        device, category=TicketCategory.cracked_screen, description="Screen cracked in the corner", by=tech, via=Via.web
    )
    db.session.flush()
    return {
        "lhs": lhs,
        "jms": jms,
        "room": room,
        "student": student,
        "other": other,
        "device": device,
        "loaners": loaners,
        "jms_loaner": jms_loaner,
        "tech": tech,
        "tech2": tech2,
        "screen": screen,
        "ticket": ticket,
        "today": today,
        "vendor": acer,
        "other_vendor": dell,
    }


def ids(world: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in world.items():
        if hasattr(value, "id"):
            out[key] = value.id
        elif isinstance(value, list):
            out[key] = [v.id for v in value]
    return out


def open_loans_per_asset() -> dict[int, int]:
    """Open loans counted per device (the invariant: never more than one)."""
    rows = db.session.execute(
        sa.select(Loan.asset_id, sa.func.count()).where(Loan.returned_at.is_(None)).group_by(Loan.asset_id)
    ).all()
    return {asset_id: n for asset_id, n in rows}


def race(app, n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in n threads at once, each with its own app context and session; commit on success.

    Returns each thread's result or the exception it raised.
    """
    # The caller's own session must not hold SQLite's write lock while the threads run.
    db.session.rollback()
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[i] = work(i)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - the test inspects what each thread met
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def expire_warranty(asset: Asset, on: date) -> None:
    asset.warranty_end = on
    asset.warranty_start = on - timedelta(days=365)
