"""The inventory: the asset list with live search, an asset's page, and editing (tech and admin)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.extensions import db
from app.models import Asset, AssetStatus, Condition, DeviceModel, LabelFormat, Room, TicketCategory, Via
from app.services import activity
from app.services import assets as asset_service
from app.services import audits as audit_service
from app.services import bulk_actions as bulk_service
from app.services import labels as label_service
from app.services.dashboard import planning_filters
from app.services.errors import Invalid
from app.services.people import find_person
from app.web import can, committing, form_errors, is_htmx, permission_required, render, see_other, submit
from app.web.args import choice, form_choice, id_arg, page_arg, whole, whole_number
from app.web.loaders import get_asset_or_404, get_room_or_404, visible_campuses

bp = Blueprint("assets", __name__, url_prefix="/assets")

PER_PAGE = 50
STATUS_CHOICES = [SelectChoice(s.value, s.label) for s in AssetStatus]
CONDITION_CHOICES = [SelectChoice(c.value, c.label) for c in Condition]


class AssetForm(FlaskForm):
    asset_tag = StringField(
        "Asset tag",
        validators=[DataRequired("Enter the asset tag."), Length(max=32)],
        filters=[lambda v: v.strip().upper() if v else v],
    )
    serial = StringField(
        "Serial number",
        validators=[DataRequired("Enter the serial number."), Length(max=64)],
        filters=[lambda v: v.strip().upper() if v else v],
    )
    # Ids past 64 bits coerce to None (no such record) instead of reaching the database.
    model_id = SelectField("Model", coerce=whole, validators=[DataRequired("Choose a model.")])
    campus_id = SelectField("Campus", coerce=whole, validators=[DataRequired("Choose a campus.")])
    home_room_id = SelectField("Home room", coerce=whole, validators=[Optional()], validate_choice=False)
    status = SelectField("Status", choices=STATUS_CHOICES)
    condition = SelectField("Condition", choices=CONDITION_CHOICES)
    purchase_date = DateField("Purchase date", validators=[Optional()])
    purchase_cost = DecimalField("Purchase cost", places=2, validators=[Optional(), NumberRange(min=0)])
    warranty_provider = StringField("Warranty provider", validators=[Optional(), Length(max=80)])
    warranty_plan = StringField("Warranty plan", validators=[Optional(), Length(max=80)])
    warranty_start = DateField("Warranty start", validators=[Optional()])
    warranty_end = DateField("Warranty end", validators=[Optional()])
    warranty_accidental = BooleanField("Covers accidental damage")
    warranty_battery = BooleanField("Covers the battery")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=4000)])

    def validate_warranty_end(self, field):
        if field.data and self.warranty_start.data and field.data < self.warranty_start.data:
            raise ValidationError("The warranty cannot end before it starts.")

    def fill_choices(self) -> None:
        models = db.session.scalars(sa.select(DeviceModel).order_by(DeviceModel.manufacturer, DeviceModel.name))
        self.model_id.choices = [SelectChoice(m.id, str(m)) for m in models]
        self.campus_id.choices = [SelectChoice(c.id, c.name) for c in visible_campuses()]
        campus_id = self.campus_id.data or (self.campus_id.choices[0].value if self.campus_id.choices else None)
        rooms = rooms_of(campus_id)
        # A device keeps a home room that has gone out of use until someone picks another.
        kept = db.session.get(Room, self.home_room_id.data) if self.home_room_id.data else None
        if kept is not None and not kept.active and kept.campus_id == campus_id:
            rooms.append(kept)
        self.home_room_id.choices = [SelectChoice("", "— none —")] + [
            SelectChoice(r.id, str(r) if r.active else f"{r} (not in use)") for r in rooms
        ]

    def values(self) -> dict:
        data = {name: field.data for name, field in self._fields.items() if name in asset_service.EDITABLE}
        data["status"] = AssetStatus(data["status"])
        data["condition"] = Condition(data["condition"])
        data["notes"] = data.get("notes") or ""
        for key in ("warranty_provider", "warranty_plan"):
            data[key] = (data.get(key) or "").strip() or None
        return data


def rooms_of(campus_id: int | None) -> list[Room]:
    if not campus_id:
        return []
    return list(
        db.session.scalars(
            sa.select(Room).where(Room.campus_id == campus_id, Room.active.is_(True)).order_by(Room.code)
        )
    )


def _filters_from(args: Mapping[str, str], status: int = 400) -> asset_service.AssetFilters:
    """The list's filters from its query string (or from a bulk action's form, which carries the same names)."""
    sort = args.get("sort", "tag")

    def record_id(name: str) -> int | None:
        return whole_number(args.get(name), name, low=1, status=status)

    return asset_service.AssetFilters(
        q=args.get("q", "")[:100],
        campus_id=record_id("campus"),
        room_id=record_id("room"),
        status=choice(args.get("status"), AssetStatus),
        condition=choice(args.get("condition"), Condition),
        model_id=record_id("model"),
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
        **planning_filters(args),
    )


@bp.get("")
@permission_required("assets.read")
def index():
    f = _filters_from(request.args)
    page = asset_service.asset_page(current_user, f, page_arg(), PER_PAGE)
    ctx = {
        "page": page,
        "f": f,
        "campuses": visible_campuses(),
        "rooms": rooms_of(f.campus_id),
        "models": db.session.scalars(sa.select(DeviceModel).order_by(DeviceModel.manufacturer, DeviceModel.name)),
        "statuses": list(AssetStatus),
        "conditions": list(Condition),
        "args": {k: v for k, v in request.args.items() if k != "page" and v},
        "bulk": _bulk_choices(),
    }
    return render("assets/index.html", "assets/_results.html", **ctx)


@bp.get("/rooms")
@permission_required("assets.read")
def room_options():
    """The <option>s of a campus's rooms, for the form and the filter when the campus changes."""
    campus_id = id_arg("campus_id") or id_arg("campus")
    if campus_id and not current_user.can_see_campus(campus_id):
        abort(404)
    return render(
        "assets/_room_options.html",
        "assets/_room_options.html",
        rooms=rooms_of(campus_id),
        blank=request.args.get("blank", "— none —"),
    )


