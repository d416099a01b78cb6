"""A tech or admin who acts on an unassigned ticket becomes its assignee, with the assignment in the log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Part, Priority, Role, TicketCategory, TicketEventKind, TicketStatus, Via
from app.services import tickets as ticket_service
from app.services.repairs import costs, parts, swaps, workflow
from tests import factories
from tests.repairs_world import make_shop


@pytest.fixture
def shop(ctx):
    world = make_shop()
    db.session.commit()
    return world


def _assign_entries(ticket) -> list[Activity]:
    return list(
        db.session.scalars(
            sa.select(Activity).where(Activity.action == "ticket.assign", Activity.subject_id == ticket.id)
        )
    )


def _triage(ticket, by):
    return workflow.triage(
        ticket, category=TicketCategory.cracked_screen, priority=Priority.high, responsible=None, accidental=True,
        by=by, via=Via.web,
    )  # fmt: skip


def parts_screen(ticket):
    return db.session.scalar(sa.select(Part).where(Part.part_number == "SCR-116"))


ACTIONS = {
    "triage": _triage,
    "take in": lambda t, by: workflow.take_in(t, by=by, via=Via.web),
    "swap": lambda t, by: swaps.swap_in_loaner(t, by=by, via=Via.web),
    "parts": lambda t, by: parts.use_parts(t, parts_screen(t), 1, by=by, via=Via.web),
    "labour": lambda t, by: costs.log_labour(t, 20, by=by, via=Via.web),
    "resolve": lambda t, by: workflow.resolve(t, by=by, via=Via.web),
    "status": lambda t, by: ticket_service.change_status(t, TicketStatus.waiting_parts, by=by, via=Via.web),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_acting_on_an_unassigned_ticket_makes_it_yours(shop, action):
    ticket, tech = shop["ticket"], shop["tech2"]
    assert ticket.assignee is None
    ACTIONS[action](ticket, tech)
    db.session.commit()
    assert ticket.assignee_id == tech.id
    (entry,) = _assign_entries(ticket)
    assert entry.user_id == tech.id and entry.after == {"assignee": tech.name}
    assert f"{tech.name} took up {ticket.number}" in entry.summary
    assigned = [e for e in ticket.events if e.kind is TicketEventKind.assigned]
    assert [(e.user_id, e.to_value) for e in assigned] == [(tech.id, tech.name)]


def test_a_ticket_someone_has_stays_theirs(shop):
    ticket, tech, tech2 = shop["ticket"], shop["tech"], shop["tech2"]
    ticket_service.assign(ticket, tech, by=tech, via=Via.web)
    _triage(ticket, tech2)
    workflow.take_in(ticket, by=tech2, via=Via.web)
    db.session.commit()
    assert ticket.assignee_id == tech.id
    assert len(_assign_entries(ticket)) == 1


def test_a_refused_action_assigns_no_one(shop):
    ticket, tech = shop["ticket"], shop["tech2"]
    with pytest.raises(Exception, match="Resolve"):
        workflow.close(ticket, by=tech, via=Via.web)
    assert ticket.assignee is None and _assign_entries(ticket) == []


def test_nested_actions_take_it_up_once(shop):
    """Triage moves new to triaged through change_status: one assignment, not two."""
    ticket, tech = shop["ticket"], shop["tech2"]
    _triage(ticket, tech)
    workflow.resolve(ticket, by=tech, via=Via.web)
    db.session.commit()
    assert len(_assign_entries(ticket)) == 1


def test_only_repair_staff_of_the_campus_take_tickets_up(shop):
    """An aide's comment, a report filed by an aide, a district admin: only holders of repairs.work who can
    be assigned here become the assignee."""
    ticket = shop["ticket"]
    aide = factories.make_user(Role.aide, "LHS")
    ticket_service.comment(ticket, "Student says it fell off a desk", by=aide, via=Via.web)
    assert ticket_service.take_up(ticket, by=aide, via=Via.web) is False
    tech = shop["tech"]
    # A comment is talk about a ticket, not work on it: a tech's question does not make it theirs.
    ticket_service.comment(ticket, "Is the charger with it?", by=tech, via=Via.web)
    assert ticket.assignee is None
    admin = factories.make_user(Role.admin)
    ticket_service.change_status(ticket, TicketStatus.triaged, by=admin, via=Via.web)
    db.session.commit()
    assert ticket.assignee_id == admin.id
