"""The district's vendor list: techs read it (contact, portal, ship-to); admins add, edit and retire vendors."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.models import Vendor, Via
from app.services import vendors as vendor_service
from app.views.repairs.blueprint import bp
from app.web import can, committing, form_errors, permission_required, render, see_other, submit


class VendorForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the vendor's name."), Length(max=80)])
    contact = StringField("Contact (person, phone, email)", validators=[Optional(), Length(max=200)])
    portal_url = StringField("Claims portal address", validators=[Optional(), Length(max=300)])
    ship_to = TextAreaField("Ship-to address", validators=[Optional(), Length(max=1000)])

    def values(self) -> dict:
        return {name: self[name].data for name in vendor_service.FIELDS}


def _vendor_or_404(vendor_id: int) -> Vendor:
    """A vendor on the district's list (one list for every campus); 404 when there is none."""
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None:
        abort(404)
    return vendor


def _list(form: VendorForm | None = None, status: int = 200):
    form = form or VendorForm(formdata=None)
    return render(
        "repairs/vendors.html",
        vendors=vendor_service.vendors(),
        form=form,
        errors=form_errors(form),
        may_edit=can("vendors.manage"),
        status=status,
    )


@bp.get("/vendors")
@permission_required("repairs.work")
def vendors():
    return _list()


@bp.post("/vendors")
@permission_required("vendors.manage")
def add_vendor():
    form = VendorForm()
    ok, vendor = submit(form, lambda: vendor_service.create(form.values(), by=current_user, via=Via.web))
    if ok and vendor is not None:
        flash(f"Added {vendor.name}.")
        return see_other(url_for("repairs.vendors"))
    return _list(form, 422)


def _page(vendor: Vendor, form: VendorForm | None = None, status: int = 200):
    form = form or VendorForm(obj=vendor, formdata=None)
    return render("repairs/vendor.html", vendor=vendor, form=form, errors=form_errors(form), status=status)


@bp.route("/vendors/<int:vendor_id>", methods=["GET", "POST"])
@permission_required("vendors.manage")
def vendor(vendor_id: int):
    row = _vendor_or_404(vendor_id)
    if request.method == "GET":
        return _page(row)
    form = VendorForm()
    ok, _ = submit(form, lambda: vendor_service.update(row, form.values(), by=current_user, via=Via.web))
    if ok:
        flash(f"Saved {row.name}.")
        return see_other(url_for("repairs.vendors"))
    return _page(row, form, 422)


@bp.post("/vendors/<int:vendor_id>/<any(deactivate, activate):action>")
@permission_required("vendors.manage")
def vendor_active(vendor_id: int, action: str):
    row = _vendor_or_404(vendor_id)
    with committing():
        vendor_service.set_active(row, action == "activate", by=current_user, via=Via.web)
    flash(f"{row.name} is {'back on the list' if row.active else 'no longer offered for new claims'}.")
    return see_other(url_for("repairs.vendors"))
