"""Student privacy: who opened whose record, a person's data exported whole, and erasing a person's personal data.

Erasure keeps the records a district must keep (which device went where, fees, repairs) but takes the person's
name, IDs and contact details out of them: the person becomes "Erased person N" everywhere, including in the
activity log's entries about them, the one place the log is rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    Assignment,
    Fee,
    FeeStatus,
    Loan,
    LoanerSwap,
    Person,
    RecordView,
    SyncEvent,
    Ticket,
    TicketRepair,
    User,
    Via,
    utcnow,
)
from app.services import activity
from app.services.errors import Forbidden, Invalid

# Views of one record by one person closer together than this are shown as one visit.
VISIT = timedelta(minutes=10)
# Columns never written into an export (photo bytes; the status-link secret).
NOT_EXPORTED = {"content", "status_token_hash"}


def note_view(person: Person, by: User, what: str, connection: sa.Connection) -> None:
    """Log that `by` opened `person`'s record ("page", "export", "desk", "repairs") on `connection`, whose
    transaction the caller chooses (see app.web.note_record_view)."""
    connection.execute(sa.insert(RecordView).values(person_id=person.id, user_id=by.id, at=utcnow(), what=what))


@dataclass(frozen=True)
class Visit:
    user: User
    first: datetime
    last: datetime
    views: int
    what: set[str]


def visits(person: Person, limit: int = 20) -> list[Visit]:
    """Who opened this record, newest first, with a user's views close together shown as one visit."""
    rows = db.session.scalars(
        sa.select(RecordView).where(RecordView.person_id == person.id).order_by(RecordView.at.desc()).limit(500)
    ).all()
    out: list[Visit] = []
    for row in rows:
        last = out[-1] if out else None
        if last is not None and last.user.id == row.user_id and last.first - row.at <= VISIT:
            out[-1] = Visit(last.user, row.at, last.last, last.views + 1, last.what | {row.what})
        elif len(out) < limit:
            out.append(Visit(row.user, row.at, row.at, 1, {row.what}))
        else:
            break
    return out


def _row(obj: Any) -> dict[str, Any]:
    """A record's columns as JSON-ready values, by column name."""
    return {
        attr.columns[0].name: activity.plain(getattr(obj, attr.key))
        for attr in sa.inspect(obj).mapper.column_attrs
        if attr.columns[0].name not in NOT_EXPORTED
    }


def _with_tag(obj: Any, asset: Any) -> dict[str, Any]:
    return {**_row(obj), "asset_tag": asset.asset_tag if asset is not None else None}


def _reported(person: Person) -> sa.ColumnElement[bool]:
    """Tickets this person reported (by student ID or email)."""
    clauses = [Ticket.reporter_student_id == person.external_id]
    if person.email:
        clauses.append(sa.func.lower(Ticket.reporter_email) == person.email.lower())
    return sa.or_(*clauses)


def export(person: Person, *, by: User) -> dict[str, Any]:
    """Everything Rollcall holds about a person, as one JSON-ready document."""
    if not by.can_see_campus(person.campus_id):
        raise Forbidden("That person is not on one of your campuses.")

    def rows(model: Any, *where: Any, order: Any) -> list[Any]:
        return list(db.session.scalars(sa.select(model).where(*where).order_by(order)))

    tickets = rows(Ticket, _reported(person), order=Ticket.id)
    responsible = rows(TicketRepair, TicketRepair.responsible_id == person.id, order=TicketRepair.ticket_id)
    return {
        "format": "rollcall-person-export",
        "exported_at": utcnow().isoformat(),
        "exported_by": by.email,
        "person": {**_row(person), "campus": person.campus.code if person.campus else None},
        "assignments": [
            _with_tag(a, a.asset) for a in rows(Assignment, Assignment.person_id == person.id, order=Assignment.id)
        ],
        "loans": [_with_tag(loan, loan.asset) for loan in rows(Loan, Loan.person_id == person.id, order=Loan.id)],
        "tickets_reported": [
            {**_with_tag(t, t.asset), "photos": len(t.photos), "comments": [c.body for c in t.comments]}
            for t in tickets
        ],
        "repairs_answerable_for": [{**_row(r), "ticket": r.ticket.number} for r in responsible],
        "loaner_swaps": [_row(s) for s in rows(LoanerSwap, LoanerSwap.person_id == person.id, order=LoanerSwap.id)],
        "fees": [_with_tag(f, f.asset) for f in rows(Fee, Fee.person_id == person.id, order=Fee.id)],
        "activity": [
            {
                "at": a.at.isoformat(),
                "action": a.action,
                "summary": a.summary,
                "via": a.via.value,
                "by": a.user.email if a.user else None,
                "before": a.before,
                "after": a.after,
            }
            for a in rows(Activity, Activity.person_id == person.id, order=Activity.id)
        ],
        "record_views": [
            {"at": v.at.isoformat(), "by": v.user.email, "what": v.what}
            for v in rows(RecordView, RecordView.person_id == person.id, order=RecordView.id)
        ],
    }


