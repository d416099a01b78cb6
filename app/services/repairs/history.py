"""Damage history: who was answerable for which tickets, a device's tickets, and repeat damage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, Fee, Person, Ticket, TicketRepair, User, utcnow
from app.services.assets import visible_to
from app.services.people import visible_people

REPEAT_WINDOW_DAYS = 365


def damage_history(person: Person) -> dict[str, Any]:
    """The tickets a person was answerable for and their fees, newest first."""
    tickets = list(
        db.session.scalars(
            sa.select(Ticket)
            .join(TicketRepair, TicketRepair.ticket_id == Ticket.id)
            .where(TicketRepair.responsible_id == person.id)
            .order_by(Ticket.created_at.desc())
        )
    )
    fees = list(db.session.scalars(sa.select(Fee).where(Fee.person_id == person.id).order_by(Fee.created_at.desc())))
    return {"tickets": tickets, "fees": fees}


def device_history(asset: Asset) -> list[Ticket]:
    """Every ticket of the device, newest first."""
    return list(
        db.session.scalars(sa.select(Ticket).where(Ticket.asset_id == asset.id).order_by(Ticket.created_at.desc()))
    )


def repeat_damage(user: User, *, days: int = REPEAT_WINDOW_DAYS, at_least: int = 2) -> dict[str, list]:
    """Devices and people with `at_least` damage tickets in the last `days` days, on the user's campuses."""
    since = utcnow() - timedelta(days=days)
    devices = db.session.execute(
        sa.select(Asset, sa.func.count(Ticket.id).label("n"))
        .join(Ticket, Ticket.asset_id == Asset.id)
        .where(Ticket.created_at >= since, visible_to(user, Asset.campus_id))
        .group_by(Asset.id)
        .having(sa.func.count(Ticket.id) >= at_least)
        .order_by(sa.func.count(Ticket.id).desc(), Asset.asset_tag)
        .limit(200)
    ).all()
    people = db.session.execute(
        sa.select(Person, sa.func.count(Ticket.id).label("n"))
        .join(TicketRepair, TicketRepair.responsible_id == Person.id)
        .join(Ticket, Ticket.id == TicketRepair.ticket_id)
        .where(Ticket.created_at >= since, visible_people(user))
        .group_by(Person.id)
        .having(sa.func.count(Ticket.id) >= at_least)
        .order_by(sa.func.count(Ticket.id).desc(), Person.name)
        .limit(200)
    ).all()
    return {"devices": [(a, n) for a, n in devices], "people": [(p, n) for p, n in people]}
