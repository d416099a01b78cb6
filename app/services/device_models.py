"""Device models, one list for the district: maker, name, category and Google's Auto Update Expiration (AUE) date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, DeviceModel, User, Via
from app.services import activity
from app.services.assets import refresh_search_text, visible_to
from app.services.errors import Invalid, unique_fields

FIELDS = ("manufacturer", "name", "category", "aue_date")
TAKEN = "This maker already has a model by that name."


@dataclass(frozen=True)
class ModelRow:
    model: DeviceModel
    devices: int  # on the user's campuses
    own_aue: int  # of those, devices with their own AUE date from Google


def model_rows(user: User) -> list[ModelRow]:
    """Every model by maker and name, with how many of the user's devices are of it."""
    counts = {
        model_id: (devices, own)
        for model_id, devices, own in db.session.execute(
            sa.select(Asset.model_id, sa.func.count(), sa.func.count(Asset.google_aue_date))
            .where(visible_to(user))
            .group_by(Asset.model_id)
        )
    }
    models = db.session.scalars(sa.select(DeviceModel).order_by(DeviceModel.manufacturer, DeviceModel.name))
    return [ModelRow(m, *counts.get(m.id, (0, 0))) for m in models]


def _check(values: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in values.items() if k in FIELDS}
    for key, label, longest in (("manufacturer", "the maker", 80), ("name", "the model's name", 120)):
        if key in values:
            values[key] = " ".join((values[key] or "").split())
            if not values[key]:
                raise Invalid(f"Enter {label}.", field=key)
            if len(values[key]) > longest:
                raise Invalid(f"Use at most {longest} characters.", field=key)
    if "category" in values:
        values["category"] = " ".join((values["category"] or "").split())[:40] or "Chromebook"
    aue = values.get("aue_date")
    if aue is not None and not (isinstance(aue, date) and date(2010, 1, 1) <= aue <= date(2100, 12, 31)):
        raise Invalid("Enter the AUE date Google publishes for this model, such as 2029-06-01.", field="aue_date")
    return values


def _taken(manufacturer: str, name: str, model_id: int | None) -> bool:
    return bool(
        db.session.scalar(
            sa.select(DeviceModel.id).where(
                sa.func.lower(DeviceModel.manufacturer) == manufacturer.lower(),
                sa.func.lower(DeviceModel.name) == name.lower(),
                DeviceModel.id != (model_id or 0),
            )
        )
    )


def create_model(values: dict[str, Any], *, by: User | None, via: Via) -> DeviceModel:
    """A new model, so devices of it can be added by hand."""
    values = _check({"category": "Chromebook", **values})
    if "manufacturer" not in values or "name" not in values:
        raise Invalid("Enter the maker and the model's name.", field="manufacturer" if "name" in values else "name")
    if _taken(values["manufacturer"], values["name"], None):
        raise Invalid(TAKEN, field="name")
    model = DeviceModel(**values)
    with unique_fields({"name": TAKEN, "manufacturer": TAKEN}):
        db.session.add(model)
    activity.record(
        "model.create", f"Added model {model}", by=by, via=via, subject=model, after=activity.snapshot(model, FIELDS)
    )
    return model


def update_model(model: DeviceModel, values: dict[str, Any], *, by: User | None, via: Via) -> dict[str, Any]:
    """Correct a model (a rename reaches the inventory search of its devices); returns what changed."""
    values = _check(values)
    name = (values.get("manufacturer", model.manufacturer), values.get("name", model.name))
    if _taken(*name, model.id):
        raise Invalid(TAKEN, field="name")
    with unique_fields({"name": TAKEN, "manufacturer": TAKEN}):
        old, new = activity.apply(model, values, FIELDS)
    if not new:
        return new
    if "manufacturer" in new or "name" in new:
        refresh_search_text(list(db.session.scalars(sa.select(Asset.id).where(Asset.model_id == model.id))))
    activity.record("model.update", f"Changed model {model}", by=by, via=via, subject=model, before=old, after=new)
    return new
