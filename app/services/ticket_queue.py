"""The ticket queue a tech works from: search, "assigned to me", priority order, swaps waiting to be reversed, and
one page of rows with everything the queue shows loaded in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import defaultload, selectinload

from app import permissions
from app.extensions import db
from app.models import Asset, LoanerSwap, Person, Priority, Ticket, TicketRepair, User
from app.models.tickets import OPEN_STATUSES, parse_number
from app.services.assets import Page, visible_to
from app.services.tickets import TicketFilters, sees_reporter, ticket_conditions

SORTS = ("newest", "oldest_open", "priority")
ASSIGNEE_CHOICES = ("me", "none")
MAX_WORDS = 8
MAX_QUERY = 200
# Most urgent first; tickets not triaged yet sit with the normal ones until someone decides.
PRIORITY_RANK = {Priority.urgent: 0, Priority.high: 1, Priority.normal: 2, Priority.low: 3}
UNTRIAGED_RANK = PRIORITY_RANK[Priority.normal]


@dataclass
class QueueFilters(TicketFilters):
    # Ticket number, asset tag, serial; and the student's name for those who may read people.
    q: str = ""
    # "me": the signed-in user's tickets; "none": tickets no one has taken.
    assignee: str = ""
    # Only tickets whose repair is done but whose loaner swap is not reversed yet (any status).
    swaps: bool = False


@dataclass
class QueueRow:
    """One line of the queue: the ticket, what triage said about its priority, and its open loaner swap."""

    ticket: Ticket
    priority: Priority | None
    swap: LoanerSwap | None

    @property
    def swap_waiting(self) -> bool:
        """The repair is done and the student still has the loaner: the swap waits to be reversed."""
        return self.swap is not None and not self.ticket.status.is_open

    def student(self, user: User) -> Person | None:
        """The person the device is with (its 1:1 holder, else the student who has the swap's loaner), or None
        for a user who may not read people."""
        if not sees_people(user):
            return None
        return self.ticket.asset.assigned_to or (self.swap.person if self.swap is not None else None)


def sees_people(user: User | None) -> bool:
    """Whether the queue shows (and searches) students' names for this user: the holders of people.read."""
    return permissions.allows(user, "people.read")


def escape_like(text: str) -> str:
    """The text as a literal inside a LIKE pattern with backslash as the escape character."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column: Any, word: str) -> Any:
    # lower() on both sides: LIKE is case-sensitive on PostgreSQL and only ASCII-insensitive on SQLite.
    return sa.func.lower(column).like(f"%{escape_like(word)}%", escape="\\")


def _word_matches(user: User, word: str) -> Any:
    options = [_contains(Asset.asset_tag, word), _contains(Asset.serial, word)]
    number = parse_number(word)
    if number is not None:
        options.append(Ticket.id == number)
    if sees_people(user):
        options += [_contains(Person.name, word), sa.func.lower(Person.external_id) == word]
    if sees_reporter(user):
        options.append(_contains(Ticket.reporter_name, word))
    return sa.or_(*options)


def _open_swap_ids() -> Any:
    return sa.select(LoanerSwap.ticket_id).where(LoanerSwap.reversed_at.is_(None))


def _conditions(user: User, f: QueueFilters) -> list[Any]:
    base = f
    if f.swaps and not f.status:
        # A swap waits once its ticket is resolved, so the status filter's "open" default would hide them all.
        base = QueueFilters(campus_id=f.campus_id, category=f.category, all_statuses=True)
    clauses = ticket_conditions(user, base)
    words = f.q.strip().lower()[:MAX_QUERY].split()[:MAX_WORDS]
    clauses += [_word_matches(user, w) for w in words]
    if f.assignee == "me":
        clauses.append(Ticket.assignee_id == user.id)
    elif f.assignee == "none":
        clauses.append(Ticket.assignee_id.is_(None))
    if f.swaps:
        clauses += [Ticket.id.in_(_open_swap_ids()), Ticket.status.not_in(OPEN_STATUSES)]
    return clauses


def _order(f: QueueFilters) -> list[Any]:
    if f.sort == "priority":
        rank = sa.case(
            *[(TicketRepair.priority == p, r) for p, r in PRIORITY_RANK.items()], else_=sa.literal(UNTRIAGED_RANK)
        )
        return [rank, Ticket.created_at.asc(), Ticket.id.asc()]
    if f.sort == "oldest_open":
        return [Ticket.created_at.asc(), Ticket.id.asc()]
    return [Ticket.created_at.desc(), Ticket.id.desc()]


def _from(stmt: sa.Select, user: User, f: QueueFilters) -> sa.Select:
    stmt = stmt.select_from(Ticket).join(Asset, Asset.id == Ticket.asset_id)
    if f.q.strip() and sees_people(user):
        stmt = stmt.outerjoin(Person, Person.id == Asset.assigned_to_id)
    if f.sort == "priority":
        stmt = stmt.outerjoin(TicketRepair, TicketRepair.ticket_id == Ticket.id)
    return stmt


def queue_page(user: User, f: QueueFilters, page: int = 1, per_page: int = 50) -> Page:
    """One page of the queue as QueueRows: a count, the page's ids, then the rows and what they show."""
    page = max(1, page)
    conditions = _conditions(user, f)
    total = db.session.scalar(_from(sa.select(sa.func.count(Ticket.id)), user, f).where(*conditions)) or 0
    ids = list(
        db.session.scalars(
            _from(sa.select(Ticket.id), user, f)
            .where(*conditions)
            .order_by(*_order(f))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    if not ids:
        return Page(items=[], page=page, per_page=per_page, total=total)
    tickets = {
        t.id: t
        for t in db.session.scalars(
            sa.select(Ticket)
            .where(Ticket.id.in_(ids))
            .options(selectinload(Ticket.assignee), defaultload(Ticket.asset).selectinload(Asset.assigned_to))
        )
    }
    repairs = sa.select(TicketRepair.ticket_id, TicketRepair.priority).where(TicketRepair.ticket_id.in_(ids))
    priorities = {ticket_id: priority for ticket_id, priority in db.session.execute(repairs)}
    swaps = {
        s.ticket_id: s
        for s in db.session.scalars(
            sa.select(LoanerSwap)
            .where(LoanerSwap.ticket_id.in_(ids), LoanerSwap.reversed_at.is_(None))
            .options(selectinload(LoanerSwap.person))
        )
    }
    rows = [QueueRow(tickets[i], priorities.get(i), swaps.get(i)) for i in ids if i in tickets]
    return Page(items=rows, page=page, per_page=per_page, total=total)


def swaps_waiting(user: User) -> int:
    """Loaner swaps on the user's campuses whose repair is done but which are not reversed yet."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(LoanerSwap.id))
            .join(Ticket, Ticket.id == LoanerSwap.ticket_id)
            .join(Asset, Asset.id == Ticket.asset_id)
            .where(
                LoanerSwap.reversed_at.is_(None),
                Ticket.status.not_in(OPEN_STATUSES),
                visible_to(user, Asset.campus_id),
            )
        )
        or 0
    )