def _blockers(person: Person) -> list[str]:
    """What must be settled before a person's data can go: devices they hold and fees they owe."""
    held = db.session.scalars(
        sa.select(Assignment).where(Assignment.person_id == person.id, Assignment.returned_at.is_(None))
    ).all()
    lent = db.session.scalars(sa.select(Loan).where(Loan.person_id == person.id, Loan.returned_at.is_(None))).all()
    owed = db.session.scalar(
        sa.select(sa.func.count()).where(Fee.person_id == person.id, Fee.status == FeeStatus.outstanding)
    )
    out = []
    if held or lent:
        tags = ", ".join(sorted({a.asset.asset_tag for a in held} | {loan.asset.asset_tag for loan in lent}))
        out.append(f"take back the devices they hold ({tags})")
    if owed:
        out.append(f"settle or waive their {owed} outstanding fee{'s' if owed != 1 else ''}")
    return out


def _scrub(value: Any, names: list[re.Pattern[str]], label: str) -> Any:
    """`value` (text, or JSON-ready data whose strings are walked) with every mention of the person replaced."""
    if isinstance(value, str):
        for name in names:
            value = name.sub(label, value)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, names, label) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, names, label) for item in value]
    return value


def _mentions(person: Person) -> list[re.Pattern[str]]:
    """Patterns for the person's name, ID and email as whole words (an ID of 1000 is not in the tag LHS-1000)."""
    texts = sorted({t for t in (person.name, person.external_id, person.email) if t and len(t) >= 2}, key=len)
    return [re.compile(rf"(?<![\w-]){re.escape(t)}(?![\w-])", re.IGNORECASE) for t in reversed(texts)]


def erase(person: Person, *, confirm: str, by: User, via: Via) -> str:
    """Take a person's personal data out of Rollcall (campus admins, for their campuses); returns the new label.

    `confirm` must repeat the person's ID. Refused while they hold devices or owe fees.
    """
    if not by.can_see_campus(person.campus_id):
        raise Forbidden("That person is not on one of your campuses.")
    if person.external_id.startswith("erased-"):
        raise Invalid("This person's data has already been erased.", field="confirm")
    if confirm.strip() != person.external_id:
        raise Invalid(f"Type {person.external_id} to confirm.", field="confirm")
    blockers = _blockers(person)
    if blockers:
        raise Invalid("First " + " and ".join(blockers) + ".", field="confirm")
    label = f"Erased person {person.id}"
    names = _mentions(person)
    for entry in db.session.scalars(sa.select(Activity).where(Activity.person_id == person.id)):
        entry.summary = _scrub(entry.summary, names, label)[:300]
        entry.before = _scrub(entry.before, names, label)
        entry.after = _scrub(entry.after, names, label)
    for ticket in db.session.scalars(sa.select(Ticket).where(_reported(person))):
        ticket.reporter_name = ticket.reporter_student_id = ticket.reporter_email = None
        ticket.description = _scrub(ticket.description, names, label)
        for comment in ticket.comments:
            comment.body = _scrub(comment.body, names, label)
    for loan in db.session.scalars(sa.select(Loan).where(Loan.person_id == person.id, Loan.note != "")):
        loan.note = _scrub(loan.note, names, label)
    # Refused sync events keep what was sent (a loan to this student's ID, say) so staff can see it.
    for event in db.session.scalars(sa.select(SyncEvent).where(SyncEvent.data.is_not(None))):
        scrubbed = _scrub(event.data, names, label)
        if scrubbed != event.data:
            event.data = scrubbed
    person.name = label
    person.external_id = f"erased-{person.id}"
    person.sourced_id = person.email = person.username = person.grade = None
    person.active = False
    db.session.flush()
    activity.record(
        "person.erase",
        f"Erased the personal data of person {person.id}",
        by=by,
        via=via,
        person=person,
        subject=person,
    )
    return label
