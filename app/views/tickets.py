"""The repair queue for techs, a ticket's page (its next steps, one timeline, assignee, comments), and opening
tickets."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, g, make_response, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Ticket, TicketCategory, TicketPhoto, TicketStatus, User, Via
from app.services import ticket_queue
from app.services import tickets as ticket_service
from app.services.errors import Invalid
from app.services.photos import MAX_BYTES, PhotoTooLarge, clean_photo
from app.services.repairs import workflow as repair_workflow
from app.services.tickets_timeline import ticket_timeline
from app.web import can, change_words, committing, is_htmx, permission_required, render, see_other
from app.web.args import choice, form_choice, id_arg, page_arg, whole
from app.web.loaders import get_asset_or_404, visible_campuses

bp = Blueprint("tickets", __name__, url_prefix="/tickets")
# Timelines (a device's, a person's) say logged values in words; registered for every page that includes one.
bp.add_app_template_global(change_words.phrase, "change_phrase")
bp.add_app_template_global(change_words.key_words, "change_key")
bp.add_app_template_global(change_words.value_words, "change_value")

PER_PAGE = 50


@bp.app_context_processor
def inject_ticket_counts():
    def new_report_count() -> int:
        """Student reports still `new` on the user's campuses; one COUNT per request at most."""
        if not current_user.is_authenticated:
            return 0
        if "new_report_count" not in g:
            g.new_report_count = ticket_service.new_report_count(current_user)
        return g.new_report_count

    return {"new_report_count": new_report_count}


def get_ticket_or_404(number: str) -> Ticket:
    """The ticket with this number on one of the user's campuses; 404 otherwise (no hint that it exists)."""
    ticket = ticket_service.find_by_number(number)
    if ticket is None or not current_user.can_see_campus(ticket.asset.campus_id):
        abort(404)
    return ticket


def _filters_from_args() -> ticket_queue.QueueFilters:
    args = request.args
    status = args.get("status", "open")
    sort = args.get("sort", "newest")
    assignee = args.get("assignee", "")
    return ticket_queue.QueueFilters(
        campus_id=id_arg("campus"),
        category=choice(args.get("category"), TicketCategory),
        status=choice(status, TicketStatus),
        all_statuses=status == "all",
        sort=sort if sort in ticket_queue.SORTS else "newest",
        q=args.get("q", "")[: ticket_queue.MAX_QUERY],
        assignee=assignee if assignee in ticket_queue.ASSIGNEE_CHOICES else "",
        swaps=args.get("swaps") == "1",
    )


@bp.get("")
@permission_required("tickets.read")
def index():
    f = _filters_from_args()
    if f.campus_id and not current_user.can_see_campus(f.campus_id):
        abort(404)
    page = ticket_queue.queue_page(current_user, f, page_arg(), PER_PAGE)
    return render(
        "tickets/index.html",
        "tickets/_results.html",
        page=page,
        f=f,
        # Names of students only for those who may read people; the query itself searches them only then too.
        show_people=ticket_queue.sees_people(current_user),
        swaps_waiting=ticket_queue.swaps_waiting(current_user),
        status_arg=request.args.get("status", "open"),
        campuses=visible_campuses(),
        categories=list(TicketCategory),
        statuses=list(TicketStatus),
        args={k: v for k, v in request.args.items() if k != "page" and v},
        refused=ticket_service.refused_reports(current_user),
    )


def _work_ctx(ticket: Ticket, errors: dict | None = None, values: dict | None = None) -> dict:
    return {
        "ticket": ticket,
        # One timeline of the ticket's history and its repair steps, names only for those who may see people.
        "timeline": ticket_timeline(ticket, show_people=can("people.read")),
        "assignees": ticket_service.assignable_users(ticket) if can("repairs.work") else [],
        "show_reporter": ticket_service.sees_reporter(current_user),
        "errors": errors or {},
        "values": values or {},
    }


