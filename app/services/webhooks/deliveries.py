"""Deliveries: an event fanned out to the endpoints that hear it, each attempt made and logged, failures tried
again with exponential backoff until one succeeds or the attempts run out, and "send again" from the log."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.integrations import chat
from app.integrations import webhooks as http
from app.models import Activity, DeliveryStatus, EndpointKind, User, Via, WebhookDelivery, WebhookEndpoint, utcnow
from app.services import activity
from app.services.errors import Invalid
from app.services.webhooks.endpoints import listening, private_allowed, strict
from app.services.webhooks.events import chat_text, payloads_for

# First wait after a failed attempt; each later wait doubles it (1, 2, 4 … minutes).
FIRST_BACKOFF = timedelta(minutes=1)
ATTEMPTS = 8
TIMEOUT = 10.0
LOG_PAGE = 100


def attempts_allowed() -> int:
    return int(current_app.config.get("WEBHOOK_ATTEMPTS") or ATTEMPTS)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return FIRST_BACKOFF * (2 ** max(attempts - 1, 0))


def fan_out(
    payloads: Iterable[dict[str, Any]], endpoints: list[WebhookEndpoint] | None = None
) -> list[WebhookDelivery]:
    """A pending delivery of each event to each enabled endpoint that hears it (none for a disabled one)."""
    targets = listening() if endpoints is None else endpoints
    made = []
    for payload in payloads:
        for endpoint in targets:
            if endpoint.hears(payload["type"]):
                made.append(
                    WebhookDelivery(
                        endpoint=endpoint,
                        event_id=payload["id"],
                        event=payload["type"],
                        payload=payload,
                        status=DeliveryStatus.pending,
                        next_attempt_at=utcnow(),
                    )
                )
    db.session.add_all(made)
    db.session.flush()
    return made


def from_activity(entries: Iterable[Activity]) -> list[WebhookDelivery]:
    """Deliveries for the events among these activity entries (those still in the database)."""
    endpoints = listening()
    if not endpoints:
        return []
    payloads = [p for e in entries for p in payloads_for(e)]
    return fan_out(payloads, endpoints) if payloads else []


def body_for(delivery: WebhookDelivery) -> bytes:
    """What is posted: the event's JSON, or for a chat endpoint the chat service's message about it."""
    endpoint = delivery.endpoint
    if endpoint.kind is EndpointKind.webhook:
        document = delivery.payload
    else:
        document = chat.message(endpoint.kind.value, chat_text(delivery.payload), delivery.payload.get("link", ""))
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to; `retry_at` is when to try again (None: delivered, or given up)."""

    status: DeliveryStatus
    response_code: int | None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class Outgoing:
    """Everything one attempt needs, read from the database beforehand, so no transaction (on SQLite, no write
    lock) stays open while the far end takes its time to answer."""

    delivery_id: int
    url: str
    body: bytes
    secret: str
    headers: dict[str, str]
    https_only: bool
    allow_private: bool
    timeout: float


def outgoing(delivery: WebhookDelivery) -> Outgoing | None:
    """What to send for a pending delivery to an enabled endpoint; None when there is nothing to send."""
    endpoint = delivery.endpoint
    if delivery.status is not DeliveryStatus.pending or not endpoint.enabled:
        return None
    return Outgoing(
        delivery_id=delivery.id,
        url=endpoint.url,
        body=body_for(delivery),
        secret=endpoint.secret if endpoint.kind is EndpointKind.webhook else "",
        headers={http.EVENT_HEADER: delivery.event, http.DELIVERY_HEADER: delivery.event_id},
        https_only=strict(),
        allow_private=private_allowed(endpoint),
        timeout=float(current_app.config.get("WEBHOOK_TIMEOUT") or TIMEOUT),
    )


def send(out: Outgoing, *, now: datetime) -> http.Outcome:
    """One POST, the address checked first (its host resolved again now); touches no database."""
    try:
        http.check_url(out.url, https_only=out.https_only, allow_private=out.allow_private)
    except http.Refused as exc:
        return http.Outcome(None, f"Refused: {exc}", refused=True)
    return http.post(
        out.url, out.body, secret=out.secret, headers=out.headers, timeout=out.timeout, now=now.timestamp()
    )


def record(delivery: WebhookDelivery, outcome: http.Outcome | None, *, now: datetime) -> Attempt:
    """Log how an attempt went (None: it was not made): delivered on 2xx; otherwise tried again after a doubling
    wait, or failed with the reason once the attempts run out (a refused address is never tried again)."""
    if delivery.status is not DeliveryStatus.pending:
        return Attempt(delivery.status, delivery.response_code)
    delivery.last_attempt_at = now
    if outcome is None or not delivery.endpoint.enabled:
        return _give_up(delivery, "The endpoint was disabled before this was sent.")
    delivery.attempts += 1
    delivery.response_code = outcome.status
    if outcome.refused:
        return _give_up(delivery, outcome.error)
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.error = DeliveryStatus.delivered, now, None
        delivery.next_attempt_at = None
        return Attempt(delivery.status, outcome.status)
    if delivery.attempts >= attempts_allowed():
        return _give_up(delivery, f"Gave up after {delivery.attempts} attempts. Last: {outcome.error}")
    delivery.error = outcome.error[:500]
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    return Attempt(delivery.status, outcome.status, delivery.next_attempt_at)


def _give_up(delivery: WebhookDelivery, reason: str) -> Attempt:
    delivery.status, delivery.error, delivery.next_attempt_at = DeliveryStatus.failed, reason[:500], None
    current_app.logger.warning("webhook delivery %s to %s failed: %s", delivery.id, delivery.endpoint.url, reason)
    return Attempt(delivery.status, delivery.response_code)


def send_again(delivery: WebhookDelivery, *, by: User, via: Via) -> WebhookDelivery:
    """A new delivery of the same event (same event id) to the same endpoint, from the first attempt."""
    if not delivery.endpoint.enabled:
        raise Invalid("Enable the endpoint before sending to it again.", field="delivery")
    again = WebhookDelivery(
        endpoint=delivery.endpoint,
        event_id=delivery.event_id,
        event=delivery.event,
        payload=delivery.payload,
        status=DeliveryStatus.pending,
        next_attempt_at=utcnow(),
        resend_of_id=delivery.id,
    )
    db.session.add(again)
    db.session.flush()
    activity.record(
        "webhook.resend",
        f"Sent {delivery.event} again to webhook {delivery.endpoint.name}",
        by=by,
        via=via,
        subject=delivery.endpoint,
        after={"delivery": delivery.id, "event_id": delivery.event_id},
    )
    return again


def log(endpoint: WebhookEndpoint, *, limit: int = LOG_PAGE) -> list[WebhookDelivery]:
    """An endpoint's newest deliveries first."""
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def counts(endpoint: WebhookEndpoint) -> dict[str, int]:
    """How many of an endpoint's deliveries are pending, delivered and failed."""
    rows = db.session.execute(
        sa.select(WebhookDelivery.status, sa.func.count())
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .group_by(WebhookDelivery.status)
    )
    found = {status.value: n for status, n in rows}
    return {s.value: found.get(s.value, 0) for s in DeliveryStatus}
