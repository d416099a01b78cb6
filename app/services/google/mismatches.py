"""The mismatch list: devices whose most recent Google user (as the last sync or file left it) is not the person
they are assigned to, and what can be done about each — reassign it to that user, open a ticket, or mark it as
expected (a shared cart) until Google reports someone else."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Asset, AssetStatus, Person, Ticket, TicketCategory, User, Via, utcnow
from app.models.google_expected import GoogleExpectedUser
from app.services import activity, loans, tickets
from app.services.assets import assign, open_assignment, visible_to
from app.services.errors import Invalid
from app.services.people import visible_people

# Statuses whose most recent user is expected to differ from any assignee.
NO_MISMATCH_STATUSES = (AssetStatus.loaner, AssetStatus.retired)
REASON_MAX = 300
# How alike an email must be to another to be offered as "did you mean" (difflib's ratio).
CLOSE = 0.8


def _base(user: User) -> sa.Select:
    return (
        sa.select(Asset)
        .outerjoin(Person, Asset.assigned_to_id == Person.id)
        .outerjoin(
            GoogleExpectedUser,
            sa.and_(
                GoogleExpectedUser.asset_id == Asset.id, GoogleExpectedUser.recent_user == Asset.google_recent_user
            ),
        )
        .options(selectinload(Asset.assigned_to))
        .where(
            visible_to(user),
            Asset.google_recent_user.is_not(None),
            Asset.status.not_in(NO_MISMATCH_STATUSES),
            sa.or_(Person.id.is_(None), sa.func.lower(sa.func.coalesce(Person.email, "")) != Asset.google_recent_user),
        )
        .order_by(Asset.asset_tag)
    )


def mismatches(user: User, *, expected: bool = False) -> sa.Select:
    """Devices on the user's campuses whose most recent Google user is not the person they are assigned to; those
    marked as expected for that very user are left out, or (`expected=True`) are the only ones listed."""
    stmt = _base(user)
    if expected:
        return stmt.where(GoogleExpectedUser.asset_id.is_not(None))
    return stmt.where(GoogleExpectedUser.asset_id.is_(None))


def is_mismatch(asset: Asset) -> bool:
    """Whether the device belongs on the list (marked as expected or not)."""
    recent = asset.google_recent_user
    if not recent or asset.status in NO_MISMATCH_STATUSES:
        return False
    who = asset.assigned_to
    return who is None or (who.email or "").lower() != recent


def expected_mark(asset: Asset) -> GoogleExpectedUser | None:
    """The device's mark, while it is for the Google user the device reports now."""
    mark = db.session.get(GoogleExpectedUser, asset.id)
    return mark if mark is not None and mark.recent_user == asset.google_recent_user else None


@dataclass
class Row:
    """One device on the list and what its actions need: the person Google's user is in Rollcall (when exactly
    one on the user's campuses has that email), else a close email to suggest, and its mark as expected."""

    asset: Asset
    person: Person | None = None
    suggestion: str | None = None
    mark: GoogleExpectedUser | None = None


def _people_by_email(emails: Iterable[str], user: User) -> dict[str, list[Person]]:
    found: dict[str, list[Person]] = {}
    wanted = sorted(set(emails))
    if not wanted:
        return found
    stmt = (
        sa.select(Person)
        .where(sa.func.lower(Person.email).in_(wanted), visible_people(user), Person.active.is_(True))
        .order_by(Person.id)
    )
    for p in db.session.scalars(stmt):
        found.setdefault((p.email or "").lower(), []).append(p)
    return found


def _suggestions(emails: Iterable[str], user: User) -> dict[str, str]:
    """A close email of an active person on the user's campuses for each email no one has. Candidates share the
    domain and the first letter, so each lookup reads a handful of people, not the roster."""
    out: dict[str, str] = {}
    groups: dict[tuple[str, str], list[str]] = {}
    for email in set(emails):
        local, _, domain = email.rpartition("@")
        if local and domain:
            groups.setdefault((local[0], domain), []).append(email)
    for (first, domain), members in groups.items():
        # A `_` or `%` in the address only widens the candidates; difflib decides.
        like = f"{first}%@{domain}"
        candidates = list(
            db.session.scalars(
                sa.select(sa.func.lower(Person.email))
                .where(sa.func.lower(Person.email).like(like), visible_people(user), Person.active.is_(True))
                .distinct()
            )
        )
        for email in members:
            near = difflib.get_close_matches(email, candidates, n=1, cutoff=CLOSE)
            if near:
                out[email] = near[0]
    return out


