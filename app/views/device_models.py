"""Device models: the list new devices are chosen from, with each model's AUE date (district-wide editors)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Optional

from app.extensions import db
from app.models import DeviceModel, Via
from app.services import device_models as model_service
from app.web import form_errors, permission_required, render, safe_next, see_other, submit

bp = Blueprint("device_models", __name__, url_prefix="/models")


class ModelForm(FlaskForm):
    # Lengths and blanks are the service's to judge, so the messages are the same from every door.
    manufacturer = StringField("Maker")
    name = StringField("Model")
    category = StringField("Category", default="Chromebook")
    aue_date = DateField(
        "Auto Update Expiration (AUE)", validators=[Optional()], format="%Y-%m-%d", render_kw={"type": "date"}
    )

    def values(self) -> dict:
        return {name: self[name].data for name in model_service.FIELDS}


@bp.get("")
@permission_required("device_models.read")
def index():
    return render("device_models/index.html", rows=model_service.model_rows(current_user))


@bp.route("/new", methods=["GET", "POST"])
@permission_required("device_models.edit")
def new():
    form = ModelForm()
    back = safe_next(request.values.get("next"), url_for("device_models.index"))
    if request.method == "POST":
        ok, model = submit(form, lambda: model_service.create_model(form.values(), by=current_user, via=Via.web))
        if ok:
            flash(f"Added {model}.")
            return see_other(back)
        return render("device_models/form.html", form=form, model=None, back=back, errors=form_errors(form), status=422)
    return render("device_models/form.html", form=form, model=None, back=back, errors={})


@bp.route("/<int:model_id>", methods=["GET", "POST"])
@permission_required("device_models.edit")
def edit(model_id: int):
    model = db.session.get(DeviceModel, model_id)
    if model is None:
        abort(404)
    back = url_for("device_models.index")
    form = ModelForm(obj=model) if request.method == "POST" else ModelForm(obj=model, formdata=None)
    if request.method == "POST":
        ok, changed = submit(
            form, lambda: model_service.update_model(model, form.values(), by=current_user, via=Via.web)
        )
        if ok:
            flash(f"Saved {model}." if changed else "Nothing changed.")
            return see_other(back)
        return render(
            "device_models/form.html", form=form, model=model, back=back, errors=form_errors(form), status=422
        )
    return render("device_models/form.html", form=form, model=model, back=back, errors={})
