"""Google Admin's org units (admins): which campus and room a device new to Rollcall goes to, and how each campus
tags such a device; the device page's Google panel reads its facts through `google_panel`; and the actions on each
row of the mismatch list (/imports/google-admin/mismatches): reassign, open a ticket, mark as expected."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.models import Asset, Room, TicketCategory, Via
from app.models.google import GoogleDevice, OrgUnitMapping
from app.services.errors import Invalid
from app.services.google import mismatches as mismatch_list
from app.services.google import placement
from app.web import committing, form_errors, is_htmx, permission_required, render, see_other, submit
from app.web.args import form_choice
from app.web.loaders import get_asset_or_404, get_campus_or_404, visible_campuses

bp = Blueprint("google", __name__, url_prefix="/google")


def google_panel(asset: Asset) -> dict[str, Any] | None:
    """What Google last said about a device, for its page (None when Google has never reported it)."""
    if not (asset.google_device_id or asset.last_sync_at or asset.org_unit or asset.google_status):
        return None
    extra = db.session.get(GoogleDevice, asset.id)
    return {
        "org_unit": asset.org_unit,
        "status": asset.google_status,
        "recent_user": asset.google_recent_user,
        "last_sync": asset.last_sync_at,
        "os_version": extra.os_version if extra else None,
        "aue": asset.google_aue_date,
        "device_id": asset.google_device_id,
        "notes": extra.notes if extra else None,
    }


bp.add_app_template_global(google_panel, "google_panel")


class MappingForm(FlaskForm):
    prefix = StringField(
        "Org unit path", validators=[DataRequired("Enter an org unit path, such as /Students/LHS."), Length(max=255)]
    )
    campus = SelectField("Campus", validators=[DataRequired("Choose a campus.")], validate_choice=False)
    room = StringField("Home room (optional)", validators=[Optional(), Length(max=32)])


class TagRuleForm(FlaskForm):
    prefix = StringField("Tag prefix", validators=[Optional(), Length(max=placement.PREFIX_MAX)])


def _page(
    form: MappingForm | None = None,
    *,
    notice: str | None = None,
    rule_error: tuple[str, str, str] | None = None,
    status: int = 200,
):
    """The org units page; an htmx request (adding or removing a mapping) gets the mappings section only."""
    campuses = visible_campuses()
    form = form or MappingForm(formdata=None)
    form.campus.choices = [(c.code, f"{c.code} {c.name}") for c in campuses]
    return render(
        "google/org_units.html",
        "google/_mappings.html",
        form=form,
        errors=form_errors(form),
        mappings=placement.mappings_for(current_user),
        campuses=campuses,
        rules=placement.tag_rules(),
        notice=notice,
        rule_error=rule_error,
        status=status,
    )


@bp.get("/org-units")
@permission_required("imports.run")
def org_units():
    return _page()


def _mapping_from(form: MappingForm) -> OrgUnitMapping:
    """Add the mapping the form describes; a campus outside the user's is a 404, a room not on it refused."""
    campus = get_campus_or_404(form.campus.data or "")
    room = None
    if code := (form.room.data or "").strip():
        room = db.session.scalar(sa.select(Room).where(sa.func.upper(Room.code) == code.upper()))
        if room is None or room.campus_id != campus.id:
            raise Invalid(f"No room {code} on {campus.code}.", field="room")
    return placement.add_mapping(form.prefix.data or "", campus, room, by=current_user)


@bp.post("/org-units")
@permission_required("imports.run")
def add_org_unit():
    form = MappingForm()
    ok, mapping = submit(form, lambda: _mapping_from(form))
    if not ok or mapping is None:
        return _page(form, status=422)
    if is_htmx():
        return _page(notice=f"Devices under {mapping.prefix} go to {mapping.campus.code}.")
    return see_other(url_for("google.org_units"))


@bp.post("/org-units/<int:mapping_id>/delete")
@permission_required("imports.run")
def remove_org_unit(mapping_id: int):
    """Remove a mapping of one of the user's campuses (404 for any other, as for one that does not exist)."""
    mapping = db.session.get(OrgUnitMapping, mapping_id)
    if mapping is None or not current_user.can_see_campus(mapping.campus_id):
        abort(404)
    prefix = mapping.prefix
    with committing():
        placement.remove_mapping(mapping, by=current_user)
    if is_htmx():
        return _page(notice=f"{prefix} is no longer mapped.")
    return see_other(url_for("google.org_units"))