@bp.route("/new", methods=["GET", "POST"])
@permission_required("assets.edit")
def new():
    form = AssetForm()
    form.fill_choices()
    if request.method == "POST":
        ok, asset = submit(form, lambda: asset_service.create_asset(form.values(), by=current_user, via=Via.web))
        if ok:
            return see_other(url_for("assets.detail", asset_tag=asset.asset_tag))
        return render(
            "assets/form.html", "assets/_form.html", form=form, asset=None, errors=form_errors(form), status=422
        )
    return render("assets/form.html", "assets/_form.html", form=form, asset=None, errors={})


@bp.get("/<asset_tag>")
@permission_required("assets.read")
def detail(asset_tag: str):
    return render("assets/detail.html", **_detail_context(get_asset_or_404(asset_tag), {}))


def _detail_context(asset: Asset, errors: dict) -> dict:
    """What the asset page shows: the device, its timeline, who has it, and the choices of its quick actions."""
    return {
        "asset": asset,
        "timeline": timeline_of(asset),
        "assignment": asset_service.open_assignment(asset),
        "statuses": list(AssetStatus),
        "conditions": list(Condition),
        "missing_in_audit": audit_service.is_missing_in_audit(asset),
        "errors": errors,
    }


def timeline_of(asset: Asset) -> list[asset_service.TimelineEntry]:
    """The asset's changes and sightings, newest first."""
    return asset_service.timeline(asset)


