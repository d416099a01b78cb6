"""Repair tickets: opening them (staff or a student's report), status changes, comments, assignment, queues."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from flask import current_app
from limits import RateLimitItem, parse_many
from sqlalchemy.dialects import postgresql, sqlite

from app import permissions
from app.extensions import db
from app.models import (
    Asset,
    ReportRefusal,
    Ticket,
    TicketCategory,
    TicketComment,
    TicketEvent,
    TicketEventKind,
    TicketPhoto,
    TicketSource,
    TicketStatus,
    User,
    Via,
    utcnow,
)
from app.models.tickets import OPEN_STATUSES, hash_status_token, new_status_token, parse_number
from app.services import activity, sync
from app.services.assets import find_asset, visible_to
from app.services.errors import Invalid
from app.services.photos import CleanPhoto

MAX_DESCRIPTION = 4000
MAX_COMMENT = 4000
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SORTS = ("newest", "oldest_open")
# Student reports filed through sync by one staff member (Flask-Limiter's syntax; REPORT_SYNC_LIMIT overrides).
# A class's worth in an hour is ordinary; hundreds are a script or a stolen token.
DEFAULT_SYNC_REPORT_LIMIT = "60 per hour;300 per day"
# The report form promises "Only the repair staff see this": a reporter's name, student ID and email are shown to
# holders of this capability (techs and admins) and to no one else.
REPORTER_CAPABILITY = "repairs.work"
# How far back the ticket queue counts refused reports.
REFUSALS_WINDOW = timedelta(hours=24)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Reporter:
    """What a student chose to tell us about themselves; every field optional."""

    name: str = ""
    student_id: str = ""
    email: str = ""


@dataclass
class TicketFilters:
    campus_id: int | None = None
    category: TicketCategory | None = None
    # None means every open status; "all" is spelled all_statuses=True.
    status: TicketStatus | None = None
    all_statuses: bool = False
    sort: str = "newest"


def sees_reporter(user: User | None) -> bool:
    """Whether this user may see who reported a ticket (name, student ID, email)."""
    return permissions.allows(user, REPORTER_CAPABILITY)


def _clean_description(text: str, field: str = "description", limit: int = MAX_DESCRIPTION) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid("Describe what is wrong.", field=field)
    if len(text) > limit:
        raise Invalid(f"Keep it under {limit} characters.", field=field)
    return text


def _clean_reporter(reporter: Reporter | None) -> Reporter:
    if reporter is None:
        return Reporter()
    name, student_id, email = (reporter.name or "").strip(), (reporter.student_id or "").strip(), ""
    email = (reporter.email or "").strip().lower()
    if len(name) > 160:
        raise Invalid("That name is too long.", field="reporter_name")
    if len(student_id) > 64:
        raise Invalid("That student ID is too long.", field="reporter_student_id")
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        raise Invalid("That email address does not look right.", field="reporter_email")
    return Reporter(name, student_id, email)


def _new_ticket(asset: Asset, *, source: TicketSource, category: TicketCategory, description: str, by: User | None):
    raw, digest = new_status_token()
    ticket = Ticket(
        asset=asset,
        source=source,
        category=category,
        description=description,
        status=TicketStatus.new,
        opened_by_id=by.id if by is not None else None,
        status_token_hash=digest,
    )
    db.session.add(ticket)
    db.session.flush()
    db.session.add(
        TicketEvent(
            ticket=ticket,
            at=ticket.created_at,
            user_id=ticket.opened_by_id,
            kind=TicketEventKind.opened,
            to_value="new",
        )
    )
    return ticket, raw


def _add_photos(ticket: Ticket, photos: Iterable[CleanPhoto]) -> None:
    for p in photos:
        db.session.add(
            TicketPhoto(ticket=ticket, content=p.content, width=p.width, height=p.height, byte_size=len(p.content))
        )


def open_ticket(
    asset: Asset,
    *,
    category: TicketCategory,
    description: str,
    by: User,
    via: Via,
    photos: Iterable[CleanPhoto] = (),
) -> Ticket:
    """A staff member opens a ticket for a device on one of their campuses."""
    if not by.can_see_campus(asset.campus_id):
        raise Invalid("That device is not on one of your campuses.", field="asset")
    description = _clean_description(description)
    ticket, _raw = _new_ticket(asset, source=TicketSource.staff, category=category, description=description, by=by)
    _add_photos(ticket, photos)
    db.session.flush()
    activity.record(
        "ticket.open",
        f"Opened {ticket.number} for {asset.asset_tag}: {category.label}",
        by=by,
        via=via,
        asset=asset,
        subject=ticket,
        after={"category": category.value, "status": ticket.status.value},
    )
    return ticket


def file_student_report(
    asset: Asset,
    *,
    category: TicketCategory,
    description: str,
    reporter: Reporter | None = None,
    photo: CleanPhoto | None = None,
    via: Via = Via.public,
    filed_by: User | None = None,
) -> tuple[Ticket, str]:
    """A student's damage report: a new ticket; returns it and the raw status token (shown once, never stored).

    `filed_by` is the staff member who recorded it for the student (offline, through sync); None from the public
    page.
    """
    description = _clean_description(description)
    who = _clean_reporter(reporter)
    ticket, raw = _new_ticket(
        asset, source=TicketSource.student_report, category=category, description=description, by=filed_by
    )
    ticket.reporter_name = who.name or None
    ticket.reporter_student_id = who.student_id or None
    ticket.reporter_email = who.email or None
    _add_photos(ticket, [photo] if photo is not None else [])
    db.session.flush()
    # The log names no reporter: it is read by many staff, and the ticket itself holds what they gave.
    activity.record(
        "ticket.report",
        f"Student report {ticket.number} for {asset.asset_tag}: {category.label}",
        by=filed_by,
        via=via,
        asset=asset,
        subject=ticket,
        after={"category": category.value, "status": ticket.status.value, "photo": photo is not None},
    )
    return ticket, raw


def _assignable(user: User, ticket: Ticket) -> bool:
    return user.active and permissions.allows(user, "repairs.work") and user.can_see_campus(ticket.asset.campus_id)


def take_up(ticket: Ticket, *, by: User | None, via: Via) -> bool:
    """A tech or admin who acts on an unassigned ticket becomes its assignee; True when that happened.

    Anyone else (an aide filing a report, a student, a job with no user) leaves the ticket as it is, and so does
    an action on a ticket someone already has: taking over is a deliberate reassignment on the ticket's page.
    """
    if by is None or ticket.assignee_id is not None or not _assignable(by, ticket):
        return False
    return assign(ticket, by, by=by, via=via, summary=f"{by.name} took up {ticket.number} ({ticket.asset.asset_tag})")


def ticket_action(fn: Callable[P, R]) -> Callable[P, R]:
    """Marks a service operation as work on a ticket: when it succeeds, `take_up` runs for the one who did it.

    The operation's first argument is the ticket, or a record with a `.ticket` (a loaner swap, a warranty claim);
    its `by` and `via` keywords name who acted and how. Nested actions (triage moving the status) take it up once.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        result = fn(*args, **kwargs)
        subject = args[0] if args else None
        ticket = subject if isinstance(subject, Ticket) else getattr(subject, "ticket", None)
        by, via = kwargs.get("by"), kwargs.get("via")
        if isinstance(ticket, Ticket) and isinstance(by, User) and isinstance(via, Via):
            take_up(ticket, by=by, via=via)
        return result

    return wrapper


