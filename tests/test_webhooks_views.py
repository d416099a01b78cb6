"""The webhook admin pages: only district-wide admins; register, refuse a bad address with 422 on its field, turn off,
the delivery log (page and htmx fragment) and "Send again"; the OpenAPI spec documents every event's payload."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import DeliveryStatus, Role, WebhookDelivery, WebhookEndpoint
from app.services.webhooks import EVENTS, deliveries, events
from tests.conftest import hx
from tests.webhook_receiver import receiver


@pytest.mark.parametrize("role, campus", [("tech", "LHS"), ("viewer", "LHS"), ("admin", "LHS")])
def test_only_district_wide_admins_keep_webhooks(client, district, login_as, role, campus):
    login_as(Role(role), campus)
    assert client.get("/webhooks").status_code == 403
    assert client.post("/webhooks", data={"name": "x"}).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, district):
    resp = client.get("/webhooks")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def _form(url: str, **extra) -> dict:
    return {"name": "Help desk", "kind": "webhook", "url": url, "events": ["ticket.created", "audit.closed"], **extra}


def test_register_turn_off_and_read_the_log(app, client, district, login_as):
    login_as(Role.admin)
    with receiver() as hook:
        resp = client.post("/webhooks", data=_form(hook.url))
        assert resp.status_code == 303
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
        with app.app_context():
            endpoint = db.session.scalar(sa.select(WebhookEndpoint))
            assert endpoint.events == ["ticket.created", "audit.closed"] and endpoint.enabled
            secret, endpoint_id = endpoint.secret, endpoint.id
        assert secret.startswith("whsec_") and secret in page  # shown once, on the page the form leads to
        assert secret not in client.get(f"/webhooks/{endpoint_id}").get_data(as_text=True)
        with app.app_context():
            delivery = deliveries.fan_out([events.envelope("ticket.created", {"ticket": {}}, "/tickets")])[0]
            db.session.commit()
            delivery_id = delivery.id
        assert len(hook.requests) == 1
        log = client.get(f"/webhooks/{endpoint_id}", headers=hx())
        text = log.get_data(as_text=True)
        assert "<html" not in text and f'id="delivery-{delivery_id}"' in text and "delivered" in text
        again = client.post(f"/webhooks/{endpoint_id}/deliveries/{delivery_id}/again")
        assert again.status_code == 303 and len(hook.requests) == 2
        assert client.post(f"/webhooks/{endpoint_id}/deliveries/999999/again").status_code == 404
        off = client.post(f"/webhooks/{endpoint_id}/disable")
        assert off.status_code == 303
        with app.app_context():
            assert not db.session.get(WebhookEndpoint, endpoint_id).enabled
            statuses = db.session.scalars(sa.select(WebhookDelivery.status).order_by(WebhookDelivery.id)).all()
            assert statuses == [DeliveryStatus.delivered, DeliveryStatus.delivered]
        refused = client.post(f"/webhooks/{endpoint_id}/deliveries/{delivery_id}/again")
        assert refused.status_code == 422 and "Enable the endpoint" in refused.get_data(as_text=True)
    assert client.get("/webhooks/999999").status_code == 404


@pytest.mark.parametrize(
    "data, field_text",
    [
        (_form(""), "Enter the address."),
        (_form("https://hooks.example.org/x", events=[]), "Choose at least one event."),
        (_form("https://hooks.example.org/x", events=["ticket.deleted"]), "not a valid choice"),
        (_form("https://127.0.0.1/x"), "private or loopback"),
    ],
)
def test_bad_input_is_422_on_its_field(app, client, district, login_as, monkeypatch, data, field_text):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    login_as(Role.admin)
    resp = client.post("/webhooks", data=data)
    assert resp.status_code == 422 and field_text in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_the_spec_documents_each_events_payload(client):
    spec = client.get("/api/openapi.json").get_json()
    assert set(spec["webhooks"]) == set(EVENTS)
    body = spec["webhooks"]["ticket.created"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["type"]["const"] == "ticket.created"
    assert "number" in body["properties"]["data"]["properties"]["ticket"]["properties"]
    assert "X-Rollcall-Signature" in spec["webhooks"]["loan.overdue"]["post"]["description"]
    assert "/api/v1/claims/{claim_id}" in spec["paths"] and "patch" in spec["paths"]["/api/v1/claims/{claim_id}"]