@bp.post("/tag-rules/<code>")
@permission_required("imports.run")
def set_tag_rule(code: str):
    """A campus's rule for tagging new devices that Google gives no Annotated Asset ID."""
    campus = get_campus_or_404(code)
    form = TagRuleForm()
    ok, _ = submit(form, lambda: placement.set_tag_rule(campus, form.prefix.data, by=current_user))
    if not ok:
        message = form_errors(form).get("prefix") or (form.form_errors or ["Check the prefix."])[0]
        return _page(rule_error=(campus.code, message, form.prefix.data or ""), status=422)
    return see_other(url_for("google.org_units") + f"#rule-{campus.code}")


# --- The mismatch list's actions ------------------------------------------------------------------------------------
# The list names assignees and their emails (imports.run); each action also needs its own capability.

bp.add_app_template_global(mismatch_list.is_mismatch, "mismatch_open")
bp.add_app_template_global(mismatch_list.ticket_description, "ticket_description")
bp.add_app_template_global(lambda: list(TicketCategory), "ticket_categories")


def _row(asset: Asset, *, status: int = 200, notice: str | None = None, error: str | None = None, ticket=None):
    """The device's row again, for htmx; a plain form post goes back to the list (a refusal: its message)."""
    if not is_htmx():
        if error:
            abort(422, error)
        marked = request.form.get("expected") == "1"
        return see_other(url_for("imports.mismatches", expected="1") if marked else url_for("imports.mismatches"))
    return render(
        "google/_mismatch.html",
        status=status,
        r=mismatch_list.row(asset, current_user),
        notice=notice,
        error=error,
        ticket=ticket,
        expected=request.form.get("expected") == "1",
    )


def _act(asset_tag: str, action: Callable[[Asset], dict[str, Any]]):
    """Run one action on a listed device of the user's campuses (404 otherwise) and answer with its row: what
    the action returns goes to the row (its notice), a refusal comes back as the row's error with a 422."""
    asset = get_asset_or_404(asset_tag)
    with committing() as outcome:
        shown = action(asset)
    if outcome.refused:
        return _row(asset, status=422, error=outcome.message)
    return _row(asset, **shown)


@bp.post("/mismatches/<asset_tag>/reassign")
@permission_required("imports.run")
@permission_required("desk")
def mismatch_reassign(asset_tag: str):
    """Assign the device to the person its most recent Google user is."""

    def reassign(asset: Asset) -> dict[str, Any]:
        person = mismatch_list.reassign(asset, by=current_user, via=Via.web)
        return {"notice": f"{asset.asset_tag} is now assigned to {person.name}."}

    return _act(asset_tag, reassign)


@bp.post("/mismatches/<asset_tag>/ticket")
@permission_required("imports.run")
@permission_required("tickets.work")
def mismatch_ticket(asset_tag: str):
    """Open a ticket about the device, its category and description as the row's form sent them."""

    def open_ticket(asset: Asset) -> dict[str, Any]:
        category = form_choice("category", TicketCategory, "Choose a category from the list.")
        description = request.form.get("description") or mismatch_list.ticket_description(asset)
        ticket = mismatch_list.open_ticket(
            asset, category=category, description=description, by=current_user, via=Via.web
        )
        return {"notice": f"Opened {ticket.number}.", "ticket": ticket}

    return _act(asset_tag, open_ticket)


@bp.post("/mismatches/<asset_tag>/expected")
@permission_required("imports.run")
def mismatch_expected(asset_tag: str):
    """Mark the device as expected to be used by its most recent Google user, with why."""

    def mark(asset: Asset) -> dict[str, Any]:
        mismatch_list.mark_expected(asset, request.form.get("reason", ""), by=current_user, via=Via.web)
        return {
            "notice": f"{asset.asset_tag} is marked as expected; it leaves the list until Google reports another user."
        }

    return _act(asset_tag, mark)


@bp.post("/mismatches/<asset_tag>/expected/delete")
@permission_required("imports.run")
def mismatch_unexpected(asset_tag: str):
    """Undo a mark: the device is back on the mismatch list."""

    def unmark(asset: Asset) -> dict[str, Any]:
        mismatch_list.unmark_expected(asset, by=current_user, via=Via.web)
        return {"notice": f"{asset.asset_tag} is back on the mismatch list."}

    return _act(asset_tag, unmark)