@ticket_action
def change_status(ticket: Ticket, status: TicketStatus, *, by: User, via: Via) -> bool:
    """Move a ticket to another status; False when it already had it."""
    old = ticket.status
    if status is old:
        return False
    ticket.status = status
    ticket.updated_at = utcnow()
    if not status.is_open and old.is_open:
        ticket.closed_at = ticket.updated_at
    elif status.is_open:
        ticket.closed_at = None
    db.session.add(
        TicketEvent(
            ticket=ticket, user_id=by.id, kind=TicketEventKind.status, from_value=old.value, to_value=status.value
        )
    )
    db.session.flush()
    activity.record(
        "ticket.status",
        f"{ticket.number} ({ticket.asset.asset_tag}) is now {status.label}",
        by=by,
        via=via,
        asset=ticket.asset,
        subject=ticket,
        before={"status": old.value},
        after={"status": status.value},
    )
    return True


def comment(ticket: Ticket, body: str, *, by: User, via: Via) -> TicketComment:
    """Add a staff comment to a ticket."""
    body = _clean_description(body, field="body", limit=MAX_COMMENT)
    row = TicketComment(ticket=ticket, author_id=by.id, body=body)
    db.session.add(row)
    ticket.updated_at = utcnow()
    db.session.flush()
    activity.record(
        "ticket.comment",
        f"Commented on {ticket.number} ({ticket.asset.asset_tag})",
        by=by,
        via=via,
        asset=ticket.asset,
        subject=ticket,
    )
    return row