def _work_response(ticket: Ticket, errors: dict | None = None, status: int = 200, values: dict | None = None):
    """After an action: the ticket's work area (#ticket-work) for htmx, the whole page for a plain form (303 when it
    succeeded)."""
    if not is_htmx() and status == 200:
        return redirect(url_for("tickets.detail", number=ticket.number), 303)
    return render("tickets/detail.html", "tickets/_work.html", status=status, **_work_ctx(ticket, errors, values))


@bp.get("/<number>")
@permission_required("tickets.read")
def detail(number: str):
    ticket = get_ticket_or_404(number)
    return render("tickets/detail.html", "tickets/_work.html", **_work_ctx(ticket))


@bp.post("/<number>/status")
@permission_required("repairs.work")
def change_status(number: str):
    ticket = get_ticket_or_404(number)
    with committing() as outcome:
        status = form_choice("status", TicketStatus, "Choose a status from the list.")
        # Through the repair workflow, so the device goes in repair and comes back with the ticket's status.
        repair_workflow.apply_status(ticket, status, by=current_user, via=Via.web)
    if outcome.refused:
        return _work_response(ticket, {"status": outcome.message}, 422)
    return _work_response(ticket)


@bp.post("/<number>/assign")
@permission_required("repairs.work")
def assign(number: str):
    ticket = get_ticket_or_404(number)
    raw = request.form.get("assignee", "")
    user_id = whole(raw)
    assignee = db.session.get(User, user_id) if user_id else None
    if raw and assignee is None:
        return _work_response(ticket, {"assignee": "Choose someone from the list."}, 422)
    with committing() as outcome:
        ticket_service.assign(ticket, assignee, by=current_user, via=Via.web)
    if outcome.refused:
        return _work_response(ticket, {"assignee": outcome.message}, 422)
    return _work_response(ticket)


@bp.post("/<number>/comments")
@permission_required("tickets.work")
def add_comment(number: str):
    ticket = get_ticket_or_404(number)
    body = request.form.get("body", "")
    with committing() as outcome:
        ticket_service.comment(ticket, body, by=current_user, via=Via.web)
    if outcome.refused:
        return _work_response(ticket, {"body": outcome.message}, 422, {"body": body})
    return _work_response(ticket)


@bp.get("/<number>/photos/<int:photo_id>.jpg")
@permission_required("tickets.read")
def photo(number: str, photo_id: int):
    ticket = get_ticket_or_404(number)
    row = db.session.scalar(
        sa.select(TicketPhoto).where(TicketPhoto.id == photo_id, TicketPhoto.ticket_id == ticket.id)
    )
    if row is None:
        abort(404)
    resp = make_response(row.content)
    resp.headers["Content-Type"] = "image/jpeg"
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Disposition"] = "inline"
    return resp


@bp.route("/new", methods=["GET", "POST"])
@permission_required("tickets.work")
def new():
    asset = get_asset_or_404(request.values.get("asset", ""))
    ctx = {"asset": asset, "categories": list(TicketCategory), "errors": {}, "values": {}}
    if request.method == "GET":
        return render("tickets/new.html", **ctx)
    values = {"category": request.form.get("category", ""), "description": request.form.get("description", "")}
    errors: dict[str, str] = {}
    category = choice(values["category"], TicketCategory)
    if category is None:
        errors["category"] = "Choose a category."
    photos = []
    upload = request.files.get("photo")
    status = 422
    if upload is not None and upload.filename:
        try:
            photos.append(clean_photo(upload.stream.read(MAX_BYTES + 1)))
        except PhotoTooLarge as exc:
            errors["photo"], status = exc.message, 413
        except Invalid as exc:
            errors["photo"] = exc.message
    if not errors:
        with committing() as outcome:
            ticket = ticket_service.open_ticket(
                asset,
                category=category,
                description=values["description"],
                by=current_user,
                via=Via.web,
                photos=photos,
            )
        if not outcome.refused:
            return see_other(url_for("tickets.detail", number=ticket.number))
        errors[outcome.refused.field or "description"] = outcome.message
    return render("tickets/new.html", status=status, **{**ctx, "errors": errors, "values": values})
