"""Webhooks out and chat notices: `events` says which recorded activity is which event and what it sends,
`endpoints` keeps the addresses admins register, `deliveries` fans events out, sends, retries and logs.
The job queue (app.jobs.webhooks) turns committed activity into deliveries and runs each attempt."""

from __future__ import annotations

from app.services.webhooks import deliveries, endpoints, events
from app.services.webhooks.events import EVENTS

__all__ = ["EVENTS", "deliveries", "endpoints", "events"]