def assignable_users(ticket: Ticket) -> list[User]:
    """Those who work on repairs ("repairs.work": techs and admins) on this ticket's campus, by name."""
    roles = permissions.roles_for("repairs.work")
    users = db.session.scalars(
        sa.select(User).where(User.active.is_(True), User.role.in_(roles)).order_by(User.name, User.id)
    )
    return [u for u in users if u.can_see_campus(ticket.asset.campus_id) and permissions.allows(u, "repairs.work")]


def assign(ticket: Ticket, assignee: User | None, *, by: User, via: Via, summary: str | None = None) -> bool:
    """Give a ticket to a tech or admin of its campus (None to unassign); False when nothing changed."""
    if assignee is not None and not _assignable(assignee, ticket):
        raise Invalid("Choose a tech or admin who works on this campus.", field="assignee")
    old = ticket.assignee
    if (old.id if old else None) == (assignee.id if assignee else None):
        return False
    ticket.assignee = assignee
    ticket.updated_at = utcnow()
    db.session.add(
        TicketEvent(
            ticket=ticket,
            user_id=by.id,
            kind=TicketEventKind.assigned,
            from_value=old.name if old else None,
            to_value=assignee.name if assignee else None,
        )
    )
    db.session.flush()
    activity.record(
        "ticket.assign",
        summary or f"{ticket.number} ({ticket.asset.asset_tag}) assigned to {assignee.name if assignee else 'no one'}",
        by=by,
        via=via,
        asset=ticket.asset,
        subject=ticket,
        before={"assignee": old.name if old else None},
        after={"assignee": assignee.name if assignee else None},
    )
    return True


def ticket_conditions(user: User, f: TicketFilters) -> list[Any]:
    """WHERE clauses for tickets (joined to their asset) on the user's campuses with these filters."""
    clauses = [visible_to(user, Asset.campus_id)]
    if f.campus_id:
        clauses.append(Asset.campus_id == f.campus_id)
    if f.category:
        clauses.append(Ticket.category == f.category)
    if f.status:
        clauses.append(Ticket.status == f.status)
    elif not f.all_statuses or f.sort == "oldest_open":
        clauses.append(Ticket.status.in_(OPEN_STATUSES))
    return clauses


def tickets_query(user: User, f: TicketFilters) -> sa.Select:
    """The ticket queue on the user's campuses with the filters, newest first or oldest open first."""
    stmt = sa.select(Ticket).join(Ticket.asset).where(*ticket_conditions(user, f))
    if f.sort == "oldest_open":
        return stmt.order_by(Ticket.created_at.asc(), Ticket.id.asc())
    return stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc())


def new_report_count(user: User) -> int:
    """Student reports still `new` on the user's campuses (the number beside Tickets in the navigation)."""
    stmt = sa.select(sa.func.count(Ticket.id)).where(
        Ticket.status == TicketStatus.new, Ticket.source == TicketSource.student_report
    )
    ids = user.campus_ids
    if ids is not None:
        stmt = stmt.join(Ticket.asset).where(Asset.campus_id.in_(ids))
    return db.session.scalar(stmt) or 0


def find_by_number(text: str) -> Ticket | None:
    """The ticket with this number (T-000123), regardless of campus; callers check scope."""
    ticket_id = parse_number(text)
    return db.session.get(Ticket, ticket_id) if ticket_id is not None else None


def find_by_status_token(raw: str) -> Ticket | None:
    """The ticket a private status link names; None for anything else."""
    if not raw or len(raw) > 100:
        return None
    return db.session.scalar(sa.select(Ticket).where(Ticket.status_token_hash == hash_status_token(raw)))


def tickets_for_asset(asset: Asset, limit: int = 20) -> list[Ticket]:
    return list(
        db.session.scalars(
            sa.select(Ticket).where(Ticket.asset_id == asset.id).order_by(Ticket.created_at.desc()).limit(limit)
        )
    )


