"""/webhooks: district-wide admins register endpoints (signed JSON, Slack, Teams, Google Chat) with the events each
hears, enable and disable them, and read each one's delivery log with "Send again". Also the OpenAPI `webhooks`
section: what every event posts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.models import EndpointKind, Via, WebhookDelivery, WebhookEndpoint
from app.services.webhooks import EVENTS, deliveries, endpoints
from app.views.openapi import register_webhooks
from app.web import committing, form_errors, permission_required, render, see_other, submit

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


class EndpointForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=80)])
    kind = SelectField("Sends", choices=[SelectChoice(k.value, k.label) for k in EndpointKind], default="webhook")
    url = StringField("Address (URL)", validators=[DataRequired("Enter the address."), Length(max=500)])
    secret = StringField("Signing secret", validators=[Optional(), Length(max=200)])
    events = SelectMultipleField(
        "Events",
        choices=[SelectChoice(name, f"{name}: {text}") for name, text in EVENTS.items()],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )
    allow_private = BooleanField("Allow a private or loopback address (a receiver inside the district's network)")

    def values(self) -> dict[str, Any]:
        return {name: self[name].data for name in ("name", "kind", "url", "secret", "events", "allow_private")}


def _index(form: EndpointForm | None = None, status: int = 200):
    form = form or EndpointForm(formdata=None)
    rows = [(e, deliveries.counts(e)) for e in endpoints.endpoints()]
    return render("webhooks/index.html", rows=rows, form=form, errors=form_errors(form), status=status)


@bp.get("")
@permission_required("webhooks.manage")
def index():
    return _index()


@bp.post("")
@permission_required("webhooks.manage")
def create():
    form = EndpointForm()
    ok, endpoint = submit(form, lambda: endpoints.create(form.values(), by=current_user, via=Via.web))
    if not ok or endpoint is None:
        return _index(form, 422)
    flash(f"Added {endpoint.name}.")
    return see_other(url_for("webhooks.detail", endpoint_id=endpoint.id, new=1))


def _detail(endpoint: WebhookEndpoint, form: EndpointForm | None = None, status: int = 200):
    form = form or EndpointForm(obj=endpoint, formdata=None, kind=endpoint.kind.value)
    if request.method == "GET":
        form.secret.data = ""
    return render(
        "webhooks/detail.html",
        "webhooks/_log.html",
        endpoint=endpoint,
        form=form,
        errors=form_errors(form),
        log=deliveries.log(endpoint),
        counts=deliveries.counts(endpoint),
        show_secret=request.args.get("new") == "1",
        status=status,
    )


@bp.route("/<int:endpoint_id>", methods=["GET", "POST"])
@permission_required("webhooks.manage")
def detail(endpoint_id: int):
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    if request.method == "GET":
        return _detail(endpoint)
    form = EndpointForm()
    ok, _ = submit(form, lambda: endpoints.update(endpoint, form.values(), by=current_user, via=Via.web))
    if not ok:
        return _detail(endpoint, form, 422)
    flash(f"Saved {endpoint.name}.")
    return see_other(url_for("webhooks.detail", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/<any(enable, disable):action>")
@permission_required("webhooks.manage")
def set_enabled(endpoint_id: int, action: str):
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    with committing():
        endpoints.set_enabled(endpoint, action == "enable", by=current_user, via=Via.web)
    flash(f"{endpoint.name} is {'on' if endpoint.enabled else 'off: nothing is sent to it'}.")
    return see_other(url_for("webhooks.detail", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/again")
@permission_required("webhooks.manage")
def send_again(endpoint_id: int, delivery_id: int):
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        abort(404)
    with committing() as outcome:
        deliveries.send_again(delivery, by=current_user, via=Via.web)
    if outcome.refused:
        flash(outcome.message)
        return _detail(endpoint, status=422)
    flash(f"Sending {delivery.event} again.")
    return see_other(url_for("webhooks.detail", endpoint_id=endpoint.id))


# --- what each event posts, for the OpenAPI spec's `webhooks` ---------------------------------------------------

CHANGE = {
    "type": "object",
    "description": "The recorded change behind the event: its action and the states before and after.",
    "properties": {
        "action": {"type": "string", "examples": ["ticket.status"]},
        "before": {"type": "object"},
        "after": {"type": "object"},
    },
}
TICKET = {
    "type": "object",
    "properties": {
        "number": {"type": "string", "examples": ["T-000123"]},
        "asset_tag": {"type": "string"},
        "category": {"type": "string"},
        "status": {"type": "string"},
        "source": {"type": "string", "enum": ["student_report", "staff"]},
        "campus": {"type": "string"},
    },
}
DATA: dict[str, dict[str, Any]] = {
    "ticket.created": {"ticket": TICKET, "change": CHANGE},
    "ticket.changed": {"ticket": TICKET, "change": CHANGE},
    "claim.changed": {
        "claim": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "status": {"type": "string"},
                "vendor": {"type": "string"},
                "rma": {"type": ["string", "null"]},
                "asset_tag": {"type": "string"},
                "ticket": {"type": "string"},
                "campus": {"type": "string"},
            },
        },
        "change": CHANGE,
    },
    "device.status_changed": {
        "device": {
            "type": "object",
            "properties": {"asset_tag": {"type": "string"}, "status": {"type": "string"}, "campus": {"type": "string"}},
        },
        "change": CHANGE,
    },
    "loan.overdue": {
        "loan": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "asset_tag": {"type": "string"},
                "campus": {"type": "string"},
                "checked_out_at": {"type": "string", "format": "date-time"},
                "due_at": {"type": "string", "format": "date-time"},
            },
        }
    },
    "audit.closed": {
        "audit": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "room": {"type": "string"},
                "campus": {"type": "string"},
                "expected": {"type": "integer"},
                "found": {"type": "integer"},
                "missing": {"type": "array", "items": {"type": "string"}, "description": "Asset tags"},
                "unexpected": {"type": "array", "items": {"type": "string"}, "description": "Asset tags"},
            },
        },
        "change": CHANGE,
    },
    "import.finished": {
        "import": {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "examples": ["snipeit", "google_admin", "roster", "vendor_status"]},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
        },
        "change": CHANGE,
    },
}
SIGNED = (
    "Sent as a POST with `X-Rollcall-Timestamp` (Unix seconds) and `X-Rollcall-Signature: sha256=HEX`, the "
    "HMAC-SHA256 of `timestamp + '.' + body` under the endpoint's secret; `X-Rollcall-Event` names the event and "
    "`X-Rollcall-Delivery` the event's id (the same when sent again). Any 2xx acknowledges it; anything else is "
    "tried again after 1, 2, 4 … minutes. Payloads carry ids, tags, statuses and counts, never a student's name. "
    "Chat endpoints (Slack, Teams, Google Chat) get one line of text in their own format instead."
)


def _webhook(event: str, description: str) -> dict[str, Any]:
    body = {
        "type": "object",
        "required": ["id", "type", "occurred_at", "data", "link"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "type": {"type": "string", "const": event},
            "occurred_at": {"type": "string", "format": "date-time"},
            "via": {"type": ["string", "null"], "enum": ["web", "api", "sync", "import", "cli", "public", None]},
            "data": {"type": "object", "properties": DATA[event]},
            "link": {"type": "string", "format": "uri", "description": "The record in Rollcall (ROLLCALL_BASE_URL)"},
        },
    }
    return {
        "post": {
            "summary": description,
            "description": SIGNED,
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"200": {"description": "Received (any 2xx)"}},
        }
    }


register_webhooks({event: _webhook(event, text) for event, text in EVENTS.items()})
