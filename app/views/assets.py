"""The inventory: the asset list with live search, an asset's page, and editing (tech and admin)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.extensions import db
from app.models import Asset, AssetStatus, Condition, DeviceModel, Room, Via
from app.services import activity
from app.services import assets as asset_service
from app.services import audits as audit_service
from app.services.dashboard import planning_filters
from app.services.people import find_person
from app.web import committing, form_errors, is_htmx, permission_required, render, see_other, submit
from app.web.args import choice, form_choice, id_arg, page_arg, whole
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


def _filters_from_args() -> asset_service.AssetFilters:
    args = request.args
    sort = args.get("sort", "tag")
    return asset_service.AssetFilters(
        q=args.get("q", "")[:100],
        campus_id=id_arg("campus"),
        room_id=id_arg("room"),
        status=choice(args.get("status"), AssetStatus),
        condition=choice(args.get("condition"), Condition),
        model_id=id_arg("model"),
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
        **planning_filters(args),
    )


@bp.get("")
@permission_required("assets.read")
def index():
    f = _filters_from_args()
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
    if person is None or not current_user.can_see_campus(person.campus_id):
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
