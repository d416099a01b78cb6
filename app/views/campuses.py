"""Campuses and rooms (admins): a campus's school-day settings, and adding, renaming and retiring its rooms."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.models import Campus, RoomKind, Via
from app.services import places
from app.services.errors import Invalid
from app.web import form_errors, is_htmx, permission_required, render, see_other, submit
from app.web.loaders import get_campus_or_404, get_room_or_404

bp = Blueprint("campuses", __name__, url_prefix="/campuses")

KIND_CHOICES = [SelectChoice(k.value, k.value) for k in RoomKind]


class CampusForm(FlaskForm):
    code = StringField("Code", validators=[Optional(), Length(max=places.CAMPUS_CODE_MAX)])
    name = StringField("Name", validators=[DataRequired("Enter the campus's name."), Length(max=120)])
    timezone = SelectField("Time zone", default="America/Los_Angeles", validate_choice=False)
    day_ends_at = TimeField("School day ends", validators=[InputRequired("Enter a time, such as 15:30.")])
    loan_days = IntegerField(
        "Loaners are due after (days)",
        default=0,
        validators=[InputRequired("Enter a number of days."), NumberRange(0, 365, "Enter 0 to 365 days.")],
    )
    audit_interval_days = IntegerField(
        "Audit each room every (days)",
        default=90,
        validators=[InputRequired("Enter a number of days."), NumberRange(1, 3650, "Enter 1 to 3650 days.")],
    )
    ship_address = TextAreaField("Shipping address", validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(z, z.replace("_", " ")) for z in places.time_zones()]

    def values(self) -> dict:
        return {name: self[name].data for name in places.CAMPUS_FIELDS}


class RoomForm(FlaskForm):
    code = StringField("Code", validators=[Optional(), Length(max=places.ROOM_CODE_MAX)])
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    kind = SelectField("Kind", choices=KIND_CHOICES)


class RoomLinesForm(FlaskForm):
    lines = TextAreaField("Rooms, one per line", validators=[Optional(), Length(max=40_000)])


class EditRoomForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the room's name."), Length(max=120)])
    kind = SelectField("Kind", choices=KIND_CHOICES)
    active = BooleanField("In use (shown on the scan page, in audits and on labels)")


@bp.get("")
@permission_required("campuses.manage")
def index():
    return render("campuses/index.html", rows=places.campus_rows(current_user.campus_ids))


@bp.route("/new", methods=["GET", "POST"])
@permission_required("campuses.create")
def new():
    form = CampusForm()
    if request.method == "POST":
        ok, campus = submit(
            form, lambda: places.create_campus(form.code.data or "", form.values(), by=current_user, via=Via.web)
        )
        if ok:
            flash(f"Added {campus.name}. Now add its rooms.")
            return see_other(url_for("campuses.show", code=campus.code))
        return render("campuses/new.html", form=form, errors=form_errors(form), status=422)
    return render("campuses/new.html", form=form, errors={})


def _page(
    campus: Campus,
    *,
    form: CampusForm | None = None,
    room_form: RoomForm | None = None,
    lines_form: RoomLinesForm | None = None,
    notice: str | None = None,
    status: int = 200,
):
    """The campus page: its settings and its rooms. An htmx request (adding rooms) gets the rooms section only."""
    form = form or CampusForm(obj=campus, formdata=None)
    room_form = room_form or RoomForm(formdata=None)
    lines_form = lines_form or RoomLinesForm(formdata=None)
    return render(
        "campuses/show.html",
        "campuses/_rooms.html",
        campus=campus,
        form=form,
        errors=form_errors(form),
        room_form=room_form,
        room_errors=form_errors(room_form),
        lines_form=lines_form,
        lines_errors=form_errors(lines_form),
        rooms=places.rooms_of(campus),
        kinds=[k.value for k in RoomKind],
        notice=notice,
        status=status,
    )


@bp.route("/<code>", methods=["GET", "POST"])
@permission_required("campuses.manage")
def show(code: str):
    campus = get_campus_or_404(code)
    if request.method == "GET":
        return _page(campus)
    form = CampusForm()
    ok, changed = submit(form, lambda: places.update_campus(campus, form.values(), by=current_user, via=Via.web))
    if ok:
        flash(f"Saved {campus.name}." if changed else "Nothing changed.")
        return see_other(url_for("campuses.show", code=campus.code))
    return _page(campus, form=form, status=422)


@bp.post("/<code>/rooms")
@permission_required("campuses.manage")
def add_rooms(code: str):
    """One room (code, name, kind) or many pasted as lines; all or nothing."""
    campus = get_campus_or_404(code)
    many = "lines" in request.form
    room_form = RoomForm(formdata=None if many else request.form)
    lines_form = RoomLinesForm(formdata=request.form if many else None)

    def add() -> list:
        if not many:
            line = places.RoomLine(room_form.code.data or "", room_form.name.data or "", RoomKind(room_form.kind.data))
            return places.add_rooms(campus, [line], by=current_user, via=Via.web)
        try:
            return places.add_rooms(
                campus, places.parse_room_lines(lines_form.lines.data or ""), by=current_user, via=Via.web
            )
        except Invalid as exc:
            # One pasted line is refused as the one-room form's code would be; here the pasted lines hold it.
            raise Invalid(exc.message, field="lines") from None

    ok, added = submit(lines_form if many else room_form, add)
    if not ok:
        return _page(campus, room_form=room_form, lines_form=lines_form, status=422)
    notice = f"Added {added[0].code}." if len(added) == 1 else f"Added {len(added)} rooms."
    if is_htmx():
        return _page(campus, notice=notice)
    flash(notice)
    return see_other(url_for("campuses.show", code=campus.code, _anchor="rooms"))


@bp.route("/<code>/rooms/<room_code>", methods=["GET", "POST"])
@permission_required("campuses.manage")
def edit_room(code: str, room_code: str):
    campus = get_campus_or_404(code)
    room = get_room_or_404(room_code)
    if room.campus_id != campus.id:
        abort(404)
    form = EditRoomForm(obj=room) if request.method == "POST" else EditRoomForm(obj=room, formdata=None)
    if request.method == "POST":
        ok, _changed = submit(
            form,
            lambda: places.update_room(
                room,
                {"name": form.name.data, "kind": RoomKind(form.kind.data), "active": form.active.data},
                by=current_user,
                via=Via.web,
            ),
        )
        if ok:
            flash(f"Saved {room.code}.")
            return see_other(url_for("campuses.show", code=campus.code, _anchor="rooms"))
        return render("campuses/room.html", campus=campus, room=room, form=form, errors=form_errors(form), status=422)
    form.kind.data = room.kind.value
    return render("campuses/room.html", campus=campus, room=room, form=form, errors={})