@bp.route("/<asset_tag>/edit", methods=["GET", "POST"])
@permission_required("assets.edit")
def edit(asset_tag: str):
    asset = get_asset_or_404(asset_tag)
    # Enum columns are shown by their values (WTForms compares option values as strings).
    current = {name: activity.plain(getattr(asset, name)) for name in asset_service.EDITABLE}
    current.update({k: getattr(asset, k) for k in ("purchase_date", "purchase_cost", "warranty_start", "warranty_end")})
    form = AssetForm(data=current)
    form.fill_choices()
    if request.method == "POST":
        ok, _changed = submit(
            form, lambda: asset_service.update_asset(asset, form.values(), by=current_user, via=Via.web)
        )
        if ok:
            return see_other(url_for("assets.detail", asset_tag=asset.asset_tag))
        return render(
            "assets/form.html", "assets/_form.html", form=form, asset=asset, errors=form_errors(form), status=422
        )
    return render("assets/form.html", "assets/_form.html", form=form, asset=asset, errors={})


def _actions_response(asset: Asset, errors: dict, status: int = 200):
    """After a quick action: the whole page, from which htmx picks the actions, facts and timeline."""
    if not is_htmx() and status == 200:
        return redirect(url_for("assets.detail", asset_tag=asset.asset_tag), 303)
    return render("assets/detail.html", status=status, **_detail_context(asset, errors))


@bp.post("/<asset_tag>/status")
@permission_required("assets.edit")
def change_status(asset_tag: str):
    asset = get_asset_or_404(asset_tag)
    with committing() as outcome:
        status = form_choice("status", AssetStatus, "Choose a status from the list.")
        # The list's bulk change follows the same rule: a device a person has stays off the shelf.
        reason = bulk_service.status_refusal(status, bulk_service.in_hands(asset)) if status != asset.status else None
        if reason:
            raise Invalid(f"{asset.asset_tag}: {reason}.", field="status")
        asset_service.update_asset(asset, {"status": status}, by=current_user, via=Via.web)
    if outcome.refused:
        return _actions_response(asset, {"status": outcome.message}, 422)
    return _actions_response(asset, {})


@bp.post("/<asset_tag>/assign")
@permission_required("desk")
def assign(asset_tag: str):
    asset = get_asset_or_404(asset_tag)
    who = request.form.get("person", "").strip()
    person = find_person(who) if who else None
    if person is None or not person.seen_by(current_user):
        message = "Enter a student or staff ID." if not who else f"No one on your campuses has the ID {who!r}."
        return _actions_response(asset, {"person": message}, 422)
    with committing() as outcome:
        asset_service.assign(asset, person, by=current_user, via=Via.web)
    if outcome.refused:
        return _actions_response(asset, {"person": outcome.message}, 422)
    return _actions_response(asset, {})


@bp.post("/<asset_tag>/return")
@permission_required("desk")
def take_back(asset_tag: str):
    asset = get_asset_or_404(asset_tag)
    condition = choice(request.form.get("condition"), Condition)
    with committing() as outcome:
        asset_service.unassign(asset, by=current_user, via=Via.web, condition=condition)
    if outcome.refused:
        return _actions_response(asset, {"condition": outcome.message}, 422)
    return _actions_response(asset, {})


@bp.get("/room/<code>")
@permission_required("assets.read")
def by_room(code: str):
    room = get_room_or_404(code)
    return redirect(url_for("assets.index", campus=room.campus_id, room=room.id))


# --- Bulk actions on the list --------------------------------------------------------------------------------------

# Each action on the list's selection, and the capability it needs (checked again on every request).
BULK_ACTIONS = {
    "status": "assets.edit",
    "room": "assets.edit",
    "ticket": "tickets.work",
    "labels": "labels.print",
    "export": "assets.export",
}
# The list's filters, carried by the bulk form so "all matching" is the filter itself.
FILTER_KEYS: tuple[str, ...] = (
    *("q", "campus", "room", "status", "condition", "model", "sort"),
    *("aue_year", "warranty_month", "warranty", "active"),
)