def rows(assets: Sequence[Asset], user: User) -> list[Row]:
    """The list's rows for one page of devices, with a few queries for the whole page."""
    emails = {a.google_recent_user for a in assets if a.google_recent_user}
    people = _people_by_email(emails, user)
    near = _suggestions((e for e in emails if len(people.get(e, [])) != 1), user)
    marks = {
        m.asset_id: m
        for m in db.session.scalars(
            sa.select(GoogleExpectedUser).where(GoogleExpectedUser.asset_id.in_([a.id for a in assets]))
        )
    }
    out = []
    for a in assets:
        email = a.google_recent_user or ""
        match = people.get(email, [])
        mark = marks.get(a.id)
        out.append(
            Row(
                a,
                person=match[0] if len(match) == 1 else None,
                suggestion=near.get(email),
                mark=mark if mark is not None and mark.recent_user == a.google_recent_user else None,
            )
        )
    return out


def row(asset: Asset, user: User) -> Row:
    """One device's row, as the list shows it."""
    return rows([asset], user)[0]


def _listed(asset: Asset) -> str:
    if not is_mismatch(asset):
        raise Invalid(f"{asset.asset_tag} is no longer on the mismatch list: it is used by its assignee.")
    return asset.google_recent_user or ""


def reassign(asset: Asset, *, by: User, via: Via) -> Person:
    """Assign the device to the person its most recent Google user is, by the assignment service's rules (its
    current assignment ends as the new one begins; a device out on loan is checked in first)."""
    email = _listed(asset)
    match = _people_by_email([email], by).get(email, [])
    if not match:
        raise Invalid(f"No one on your campuses in Rollcall has the email {email}.", field="person")
    if len(match) > 1:
        raise Invalid(f"{len(match)} people in Rollcall have the email {email}; assign it from the device's page.")
    person = match[0]
    loan = loans.open_loan(asset)
    if loan is not None:
        raise Invalid(f"{asset.asset_tag} is on loan to {loan.person.name}; check it in first.", field="person")
    holding = open_assignment(asset)
    if holding is not None:
        # Ended here rather than returned: the device never came back, it changed hands. assign() logs the one
        # entry, with the previous assignee as its before.
        holding.returned_at = utcnow()
        holding.returned_by_id = by.id
        db.session.flush()
    assign(asset, person, by=by, via=via)
    return person


def ticket_description(asset: Asset) -> str:
    """The prefilled description of a ticket opened from the list."""
    who = asset.assigned_to
    assigned = f"{who.name} ({who.email})" if who is not None and who.email else (who.name if who else "no one")
    return f"Used by {asset.google_recent_user}, assigned to {assigned}."


def open_ticket(asset: Asset, *, category: TicketCategory, description: str, by: User, via: Via) -> Ticket:
    """Open a ticket about the device through the ticket service (which logs it)."""
    _listed(asset)
    return tickets.open_ticket(asset, category=category, description=description, by=by, via=via)


def mark_expected(asset: Asset, reason: str, *, by: User, via: Via) -> GoogleExpectedUser:
    """Leave the device off the list while Google's most recent user stays who it is now, saying why."""
    email = _listed(asset)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("Say why this device is used by someone else (a shared cart, say).", field="reason")
    if len(reason) > REASON_MAX:
        raise Invalid(f"Keep the reason under {REASON_MAX} characters.", field="reason")
    mark = db.session.get(GoogleExpectedUser, asset.id)
    if mark is None:
        mark = GoogleExpectedUser(asset_id=asset.id)
        db.session.add(mark)
    mark.recent_user, mark.reason, mark.marked_by_id, mark.marked_at = email, reason, by.id, utcnow()
    db.session.flush()
    activity.record(
        "google.mismatch.expected",
        f"Marked {asset.asset_tag} as expected to be used by {email}: {reason}",
        by=by,
        via=via,
        asset=asset,
        after={"recent_user": email, "reason": reason},
    )
    return mark


def unmark_expected(asset: Asset, *, by: User, via: Via) -> None:
    """Put a device marked as expected back on the list."""
    mark = expected_mark(asset)
    if mark is None:
        raise Invalid(f"{asset.asset_tag} is not marked as expected.")
    before = {"recent_user": mark.recent_user, "reason": mark.reason}
    db.session.delete(mark)
    db.session.flush()
    activity.record(
        "google.mismatch.unexpected",
        f"{asset.asset_tag} is back on the Google mismatch list (was expected for {before['recent_user']})",
        by=by,
        via=via,
        asset=asset,
        before=before,
    )
