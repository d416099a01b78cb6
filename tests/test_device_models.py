"""Device models: techs add models and correct their AUE dates; renames reach the inventory search."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, DeviceModel, Via
from app.services import device_models as model_service
from app.services.errors import Invalid, unique_fields
from tests.conftest import hx

FORM = {"manufacturer": "Lenovo", "name": "100e Chromebook Gen 4", "category": "Chromebook", "aue_date": "2033-06-01"}


def _models(app):
    with app.app_context():
        return {str(m): (m.category, m.aue_date) for m in db.session.scalars(sa.select(DeviceModel))}


def _entries(app, action):
    with app.app_context():
        return [
            (a.user.email, a.before, a.after)
            for a in db.session.scalars(sa.select(Activity).where(Activity.action == action).order_by(Activity.id))
        ]


def test_tech_adds_a_model_and_devices_can_be_of_it(app, client, district, login_as):
    tech = login_as("tech", "LHS", "JMS")  # a district tech: device models are the whole district's
    page = client.get("/assets/new").get_data(as_text=True)
    assert "Model not in the list? Add it" in page and "Lenovo" not in page
    resp = client.post("/models/new", data={**FORM, "manufacturer": "  Lenovo ", "next": "/assets/new"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/assets/new"
    assert _models(app)["Lenovo 100e Chromebook Gen 4"] == ("Chromebook", date(2033, 6, 1))
    ((by, _before, after),) = _entries(app, "model.create")
    assert by == tech.email and after["aue_date"] == "2033-06-01"
    assert "Lenovo 100e Chromebook Gen 4" in client.get("/assets/new").get_data(as_text=True)
    # Somewhere else to go after adding is only ever this site.
    resp = client.post("/models/new", data={**FORM, "name": "Other", "next": "//evil.example/"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/models"


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("name", "chromebook 311", "This maker already has a model by that name."),
        ("manufacturer", " ", "Enter the maker."),
        ("name", "", "Enter the model&#39;s name."),
        ("name", "x" * 121, "Use at most 120 characters."),
        ("aue_date", "2029-13-01", "Not a valid date value."),
        ("aue_date", "1999-06-01", "Enter the AUE date Google publishes for this model"),
    ],
)
def test_a_bad_model_field_is_422_on_that_field(app, client, district, login_as, field, value, message):
    login_as("admin")
    data = {**FORM, "manufacturer": "ACER"} if value == "chromebook 311" else dict(FORM)
    resp = client.post("/models/new", data={**data, field: value})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert message in body and f'id="{field}-error"' in body
    assert len(_models(app)) == 1


def test_counts_are_of_the_users_own_devices(app, client, district, login_as):
    login_as("tech", "LHS")
    listing = client.get("/models").get_data(as_text=True)
    assert "Acer Chromebook 311" in listing and "2 devices" in listing  # LHS has two; JMS's one is not counted
    login_as("admin")
    assert "3 devices" in client.get("/models").get_data(as_text=True)


def test_renaming_a_model_reaches_the_search_and_the_log(app, client, district, login_as):
    login_as("admin")
    with app.app_context():
        model_id = db.session.scalar(sa.select(DeviceModel.id))
    assert client.get(f"/models/{model_id}").status_code == 200
    resp = client.post(
        f"/models/{model_id}",
        data={
            "manufacturer": "Acer",
            "name": "Chromebook Spin 512",
            "category": "Chromebook",
            "aue_date": "2030-06-01",
        },
    )
    assert resp.status_code == 303
    ((_by, before, after),) = _entries(app, "model.update")
    assert before == {"name": "Chromebook 311", "aue_date": "2029-06-01"}
    assert after == {"name": "Chromebook Spin 512", "aue_date": "2030-06-01"}
    results = client.get("/assets?q=spin+512", headers=hx()).get_data(as_text=True)
    assert "LHS-1000" in results and "JMS-2000" in results
    assert "LHS-1000" not in client.get("/assets?q=chromebook+311", headers=hx()).get_data(as_text=True)
    assert client.get("/models/999999").status_code == 404


def test_a_name_race_is_the_name_fields_error(app, ctx, district):
    """SQLite and PostgreSQL both name the (maker, name) pair; either way the loser hears about the name."""
    with (
        pytest.raises(Invalid) as exc,
        unique_fields({"name": model_service.TAKEN, "manufacturer": model_service.TAKEN}),
    ):
        db.session.add(DeviceModel(manufacturer="Acer", name="Chromebook 311"))
    assert exc.value.field == "name"
    model = model_service.create_model({"manufacturer": "Dell", "name": "3110"}, by=None, via=Via.cli)
    db.session.commit()
    assert (model.category, model.aue_date) == ("Chromebook", None)
