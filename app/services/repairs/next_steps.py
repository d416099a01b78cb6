"""What a tech is likely to do next on a ticket, by its state: one or two steps first, the rest after.

A new ticket is triaged; a triaged one taken in (or its student given a loaner); one in repair resolved; one on a
warranty claim follows the claim; a resolved one has its swap reversed, then is closed. Triage comes before
resolve wherever both are offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from app.models import AssetStatus, Ticket, TicketCategory, TicketStatus

# Words a fee schedule's reasons use for each kind of damage, to suggest the reason (and its usual amount).
FEE_WORDS = {
    TicketCategory.cracked_screen: ("screen",),
    TicketCategory.liquid: ("liquid", "spill"),
    TicketCategory.keyboard_trackpad: ("keyboard", "trackpad", "key"),
    TicketCategory.missing_keys: ("keyboard", "key"),
    TicketCategory.wont_charge: ("charger", "charg"),
}


@dataclass
class Plan:
    """The actions to offer, by name: `first` shown prominently at the top, `rest` after them."""

    first: list[str] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return self.first + self.rest


def plan_for(
    ticket: Ticket,
    *,
    has_holder: bool,
    swap_open: bool,
    claim_open: bool,
    has_claims: bool,
    covered: bool,
) -> Plan:
    """The ticket's actions in the order a tech meets them.

    Names: triage, take_in, waiting_parts, back_in_repair, swap, claim (open one), claim_card (the claim there is),
    parts, resolve, reverse, close, reopen, assign, fee.
    """
    status = ticket.status
    plan = Plan()
    if not status.is_open:
        if swap_open:
            plan.first, plan.rest = ["reverse"], ["reopen"]
        elif status is TicketStatus.resolved:
            plan.first, plan.rest = ["close"], ["reopen"]
        else:
            plan.first = ["reopen"]
        plan.rest += (["claim_card"] if has_claims else []) + ["fee", "assign"]
        return plan

    held = ticket.asset.status is AssetStatus.in_repair
    offers = {
        "triage": True,
        "take_in": not held,
        "waiting_parts": held and status is TicketStatus.in_repair,
        "back_in_repair": held and status is TicketStatus.waiting_parts,
        "swap": has_holder and not swap_open,
        "claim": not claim_open,
        "claim_card": has_claims,
        "parts": True,
        # An open claim keeps the ticket from being resolved: the claim comes back first.
        "resolve": not claim_open,
        "assign": True,
        "fee": True,
    }
    if claim_open:
        first = ["claim_card"]
    elif status is TicketStatus.new:
        first = ["triage"]
    elif status is TicketStatus.triaged:
        first = ["take_in", "swap"] if offers["swap"] else ["take_in", "claim" if covered else "parts"]
    elif status is TicketStatus.waiting_parts:
        first = ["back_in_repair", "resolve"]
    else:  # in repair, or a claim that ended (denied or back): finish the work
        first = ["resolve", "claim" if covered and not has_claims else "parts"]
    plan.first = [a for a in first if offers.get(a)]
    order = (
        "triage",
        "take_in",
        "swap",
        "back_in_repair",
        "waiting_parts",
        "claim",
        "parts",
        "resolve",
        "claim_card",
        "fee",
        "assign",
    )
    plan.rest = [a for a in order if offers[a] and a not in plan.first]
    return plan


def suggested_fee(ticket: Ticket, schedule: list[tuple[str, Decimal]]) -> tuple[str, Decimal] | None:
    """The schedule's reason (and usual amount) that fits the ticket's kind of damage, else its first reason."""
    if not schedule:
        return None
    words = FEE_WORDS.get(ticket.category, ())
    for reason, amount in schedule:
        if any(w in reason.lower() for w in words):
            return reason, amount
    return schedule[0]
