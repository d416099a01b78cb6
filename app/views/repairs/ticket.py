"""The repair panel on a ticket's page and its one-tap actions: triage, take in, parts, labour, warranty claim,
loaner swap, resolve, reverse, close, reopen and fees."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Condition, Fee, Part, Priority, Ticket, TicketCategory, TicketStatus, Via
from app.services import fees as fee_service
from app.services import warranty
from app.services.assets import find_asset
from app.services.people import find_person
from app.services.repairs import costs, next_steps, parts, record, swaps, workflow
from app.views.repairs.blueprint import bp
from app.views.repairs.common import Posted
from app.views.tickets import _work_ctx, get_ticket_or_404
from app.web import Outcome, can, committing, is_htmx, permission_required, render
from app.web.args import choice


@bp.app_context_processor
def inject_repair_state():
    def repair_state(ticket: Ticket) -> dict:
        """What the ticket page's repair panel shows; computed only when the panel is drawn."""
        claims = warranty.claims_of(ticket)
        is_tech = can("repairs.work")
        swap = swaps.open_swap(ticket)
        open_claim = next((c for c in claims if c.status.is_open), None)
        coverage = warranty.coverage(ticket.asset, accidental=warranty.is_accidental(ticket))
        holder = record.holder_of(ticket.asset)
        policy = fee_service.policy()
        return {
            "repair": record.repair_of(ticket, create=False),
            "cost": costs.ticket_cost(ticket),
            "parts_used": costs.parts_used(ticket),
            "labour": costs.labour_of(ticket),
            "swap": swap,
            "swaps": swaps.swaps_of(ticket),
            "claims": claims,
            "open_claim": open_claim,
            "coverage": coverage,
            "accidental_guess": warranty.is_accidental(ticket),
            "holder": holder,
            "plan": next_steps.plan_for(
                ticket,
                has_holder=holder is not None,
                swap_open=swap is not None,
                claim_open=open_claim is not None,
                has_claims=bool(claims),
                covered=coverage.covered,
            ),
            "parts": parts.parts_for(ticket) if is_tech else [],
            "loaners": swaps.available_loaners(ticket.asset.campus_id, exclude=ticket.asset_id) if is_tech else [],
            "fees": list(db.session.scalars(sa.select(Fee).where(Fee.ticket_id == ticket.id).order_by(Fee.id))),
            "policy": policy,
            "fee_suggestion": next_steps.suggested_fee(ticket, policy),
            "priorities": list(Priority),
            "categories": list(TicketCategory),
            "conditions": list(Condition),
        }

    return {"repair_state": repair_state}


def _ticket_page(ticket: Ticket, errors: dict | None = None, status: int = 200, values: dict | None = None):
    """After a repair action: 303 back to the ticket for plain forms; the ticket's work area (#ticket-work: summary,
    next steps, timeline) for htmx; the whole page for a refused plain form."""
    if not is_htmx() and status == 200:
        return redirect(url_for("tickets.detail", number=ticket.number), 303)
    return render(
        "tickets/detail.html",
        "tickets/_work.html",
        status=status,
        repair_errors=errors or {},
        repair_values=values or {},
        **_work_ctx(ticket),
    )


def _refused(ticket: Ticket, errors: dict[str, str]):
    """The ticket page again with a 422: each message on its field, what was typed kept."""
    return _ticket_page(ticket, errors, 422, dict(request.form))


def _after(ticket: Ticket, outcome: Outcome, *, field: str):
    """The ticket page after a committed action, or after a refusal, shown on the field it names (else `field`)."""
    if outcome.refused is not None:
        db.session.refresh(ticket)
        return _refused(ticket, {outcome.refused.field or field: outcome.message})
    return _ticket_page(ticket)


def _workflow_step(number: str, step: Callable[..., object]):
    """A one-tap step of the workflow (resolve, close, reopen) on the ticket; its refusals concern the status."""
    ticket = get_ticket_or_404(number)
    with committing() as outcome:
        step(ticket, by=current_user, via=Via.web)
    return _after(ticket, outcome, field="status")


@bp.post("/tickets/<number>/triage")
@permission_required("repairs.work")
def triage(number: str):
    ticket = get_ticket_or_404(number)
    posted = Posted()
    category = posted.choice("category", TicketCategory, "Choose a category.")
    priority = posted.choice("priority", Priority, "Choose a priority.", default=Priority.normal)
    who = request.form.get("responsible", "").strip()
    responsible = find_person(who) if who else None
    if who and (responsible is None or not responsible.seen_by(current_user)):
        posted.refuse("responsible", f"No one on your campuses has the ID {who!r}.")
    if category is None or priority is None or posted.errors:
        return _refused(ticket, posted.errors)
    with committing() as outcome:
        workflow.triage(
            ticket,
            category=category,
            priority=priority,
            responsible=responsible,
            accidental=request.form.get("accidental") in ("1", "on", "true", "yes"),
            by=current_user,
            via=Via.web,
        )
    return _after(ticket, outcome, field="category")


