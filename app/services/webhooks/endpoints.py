"""Webhook endpoints an admin keeps: register (URL, secret, events, kind), change, enable and disable."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.integrations import webhooks as http
from app.models import EndpointKind, User, Via, WebhookEndpoint
from app.services import activity
from app.services.errors import Invalid
from app.services.webhooks.events import EVENTS

# Environments where plain http and private addresses are the norm (a receiver on the same machine).
LOCAL_ENVS = ("development", "demo", "test")
YES = ("1", "true", "yes", "on")
LOGGED = ("name", "kind", "url", "events", "enabled", "allow_private")


def strict() -> bool:
    """Production rules: https only, and no private or loopback address unless allowed."""
    return current_app.config.get("ENV_NAME", "production") not in LOCAL_ENVS


def private_allowed(endpoint: WebhookEndpoint) -> bool:
    """An admin allowed a private address for this endpoint, the district allows them everywhere, or this is a
    developer's machine."""
    everywhere = str(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE") or "").strip().lower() in YES
    return endpoint.allow_private or everywhere or not strict()


def check(endpoint: WebhookEndpoint) -> None:
    """Refuse (http.Refused) an endpoint whose address may not be posted to now; resolves its host."""
    http.check_url(endpoint.url, https_only=strict(), allow_private=private_allowed(endpoint))


def endpoints() -> list[WebhookEndpoint]:
    """Every endpoint, enabled ones first, by name."""
    return list(
        db.session.scalars(
            sa.select(WebhookEndpoint).order_by(WebhookEndpoint.enabled.desc(), sa.func.lower(WebhookEndpoint.name))
        )
    )


def listening() -> list[WebhookEndpoint]:
    """The enabled endpoints (each hears the events it names)."""
    return list(db.session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))))


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    name = str(values.get("name") or "").strip()
    url = str(values.get("url") or "").strip()
    if not name or len(name) > 80:
        raise Invalid("Enter a name of at most 80 characters.", field="name")
    try:
        kind = EndpointKind(values.get("kind") or "webhook")
    except ValueError:
        raise Invalid("Choose what the address is.", field="kind") from None
    if not url or len(url) > 500:
        raise Invalid("Enter the address (at most 500 characters).", field="url")
    chosen = [e for e in values.get("events") or [] if e]
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise Invalid(f"No such event: {', '.join(unknown)[:100]}.", field="events")
    if not chosen:
        raise Invalid("Choose at least one event.", field="events")
    clean = {
        "name": name,
        "kind": kind,
        "url": url,
        "events": [e for e in EVENTS if e in chosen],
        "allow_private": bool(values.get("allow_private")),
    }
    probe = WebhookEndpoint(url=url, allow_private=clean["allow_private"])
    try:
        check(probe)
    except http.Refused as exc:
        raise Invalid(str(exc), field="url") from exc
    return clean


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(24)


def create(values: dict[str, Any], *, by: User, via: Via) -> WebhookEndpoint:
    """Register an endpoint; a signed-JSON one without a secret given gets a random one."""
    clean = _clean(values)
    secret = str(values.get("secret") or "").strip()[:200]
    if clean["kind"] is EndpointKind.webhook and not secret:
        secret = new_secret()
    endpoint = WebhookEndpoint(**clean, secret=secret, enabled=True, created_by_id=by.id)
    db.session.add(endpoint)
    db.session.flush()
    after = activity.snapshot(endpoint, LOGGED)
    activity.record("webhook.create", f"Added webhook {endpoint.name}", by=by, via=via, subject=endpoint, after=after)
    return endpoint


def update(endpoint: WebhookEndpoint, values: dict[str, Any], *, by: User, via: Via) -> WebhookEndpoint:
    """Change an endpoint; a blank secret keeps the one it has."""
    clean = _clean(values)
    before, after = activity.apply(endpoint, clean, LOGGED)
    secret = str(values.get("secret") or "").strip()[:200]
    if secret and secret != endpoint.secret:
        endpoint.secret = secret
        after["secret"] = "changed"
    if after:
        db.session.flush()
        activity.record(
            "webhook.update",
            f"Changed webhook {endpoint.name}",
            by=by,
            via=via,
            subject=endpoint,
            before=before,
            after=after,
        )
    return endpoint


def set_enabled(endpoint: WebhookEndpoint, enabled: bool, *, by: User, via: Via) -> None:
    """Turn an endpoint on or off; an endpoint that is off is sent nothing (nothing is kept for it either)."""
    if endpoint.enabled == enabled:
        return
    endpoint.enabled = enabled
    db.session.flush()
    activity.record(
        "webhook.enable" if enabled else "webhook.disable",
        f"{'Enabled' if enabled else 'Disabled'} webhook {endpoint.name}",
        by=by,
        via=via,
        subject=endpoint,
        before={"enabled": not enabled},
        after={"enabled": enabled},
    )