def _bulk_choices() -> dict:
    """The actions this user may take on a selection, with the choices their fields offer."""
    actions = [a for a, capability in BULK_ACTIONS.items() if can(capability)]
    rooms: list[Room] = []
    if "room" in actions:
        ids = current_user.campus_ids
        stmt = sa.select(Room).where(Room.active.is_(True)).order_by(Room.code)
        rooms = list(db.session.scalars(stmt if ids is None else stmt.where(Room.campus_id.in_(ids))))
    return {
        "actions": actions,
        "statuses": list(AssetStatus),
        "rooms": rooms,
        "categories": list(TicketCategory),
        "formats": list(LabelFormat),
        "filter_keys": FILTER_KEYS,
    }


def _ticked(name: str) -> list[int]:
    """The ids posted under `name`; anything that is not a record id is malformed input."""
    raw = request.form.getlist(name)
    ids = [whole(v) for v in raw]
    if any(i is None for i in ids):
        raise Invalid("Choose devices from the list.", field="ids")
    return [i for i in ids if i is not None]


def _selection() -> bulk_service.Selection:
    """What the form chose: every device matching its filter ("all"), or the ticked rows (all on the page when
    its box is ticked without the page's script)."""
    form = request.form
    if form.get("all") == "1":
        return bulk_service.Selection(filters=_filters_from(form, status=422))
    ids = _ticked("ids")
    if form.get("page") == "1":
        ids += _ticked("page_ids")
    return bulk_service.Selection(ids=tuple(dict.fromkeys(ids)))


def _list_url() -> str:
    """The list the selection came from, with its filters."""
    filters: dict[str, Any] = {k: v for k in FILTER_KEYS if (v := request.form.get(k))}
    return url_for("assets.index", **filters)


def _echo() -> list[tuple[str, str]]:
    """The posted fields to send again with the confirmation (its own button adds `confirm`)."""
    return [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "confirm")]


@bp.post("/bulk/count")
@permission_required("assets.read")
def bulk_count():
    """The action bar's "N selected" for what the form holds now (htmx, on every tick)."""
    try:
        selection = _selection()
    except Invalid:
        selection = bulk_service.Selection()
    return render(
        "assets/_bulk_count.html",
        "assets/_bulk_count.html",
        selected=bulk_service.count(current_user, selection),
        everything=selection.everything,
    )


def _confirm_page(action: str, plan: bulk_service.Plan | None, question: str, errors: dict, status: int = 200):
    return render(
        "assets/bulk.html",
        "assets/_bulk_confirm.html",
        status=status,
        action=action,
        plan=plan,
        question=question,
        errors=errors,
        echo=_echo(),
        back=_list_url(),
        shown=bulk_service.SHOWN,
    )


def _plan_status(selection: bulk_service.Selection) -> tuple[bulk_service.Plan, str, str]:
    status = form_choice("to_status", AssetStatus, "Choose a status from the list.")
    plan = bulk_service.plan_status(current_user, selection, status)
    n = len(plan.change)
    question = ngettext(
        "Change %(n)s device to %(s)s?", "Change %(n)s devices to %(s)s?", n, n=f"{n:,}", s=status.label
    )
    done = ngettext("Changed %(n)s device to %(s)s.", "Changed %(n)s devices to %(s)s.", n, n=f"{n:,}", s=status.label)
    return plan, question, done


def _plan_move(selection: bulk_service.Selection) -> tuple[bulk_service.Plan, str, str]:
    room_id = whole(request.form.get("to_room"))
    room = bulk_service.check_room(db.session.get(Room, room_id) if room_id else None, current_user)
    plan = bulk_service.plan_move(current_user, selection, room)
    n = len(plan.change)
    question = ngettext("Move %(n)s device to %(r)s?", "Move %(n)s devices to %(r)s?", n, n=f"{n:,}", r=room.code)
    done = ngettext("Moved %(n)s device to %(r)s.", "Moved %(n)s devices to %(r)s.", n, n=f"{n:,}", r=room.code)
    return plan, question, done


