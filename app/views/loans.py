"""The loaner desk (/loans): scan a student, scan a loaner; scan a loaner alone to take it back; lists and receipts."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

import sqlalchemy as sa
from flask import Blueprint, Response, abort, request
from flask_login import current_user

from app.extensions import db
from app.models import Asset, Campus, Condition, Loan, Person, Via, utcnow
from app.services import assets as asset_service
from app.services import desk, found
from app.services import loans as loan_service
from app.services.errors import Invalid
from app.services.people import find_person
from app.web import can, committing, note_record_view, permission_required, render
from app.web.args import choice, page_arg
from app.web.loaders import visible_campuses

bp = Blueprint("loans", __name__, url_prefix="/loans")

PER_PAGE = 50


def desk_campus() -> Campus:
    """The campus the desk works for: ?campus=CODE (or the form's), else the user's first; 404 outside them."""
    campuses = visible_campuses()
    if not campuses:
        abort(404, "You have no campus to run a desk for.")
    code = (request.values.get("campus") or "").strip().upper()
    if not code:
        return campuses[0]
    for campus in campuses:
        if campus.code == code:
            return campus
    abort(404)


def _visible_person(text: str) -> Person | None:
    person = find_person(text)
    if person is None or not person.seen_by(current_user):
        return None
    return person


def _due_from_form(campus: Campus) -> date | None:
    raw = request.form.get("due", "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("Enter the due date as a date.", field="due") from None


def desk_context(campus: Campus, **panel) -> dict:
    """What the desk page needs around its panel."""
    return {
        "campus": campus,
        "campuses": visible_campuses(),
        "default_due": loan_service.default_due_date(campus),
        "day_ends_at": campus.day_ends_at,
        "conditions": list(Condition),
        "page": db.paginate(
            loan_service.loans_query(current_user, open_only=True, campus_id=campus.id),
            page=1,
            per_page=PER_PAGE,
            error_out=False,
        ),
        "endpoint": "loans.out",
        "args": {"campus": campus.code},
        "title": "Out now",
        "now": utcnow(),
        "local": lambda moment: loan_service.local_time(campus, moment),
        **panel,
    }


def _panel(campus: Campus, status: int = 200, changed: bool = False, **panel) -> Response:
    resp = render("loans/index.html", "loans/_panel.html", status=status, **desk_context(campus, **panel))
    if changed:
        # The "out now" list and the sticky check-in fields listen for this.
        resp.headers["HX-Trigger"] = "loans-changed"
    return resp


@bp.get("")
@permission_required("desk")
def index():
    campus = desk_campus()
    return render("loans/index.html", **desk_context(campus, person=None, message=None, error=None))


@bp.post("/scan")
@permission_required("desk")
def scan():
    """One scan or typed entry, decided by the desk's rule table (the phone runs the same one offline)."""
    campus = desk_campus()
    if request.form.get("action") == "clear":
        return _panel(campus, person=None, message=None, error=None)
    picked = request.form.get("pick", "").strip()
    selected_id = request.form.get("person", "").strip()
    entry = desk.Scan(
        campus=campus,
        code=(picked or request.form.get("code", "")).strip()[:120],
        picked=bool(picked),
        selected=desk.desk_person(campus, selected_id) if selected_id else None,
    )
    outcome = desk.decide_scan(entry)
    return DESK_ACTIONS.get(outcome.kind, _refuse)(campus, entry, outcome)


def _refuse(campus: Campus, entry: desk.Scan, outcome: desk.Outcome) -> Response:
    return _panel(campus, 422, person=entry.selected, error=outcome.message)


def _pick(campus: Campus, entry: desk.Scan, outcome: desk.Outcome) -> Response:
    person = entry.person or entry.matches[0]
    with committing():
        note_record_view(person, "desk")
    switched = outcome.message if outcome.kind == "switch" else None
    return _panel(campus, person=person, summary=person_summary(person), switched=switched)


def _ask(campus: Campus, entry: desk.Scan, outcome: desk.Outcome) -> Response:
    return _panel(campus, person=entry.selected, matches=entry.matches, more=entry.more)


def _lend(campus: Campus, entry: desk.Scan, outcome: desk.Outcome) -> Response:
    assert entry.asset is not None and entry.selected is not None
    with committing() as done:
        loan = loan_service.check_out(
            entry.asset, entry.selected, by=current_user, due=_due_from_form(campus), via=Via.web
        )
    if done.refused:
        return _panel(campus, 422, person=entry.selected, error=done.message)
    return _panel(campus, changed=True, person=None, lent=loan)


def _return(campus: Campus, entry: desk.Scan, outcome: desk.Outcome) -> Response:
    assert entry.asset is not None
    with committing() as done:
        loan = loan_service.check_in(
            entry.asset,
            by=current_user,
            condition=choice(request.form.get("condition"), Condition, Condition.good),
            note=request.form.get("note", ""),
            via=Via.web,
        )
    if done.refused:
        return _panel(campus, 422, person=None, error=done.message)
    return _panel(campus, changed=True, person=None, returned=loan)


def _found(campus: Campus, entry: desk.Scan, outcome: desk.Outcome) -> Response:
    """A device reported missing, scanned at the desk: who found it (and where) goes on its history, loudly."""
    assert entry.asset is not None
    with committing():
        notice = found.notice_found(entry.asset, room=None, by=current_user, via=Via.web)
    return _panel(
        campus,
        person=entry.selected,
        found_alert=notice.message if notice is not None else outcome.message,
        may_mark_found=can("assets.edit"),
        found_asset=entry.asset,
    )


DESK_ACTIONS = {
    "pick": _pick,
    "switch": _pick,
    "ask": _ask,
    "lend": _lend,
    "return": _return,
    "found": _found,
}


def person_summary(person: Person) -> dict:
    """What the desk shows beside a picked person: their 1:1 device and loaners they still have."""
    open_loans = list(
        db.session.scalars(sa.select(Loan).where(Loan.person_id == person.id, Loan.returned_at.is_(None)))
    )
    devices = list(db.session.scalars(sa.select(Asset).where(Asset.assigned_to_id == person.id)))
    return {"open_loans": open_loans, "devices": devices}


@bp.get("/<int:loan_id>/receipt")
@permission_required("desk")
def receipt(loan_id: int):
    loan = db.get_or_404(Loan, loan_id)
    if not current_user.can_see_campus(loan.asset.campus_id):
        abort(404)
    return render(
        "loans/receipt.html",
        loan=loan,
        local=lambda moment: loan_service.local_time(loan.asset.campus, moment),
    )


def _list(title: str, overdue: bool):
    campus_id = None
    code = request.args.get("campus", "").strip().upper()
    if code:
        campus = next((c for c in visible_campuses() if c.code == code), None)
        if campus is None:
            abort(404)
        campus_id = campus.id
    stmt = loan_service.loans_query(current_user, open_only=True, overdue=overdue, campus_id=campus_id)
    page = db.paginate(stmt, page=page_arg(), per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    return render(
        "loans/loans.html",
        "loans/_loans.html",
        page=page,
        title=title,
        overdue=overdue,
        now=utcnow(),
        campuses=visible_campuses(),
        code=code,
        endpoint=request.endpoint,
        args={k: v for k, v in request.args.items() if k != "page" and v},
    )


@bp.get("/out")
@permission_required("desk")
def out():
    """Who has loaners now."""
    return _list("Loaners out now", overdue=False)


@bp.get("/overdue")
@permission_required("desk")
def overdue():
    return _list("Overdue loaners", overdue=True)


@bp.get("/pack.json")
@permission_required("desk")
def pack():
    """The desk pack: what the desk needs to decide scans with no signal (app.services.desk.desk_pack)."""
    campus = desk_campus()
    body = json.dumps(desk.desk_pack(campus), separators=(",", ":"))
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    resp = Response(body, mimetype="application/json")
    resp.set_etag(etag)
    return resp


# Assign by scanning: 1:1 deployment day, one student and one device at a time.


@bp.get("/assign")
@permission_required("desk")
def assign_page():
    return render("loans/assign.html", person=None, message=None, error=None, done=None)


@bp.post("/assign")
@permission_required("desk")
def assign_scan():
    code = request.form.get("code", "").strip()[:120]
    selected = _visible_person(request.form.get("person", "")) if request.form.get("person") else None

    def answer(status: int = 200, **ctx):
        ctx = {"person": selected, "error": None, "done": None, **ctx}
        return render("loans/assign.html", "loans/_assign_panel.html", status=status, **ctx)

    if request.form.get("action") == "clear":
        return answer(person=None)
    if not code:
        return answer(422, error="Scan a student ID, then a device.")
    person = _visible_person(code)
    if person is not None:
        with committing():
            note_record_view(person, "desk")
        return answer(person=person, summary=person_summary(person))
    asset = asset_service.find_asset(code)
    if asset is None or not current_user.can_see_campus(asset.campus_id):
        return answer(422, error=f"No student or device on your campuses matches “{code}”.")
    if selected is None:
        return answer(422, error=f"Scan the student's ID before the device ({asset.asset_tag}).")
    with committing() as outcome:
        asset_service.assign(asset, selected, by=current_user, via=Via.web)
    if outcome.refused:
        return answer(422, error=outcome.message)
    return answer(person=None, done={"asset": asset, "person": selected})


@bp.app_template_filter("due_text")
def due_text(moment: datetime, campus: Campus) -> str:
    """A due time as the desk says it: weekday, date and time, campus local."""
    return loan_service.local_time(campus, moment).strftime("%a %b %-d, %-H:%M")