# Offline: a damage report recorded on a staff phone without signal arrives through POST /api/v1/sync.


def _sync_report_limits() -> list[RateLimitItem]:
    return parse_many(current_app.config.get("REPORT_SYNC_LIMIT", DEFAULT_SYNC_REPORT_LIMIT))


def _span(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def _check_sync_report_limit(user: User) -> None:
    """Rejected once the user has filed as many student reports through sync as a limit allows in its window.

    Counted from the tickets themselves, so the limit holds across workers and servers with no shared store.
    """
    now = utcnow()
    for item in _sync_report_limits():
        since = now - timedelta(seconds=item.get_expiry())
        filed = db.session.scalar(
            sa.select(sa.func.count(Ticket.id)).where(
                Ticket.opened_by_id == user.id,
                Ticket.source == TicketSource.student_report,
                Ticket.created_at >= since,
            )
        )
        if filed >= item.amount:
            raise sync.Rejected(
                f"You have filed {filed} damage reports in the last {_span(item)}, the most allowed; "
                "keep this one and send it again later."
            )


def apply_report_event(data: dict, ctx: sync.Context) -> dict:
    """`report.damage` (tag, category, description, optional reporter): a student report filed through sync.

    Any staff role that handles devices ("tickets.work": aides, librarians, techs, admins) may file one, for a
    device on their own campuses; a device elsewhere is answered exactly as a tag that does not exist.
    """
    tag = sync.text(data, "tag", max_len=300)
    asset = find_asset(tag)
    if asset is None or not ctx.user.can_see_campus(asset.campus_id):
        raise sync.Rejected(f"No device has the tag {tag!r}.")
    category = sync.choice(data, "category", TicketCategory)
    if category is None:
        raise sync.Rejected("The event has no category.")
    description = sync.text(data, "description", max_len=MAX_DESCRIPTION)
    raw = data.get("reporter")
    if isinstance(raw, dict):
        reporter = Reporter(
            name=sync.text(raw, "name", required=False, max_len=160) or "",
            student_id=sync.text(raw, "student_id", required=False, max_len=64) or "",
            email=sync.text(raw, "email", required=False, max_len=254) or "",
        )
    elif isinstance(raw, str) or raw is None:
        reporter = Reporter(name=(raw or "").strip()[:160])
    else:
        raise sync.Rejected("The reporter must be a name or an object with name, student_id and email.")
    _check_sync_report_limit(ctx.user)
    try:
        ticket, _token = file_student_report(
            asset, category=category, description=description, reporter=reporter, via=ctx.via, filed_by=ctx.user
        )
    except Invalid as exc:
        raise sync.Rejected(exc.message) from exc
    return {"ticket": ticket.number}


# Reports the public page refused for a rate limit: counted per device and hour, shown in the ticket queue.


def note_refused_report(asset: Asset) -> None:
    """Count one refused report for the device in the current hour (one upsert; no activity entry: nothing changed)."""
    now = utcnow()
    table = ReportRefusal.__table__
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(
        asset_id=asset.id, hour=now.replace(minute=0, second=0, microsecond=0), count=1, last_at=now
    )
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.asset_id, table.c.hour],
            set_={"count": table.c.count + 1, "last_at": insert.excluded.last_at},
        )
    )


@dataclass(frozen=True)
class RefusedReports:
    asset: Asset
    count: int


def refused_reports(user: User, *, limit: int = 10) -> list[RefusedReports]:
    """Devices on the user's campuses with reports refused by a rate limit in the last 24 hours, most first."""
    # Counted by the hour, so "24 hours" reaches back to the start of the hour 24 hours ago.
    since = (utcnow() - REFUSALS_WINDOW).replace(minute=0, second=0, microsecond=0)
    counts = (
        sa.select(ReportRefusal.asset_id, sa.func.sum(ReportRefusal.count).label("total"))
        .where(ReportRefusal.hour >= since)
        .group_by(ReportRefusal.asset_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Asset, counts.c.total)
        .join(counts, counts.c.asset_id == Asset.id)
        .where(visible_to(user, Asset.campus_id))
        .order_by(counts.c.total.desc(), Asset.asset_tag)
        .limit(limit)
    ).all()
    return [RefusedReports(asset, int(total)) for asset, total in rows]