def _ticket_values() -> tuple[TicketCategory, str]:
    category = form_choice("category", TicketCategory, "Choose a category.")
    description = request.form.get("description", "").strip()
    if not description:
        raise Invalid("Describe what is wrong.", field="description")
    return category, description


def _plan_tickets(selection: bulk_service.Selection) -> tuple[bulk_service.Plan, str, str]:
    category, _description = _ticket_values()
    devices, missing = bulk_service.load(current_user, selection, bulk_service.MAX_TICKETS)
    plan = bulk_service.Plan(devices, missing, change=list(devices))
    n, c = len(devices), category.label
    question = ngettext(
        "Open a ticket (%(c)s) for %(n)s device?",
        "Open a ticket (%(c)s) for each of %(n)s devices?",
        n,
        n=f"{n:,}",
        c=c,
    )
    done = ngettext("Opened %(n)s ticket.", "Opened %(n)s tickets.", n, n=f"{n:,}")
    return plan, question, done


def _apply(action: str, selection: bulk_service.Selection) -> None:
    """Make the change: all of it, or (any device refused) none of it."""
    if action == "status":
        status = form_choice("to_status", AssetStatus, "Choose a status from the list.")
        bulk_service.change_status(current_user, selection, status, via=Via.web)
    elif action == "room":
        room_id = whole(request.form.get("to_room"))
        room = bulk_service.check_room(db.session.get(Room, room_id) if room_id else None, current_user)
        bulk_service.move(current_user, selection, room, via=Via.web)
    else:
        category, description = _ticket_values()
        bulk_service.open_tickets(current_user, selection, category, description, via=Via.web)


PLANNERS = {"status": _plan_status, "room": _plan_move, "ticket": _plan_tickets}


def _hand_over(action: str, selection: bulk_service.Selection):
    """Labels and the CSV change no device: they go straight to the print sheet and the download."""
    if action == "export":
        chunks = bulk_service.export_csv(current_user, selection)
        resp = Response(stream_with_context(chunks), mimetype="text/csv")
        resp.headers["Content-Disposition"] = f'attachment; filename="rollcall-devices-{date.today().isoformat()}.csv"'
        return resp
    fmt = form_choice("format", LabelFormat, "Choose the label stock.")
    chosen = bulk_service.assets(current_user, selection, label_service.MAX_LABELS)
    with committing() as outcome:
        job = label_service.record_print(fmt, chosen, by=current_user, via=Via.web)
    if outcome.refused:
        raise outcome.refused
    return see_other(url_for("labels.sheet", print_id=job.id))


@bp.post("/bulk")
@permission_required("assets.read")
def bulk_action():
    """One action on the list's selection: a confirmation naming the count, then (confirmed) the change."""
    action = request.form.get("action", "")
    capability = BULK_ACTIONS.get(action)
    if capability is None:
        return _confirm_page(action, None, "", {"action": "Choose an action from the list."}, 422)
    if not can(capability):
        abort(403)
    try:
        selection = _selection()
        if action not in PLANNERS:
            return _hand_over(action, selection)
        plan, question, done = PLANNERS[action](selection)
    except Invalid as exc:
        db.session.rollback()
        return _confirm_page(action, None, "", {exc.field or "ids": exc.message}, 422)
    if plan.refusals:
        return _confirm_page(action, plan, question, {}, 422)
    if request.form.get("confirm") != "1" or not plan.change:
        return _confirm_page(action, plan, question, {})
    with committing() as outcome:
        _apply(action, selection)
    if outcome.refused:
        refused = outcome.refused
        plan.missing = getattr(refused, "refusals", [])
        return _confirm_page(action, plan, question, {refused.field or "ids": refused.message}, 422)
    flash(done)
    return see_other(_list_url())