@bp.post("/tickets/<number>/take-in")
@permission_required("repairs.work")
def take_in(number: str):
    ticket = get_ticket_or_404(number)
    posted = Posted()
    status = posted.choice(
        "status",
        TicketStatus,
        "Choose in repair or waiting for parts.",
        among=(TicketStatus.in_repair, TicketStatus.waiting_parts),
        default=TicketStatus.in_repair,
    )
    if status is None:
        return _ticket_page(ticket, {"take_in": posted.errors["status"]}, 422)
    with committing() as outcome:
        workflow.take_in(ticket, by=current_user, via=Via.web, status=status)
    return _after(ticket, outcome, field="take_in")


@bp.post("/tickets/<number>/parts")
@permission_required("repairs.work")
def use_parts(number: str):
    ticket = get_ticket_or_404(number)
    posted = Posted()
    part = posted.record("part", Part, "Choose a part from the list.")
    quantity = posted.number("quantity", "Enter a whole number.", 1)
    if part is None or quantity is None:
        return _refused(ticket, posted.errors)
    with committing() as outcome:
        parts.use_parts(ticket, part, quantity, by=current_user, via=Via.web)
    return _after(ticket, outcome, field="quantity")


@bp.post("/tickets/<number>/labour")
@permission_required("repairs.work")
def labour(number: str):
    ticket = get_ticket_or_404(number)
    posted = Posted()
    minutes = posted.number("minutes", "Enter the minutes spent.")
    if minutes is None:
        return _refused(ticket, posted.errors)
    with committing() as outcome:
        costs.log_labour(ticket, minutes, by=current_user, via=Via.web, note=request.form.get("note", ""))
    return _after(ticket, outcome, field="minutes")


@bp.post("/tickets/<number>/claim")
@permission_required("repairs.work")
def open_claim(number: str):
    ticket = get_ticket_or_404(number)
    with committing() as outcome:
        warranty.open_claim(
            ticket,
            by=current_user,
            via=Via.web,
            vendor=request.form.get("vendor", ""),
            note=request.form.get("note", ""),
            rma=request.form.get("rma", ""),
        )
    return _after(ticket, outcome, field="claim")


@bp.post("/tickets/<number>/swap")
@permission_required("repairs.work")
def swap(number: str):
    ticket = get_ticket_or_404(number)
    code = request.form.get("loaner", "").strip()
    loaner = find_asset(code) if code else None
    if code and (loaner is None or not current_user.can_see_campus(loaner.campus_id)):
        return _refused(ticket, {"loaner": f"No device on your campuses matches {code!r}."})
    with committing() as outcome:
        swaps.swap_in_loaner(ticket, by=current_user, via=Via.web, loaner=loaner)
    return _after(ticket, outcome, field="loaner")


@bp.post("/tickets/<number>/resolve")
@permission_required("repairs.work")
def resolve(number: str):
    return _workflow_step(number, workflow.resolve)


@bp.post("/tickets/<number>/reverse")
@permission_required("repairs.work")
def reverse_from_ticket(number: str):
    ticket = get_ticket_or_404(number)
    row = swaps.latest_swap(ticket)
    if row is None:
        return _ticket_page(ticket, {"swap": "No loaner was swapped in for this ticket."}, 422)
    condition = choice(request.form.get("condition"), Condition)
    with committing() as outcome:
        swaps.reverse_swap(row, by=current_user, via=Via.web, loaner_condition=condition)
    return _after(ticket, outcome, field="swap")


@bp.post("/tickets/<number>/close")
@permission_required("repairs.work")
def close(number: str):
    return _workflow_step(number, workflow.close)


@bp.post("/tickets/<number>/reopen")
@permission_required("repairs.work")
def reopen(number: str):
    return _workflow_step(number, workflow.reopen)


@bp.post("/tickets/<number>/fees")
@permission_required("repairs.work")
def charge(number: str):
    ticket = get_ticket_or_404(number)
    who = request.form.get("person", "").strip()
    person = find_person(who) if who else None
    if person is None:
        repair = record.repair_of(ticket, create=False)
        person = repair.responsible if repair and not who else None
    if person is None or not person.seen_by(current_user):
        message = "Enter the student's ID." if not who else f"No one on your campuses has the ID {who!r}."
        return _refused(ticket, {"person": message})
    reason = request.form.get("reason", "")
    # Left blank, the amount is the schedule's usual one for the reason (the form fills it in as the reason changes).
    usual = dict(fee_service.policy()).get(reason.strip())
    amount = request.form.get("amount", "").strip() or (str(usual) if usual is not None else "")
    with committing() as outcome:
        fee_service.charge(
            person,
            amount=amount,
            reason=reason,
            ticket=ticket,
            by=current_user,
            via=Via.web,
        )
    return _after(ticket, outcome, field="amount")
