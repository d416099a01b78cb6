"""A ticket's one timeline: its history (opened, status, assignee, comments) and its repair steps (triage, take in,
swaps, parts, labour, claims, shipping, fees) merged, oldest first, each in words people read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.extensions import db
from app.models import (
    Activity,
    AssetStatus,
    Fee,
    LoanerSwap,
    Part,
    Priority,
    Ticket,
    TicketCategory,
    TicketEventKind,
    TicketStatus,
    User,
    WarrantyClaim,
)

# A status change recorded this close to a repair step by the same person is that step's effect: one line, not two.
SAME_STEP = timedelta(seconds=2)
# Loans of the ticket's device while the ticket is open belong on it too (a check-in that found the damage).
LOAN_ACTIONS = ("loan.checkout", "loan.checkin")
MOST = 300


@dataclass
class Entry:
    """One line of the timeline: when, who, what happened in words, a note (a comment's text), the status it left."""

    at: datetime
    user: User | None
    kind: str
    text: str
    note: str = ""
    status: TicketStatus | None = None
    # Entries that are the ticket's own status changes, kept apart until they are folded into a step.
    status_only: bool = False


def _enum_label(enum_cls: type, value: Any) -> str:
    try:
        return str(enum_cls(value).label)
    except (ValueError, TypeError):
        return str(value).replace("_", " ") if value is not None else ""


def _status_label(value: Any) -> str:
    return _enum_label(TicketStatus, value)


def _device_status(value: Any) -> str:
    return _enum_label(AssetStatus, value)


def _yes(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


class Words:
    """Puts repair steps into words; a reader who may not see people reads "the student" for a name."""

    def __init__(self, *, show_people: bool, parts: dict[str, str], claims: dict[int, WarrantyClaim]) -> None:
        self.show_people = show_people
        self.parts = parts
        self.claims = claims
        # A triage entry names only what it changed; the category it left is worked out from the ones after it.
        self.triage_categories: dict[int, str] = {}

    def person(self, name: Any) -> str:
        if not name:
            return _("no one")
        return str(name) if self.show_people else _("the student")

    def step(self, a: Activity) -> tuple[str, str]:
        """The kind (for styling) and the words of an activity entry; its summary when the action is not known."""
        after, before = a.after or {}, a.before or {}
        method = getattr(self, "_" + a.action.replace(".", "_"), None)
        text = method(after, before, a) if method is not None else None
        kind = a.action.split(".", 1)[0]
        if text is None:
            # An action this page does not know yet: its summary, names kept from readers who may not see people.
            text = a.summary if self.show_people or a.person_id is None else _("A change involving the student")
        return kind, text

    def _ticket_triage(self, after: dict, before: dict, a: Activity) -> str:
        parts = []
        category = after.get("category", self.triage_categories.get(a.id))
        if category:
            parts.append(_enum_label(TicketCategory, category))
        if "priority" in after:
            parts.append(_("%(priority)s priority", priority=_enum_label(Priority, after["priority"])))
        if "responsible" in after:
            parts.append(
                _("%(name)s responsible", name=self.person(after["responsible"]))
                if after["responsible"]
                else _("no one responsible")
            )
        if "accidental" in after:
            parts.append(_("looks accidental") if _yes(after["accidental"]) else _("not accidental"))
        return _("Triaged: %(what)s", what=", ".join(parts)) if parts else _("Triaged; nothing changed")

    def _repair_take_in(self, after: dict, before: dict, a: Activity) -> str:
        if before.get("status"):
            return _("Taken in for repair (it was %(status)s)", status=_device_status(before["status"]))
        return _("Taken in for repair")

    def _repair_resolve(self, after: dict, before: dict, a: Activity) -> str:
        if _yes(after.get("swap_waiting")):
            return _("Resolved as repaired; waiting for the swap to be reversed")
        if after.get("status"):
            return _("Resolved as repaired; the device is %(status)s again", status=_device_status(after["status"]))
        return _("Resolved as repaired")

    def _repair_labour(self, after: dict, before: dict, a: Activity) -> str:
        return _("%(minutes)s minutes of work logged (%(cost)s)", minutes=after.get("minutes"), cost=after.get("cost"))

    def _repair_parts(self, after: dict, before: dict, a: Activity) -> str:
        number = str(after.get("part") or "")
        return _(
            "Used %(quantity)s × %(part)s (%(cost)s)",
            quantity=after.get("quantity"),
            part=self.parts.get(number, number),
            cost=after.get("cost"),
        )

    def _repair_swap(self, after: dict, before: dict, a: Activity) -> str:
        return _(
            "Loaner %(loaner)s lent to %(name)s while this device is repaired",
            loaner=after.get("loaner") or "—",
            name=self.person(self._swap_person(a)),
        )

    def _repair_swap_reverse(self, after: dict, before: dict, a: Activity) -> str:
        name = self.person(self._swap_person(a))
        if before.get("loaner"):
            return _(
                "Swap reversed: %(name)s has this device back; loaner %(loaner)s returned",
                name=name,
                loaner=before["loaner"],
            )
        return _("Swap reversed: %(name)s has this device back", name=name)

    def _swap_person(self, a: Activity) -> str | None:
        swap = db.session.get(LoanerSwap, a.subject_id) if a.subject_type == "loaner_swaps" else None
        return swap.person.name if swap is not None else None

    def _claim(self, a: Activity) -> WarrantyClaim | None:
        return self.claims.get(a.subject_id or 0) if a.subject_type == "warranty_claims" else None

    def _claim_open(self, after: dict, before: dict, a: Activity) -> str:
        return _("Warranty claim opened with %(vendor)s", vendor=after.get("vendor") or "—")

    def _claim_approve(self, after: dict, before: dict, a: Activity) -> str:
        if after.get("rma"):
            return _("Warranty claim approved, RMA %(rma)s", rma=after["rma"])
        return _("Warranty claim approved")

    def _claim_deny(self, after: dict, before: dict, a: Activity) -> str:
        return _("Warranty claim denied: %(reason)s", reason=after.get("reason") or "—")

    def _claim_repaired(self, after: dict, before: dict, a: Activity) -> str:
        return _("The vendor says it is repaired")

    def _claim_ship(self, after: dict, before: dict, a: Activity) -> str:
        claim = self._claim(a)
        batch = claim.batch if claim is not None else None
        vendor = claim.vendor if claim is not None else _("the vendor")
        label = after.get("batch") or (batch.label if batch is not None else "")
        text = (
            _("Shipped to %(vendor)s in %(batch)s", vendor=vendor, batch=label)
            if label
            else _("Shipped to %(vendor)s", vendor=vendor)
        )
        return text + self._shipping(after, batch)

    def _shipping(self, after: dict, batch: Any) -> str:
        """ " by UPS; tracking 1Z…", from the entry, else from the box as it is now."""
        carrier = after.get("carrier") or (getattr(batch, "carrier", "") if batch is not None else "")
        tracking = after.get("tracking") or (getattr(batch, "tracking", "") if batch is not None else "")
        words = _(" by %(carrier)s", carrier=carrier) if carrier else ""
        return words + (_("; tracking %(tracking)s", tracking=tracking) if tracking else "")

    def _claim_receive(self, after: dict, before: dict, a: Activity) -> str:
        claim = self._claim(a)
        vendor = claim.vendor if claim is not None else _("the vendor")
        if claim is not None and claim.rma:
            return _("Back from %(vendor)s (RMA %(rma)s)", vendor=vendor, rma=claim.rma)
        return _("Back from %(vendor)s", vendor=vendor)

    def _batch_add(self, after: dict, before: dict, a: Activity) -> str:
        return _("Packed for the vendor")

    def _batch_remove(self, after: dict, before: dict, a: Activity) -> str:
        return _("Taken out of the box for the vendor")

    def _batch_ship(self, after: dict, before: dict, a: Activity) -> str:
        return _("The box it is in was shipped") + self._shipping(after, None)

    def _fee_create(self, after: dict, before: dict, a: Activity) -> str:
        return _("Fee of %(amount)s for %(reason)s", amount=after.get("amount"), reason=after.get("reason") or "—")

    def _fee_paid(self, after: dict, before: dict, a: Activity) -> str:
        return _("Fee paid")

    def _fee_waived(self, after: dict, before: dict, a: Activity) -> str:
        return _("Fee waived")

    def _loan_checkout(self, after: dict, before: dict, a: Activity) -> str:
        return _("Lent to %(name)s", name=self.person(str(after.get("person") or "").split(" (")[0] or None))

    def _loan_checkin(self, after: dict, before: dict, a: Activity) -> str:
        return _("Returned to the desk")


def _event_entry(event: Any, ticket: Ticket) -> Entry:
    if event.kind is TicketEventKind.opened:
        text = _("Opened from a student report") if ticket.source.value == "student_report" else _("Opened")
        return Entry(event.at, event.user, "opened", text, status=TicketStatus.new)
    if event.kind is TicketEventKind.assigned:
        text = _("Assigned to %(name)s", name=event.to_value) if event.to_value else _("No longer assigned")
        return Entry(event.at, event.user, "assigned", text)
    text = _(
        "Status changed from %(before)s to %(after)s",
        before=_status_label(event.from_value),
        after=_status_label(event.to_value),
    )
    return Entry(event.at, event.user, "status", text, status=_status(event.to_value), status_only=True)


def _status(value: Any) -> TicketStatus | None:
    try:
        return TicketStatus(value)
    except ValueError:
        return None


def repair_activity(ticket: Ticket, claims: list[WarrantyClaim]) -> list[Activity]:
    """The activity entries that are this ticket's repair steps: on the ticket, its swaps, claims, fees and the
    boxes its claims shipped in, and loans of its device while the ticket was open; oldest first."""
    swap_ids = list(db.session.scalars(sa.select(LoanerSwap.id).where(LoanerSwap.ticket_id == ticket.id)))
    fee_ids = list(db.session.scalars(sa.select(Fee.id).where(Fee.ticket_id == ticket.id)))
    batch_ids = sorted({c.batch_id for c in claims if c.batch_id is not None})

    def about(table: str, ids: list[int]) -> sa.ColumnElement[bool]:
        return sa.and_(Activity.subject_type == table, Activity.subject_id.in_(ids))

    # The ticket's own entries (opened, status, assignee, comments) are told by its events and comments instead.
    own = sa.and_(
        about("tickets", [ticket.id]),
        Activity.action.not_in(("ticket.open", "ticket.report", "ticket.status", "ticket.assign", "ticket.comment")),
    )
    clauses = [own]
    if swap_ids:
        clauses.append(about("loaner_swaps", swap_ids))
    if claims:
        clauses.append(about("warranty_claims", [c.id for c in claims]))
    if fee_ids:
        clauses.append(about("fees", fee_ids))
    if batch_ids:
        # The box's shipping concerns every device in it; packing and unpacking only the device they name.
        clauses.append(
            sa.and_(
                about("shipping_batches", batch_ids),
                sa.or_(Activity.action == "batch.ship", Activity.asset_id == ticket.asset_id),
            )
        )
    window = [Activity.asset_id == ticket.asset_id, Activity.action.in_(LOAN_ACTIONS)]
    window.append(Activity.at >= ticket.created_at)
    if ticket.closed_at is not None:
        window.append(Activity.at <= ticket.closed_at)
    clauses.append(sa.and_(*window))
    return list(
        db.session.scalars(sa.select(Activity).where(sa.or_(*clauses)).order_by(Activity.at, Activity.id).limit(MOST))
    )


def _fold_status(entries: list[Entry]) -> list[Entry]:
    """Fold each status change into the repair step the same person took at the same moment (take in, resolve, a
    claim), so "Taken in for repair" carries "in repair" instead of a second line saying so."""
    steps = [e for e in entries if e.kind not in ("opened", "assigned", "status", "comment")]
    out: list[Entry] = []
    for entry in entries:
        if entry.status_only:
            near = [
                s
                for s in steps
                if s.status is None
                and (s.user.id if s.user else None) == (entry.user.id if entry.user else None)
                and abs(s.at - entry.at) <= SAME_STEP
            ]
            if near:
                min(near, key=lambda s: abs(s.at - entry.at)).status = entry.status
                continue
        out.append(entry)
    return out


def ticket_timeline(ticket: Ticket, *, show_people: bool) -> list[Entry]:
    """The ticket's timeline, oldest first, in words; `show_people` says whether the reader may see names."""
    claims = list(
        db.session.scalars(
            sa.select(WarrantyClaim).where(WarrantyClaim.ticket_id == ticket.id).order_by(WarrantyClaim.id)
        )
    )
    steps = repair_activity(ticket, claims)
    if any(a.action == "claim.ship" for a in steps):
        # Each device's own shipping entry says it better than the box's.
        steps = [a for a in steps if a.action != "batch.ship"]
    numbers = {str((a.after or {}).get("part")) for a in steps if a.action == "repair.parts"}
    parts = (
        dict(db.session.execute(sa.select(Part.part_number, Part.name).where(Part.part_number.in_(numbers))).all())
        if numbers
        else {}
    )
    words = Words(show_people=show_people, parts=parts, claims={c.id: c for c in claims})
    category = ticket.category.value
    for a in reversed([a for a in steps if a.action == "ticket.triage"]):
        words.triage_categories[a.id] = category
        category = (a.before or {}).get("category") or category
    entries = [_event_entry(e, ticket) for e in ticket.events]
    entries += [Entry(c.created_at, c.author, "comment", _("Comment"), note=c.body) for c in ticket.comments]
    for a in steps:
        kind, text = words.step(a)
        entries.append(Entry(a.at, a.user, kind, text))
    entries.sort(key=lambda e: e.at)
    return _fold_status(entries)
