"""Webhook jobs: committed activity becomes deliveries, each delivery attempt is a `webhook.deliver` job, and a
failed attempt's next try is a job scheduled for when its backoff ends. A loan lent while someone listens for
`loan.overdue` gets a `webhook.loan_due` job at its due time, which raises the event if the device is still out.

Deliveries are made in the same transaction as the change they report (just before it commits), so a change that
rolls back sends nothing and one that commits is never lost; their jobs are queued once it has committed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.jobs.core import Context, handler, queue, submit
from app.models import Activity, DeliveryStatus, Job, JobStatus, Loan, WebhookDelivery, utcnow
from app.services.webhooks import deliveries
from app.services.webhooks.endpoints import listening
from app.services.webhooks.events import events_for, overdue_payload

log = logging.getLogger(__name__)

DELIVER = "webhook.deliver"
LOAN_DUE = "webhook.loan_due"
SEEN = "rollcall.webhooks.seen"
NEW = "rollcall.webhooks.new"
LATER = "rollcall.webhooks.later"


def init_app(app: Flask) -> None:
    """Watch every transaction for events and new deliveries; schedule retries once their transaction commits."""
    for name, fn in (("after_flush", _collect), ("before_commit", _before_commit), ("after_commit", _schedule)):
        if not sa.event.contains(db.session, name, fn):
            sa.event.listen(db.session, name, fn)
    if not sa.event.contains(db.session, "after_soft_rollback", _forget):
        sa.event.listen(db.session, "after_soft_rollback", _forget)


def _collect(session: Any, _flush_context: Any) -> None:
    for obj in session.new:
        if isinstance(obj, Activity) and (obj.action == "loan.checkout" or events_for(obj)):
            session.info.setdefault(SEEN, []).append(obj)
        elif isinstance(obj, WebhookDelivery):
            session.info.setdefault(NEW, []).append(obj)


def _before_commit(session: Any) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release; the transaction's own commit comes later
    seen = session.info.pop(SEEN, None)
    if seen:
        try:
            # A fault here must not cost the change itself: the savepoint takes back only what this made.
            with session.begin_nested():
                live = [a for a in seen if sa.inspect(a).persistent]
                deliveries.from_activity([a for a in live if a.action != "loan.checkout"])
                _watch_loans([a for a in live if a.action == "loan.checkout"])
        except Exception:
            log.exception("webhook deliveries could not be made for %d activity entries", len(seen))
    made = session.info.pop(NEW, None)
    for delivery in made or []:
        if sa.inspect(delivery).persistent and delivery.status is DeliveryStatus.pending:
            submit(DELIVER, by=None, subject=subject(delivery), params={"delivery": delivery.id})


def _schedule(session: Any) -> None:
    later = session.info.pop(LATER, None)
    if later:
        run_job = queue().run_job
        for job_id, eta in later:
            run_job.schedule(args=(job_id,), eta=eta.astimezone(UTC).replace(tzinfo=None))


def _forget(session: Any, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        for key in (SEEN, NEW, LATER):
            session.info.pop(key, None)


def subject(delivery: WebhookDelivery) -> str:
    return f"webhook_delivery:{delivery.id}"


def later(kind: str, *, subject: str, params: dict[str, Any], at: datetime) -> Job:
    """A job to run at `at` (queued once this transaction commits, to start when the time comes)."""
    job = Job(kind=kind, status=JobStatus.queued, subject=subject, params=params, created_at=utcnow())
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(LATER, []).append((job.id, at))
    return job


def _watch_loans(checkouts: list[Activity]) -> None:
    if not checkouts or not any(e.hears("loan.overdue") for e in listening()):
        return
    for entry in checkouts:
        loan = db.session.get(Loan, entry.subject_id) if entry.subject_type == "loans" else None
        if loan is not None:
            later(LOAN_DUE, subject=f"loan:{loan.id}", params={"loan": loan.id}, at=loan.due_at)


@handler(DELIVER)
def deliver(ctx: Context) -> dict[str, Any]:
    """One attempt at one delivery; a failure to be tried again schedules the next attempt."""
    delivery_id = ctx.params.get("delivery")
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return {"delivery": None}
    out = deliveries.outgoing(delivery)
    outcome = None
    if out is not None:
        # Nothing is written yet: end the read so no lock is held while the far end answers.
        db.session.rollback()
        outcome = deliveries.send(out, now=utcnow())
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return {"delivery": None}
    result = deliveries.record(delivery, outcome, now=utcnow())
    if result.retry_at is not None:
        later(DELIVER, subject=subject(delivery), params={"delivery": delivery.id}, at=result.retry_at)
    return {"delivery": delivery.id, "status": result.status.value, "response_code": result.response_code}


@handler(LOAN_DUE)
def loan_due(ctx: Context) -> dict[str, Any]:
    """At a loan's due time: still out means `loan.overdue`; a due date moved later waits for the new one."""
    loan = db.session.get(Loan, ctx.params.get("loan"))
    if loan is None or loan.returned_at is not None:
        return {"loan": ctx.params.get("loan"), "overdue": False}
    if loan.due_at > utcnow():
        later(LOAN_DUE, subject=f"loan:{loan.id}", params={"loan": loan.id}, at=loan.due_at)
        return {"loan": loan.id, "overdue": False}
    made = deliveries.fan_out([overdue_payload(loan)])
    return {"loan": loan.id, "overdue": True, "deliveries": len(made)}
