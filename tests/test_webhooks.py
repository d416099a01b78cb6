"""Webhooks out: signed deliveries to a real local receiver, retries with backoff on 500 until a 2xx, the delivery
log, disabled endpoints, the production address rules, chat formats and what a payload leaves out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.integrations import webhooks as http
from app.jobs.core import queue
from app.models import (
    DeliveryStatus,
    Job,
    Role,
    TicketCategory,
    TicketStatus,
    Via,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from app.services import tickets as ticket_service
from app.services.errors import Invalid
from app.services.webhooks import deliveries, endpoints
from tests import factories
from tests.repairs_world import make_shop
from tests.webhook_receiver import receiver

SECRET = "whsec_test_secret"


@pytest.fixture
def shop(ctx):
    world = make_shop()
    world["admin"] = factories.make_user(Role.admin)
    # The tech has the ticket already, so a status change is one event (not also "now assigned").
    ticket_service.assign(world["ticket"], world["tech"], by=world["tech"], via=Via.web)
    db.session.commit()
    return world


@pytest.fixture
def hook():
    with receiver() as r:
        yield r


def _endpoint(shop, url: str, events=("ticket.created", "ticket.changed"), **values) -> WebhookEndpoint:
    endpoint = endpoints.create(
        {"name": values.pop("name", "Help desk"), "url": url, "events": list(events), "secret": SECRET, **values},
        by=shop["admin"],
        via=Via.web,
    )
    db.session.commit()
    return endpoint


def _deliveries(endpoint_id: int, action: str | None = None) -> list[WebhookDelivery]:
    """An endpoint's deliveries, oldest first; only those of one recorded action when named."""
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.id)
    )
    return [d for d in rows if action is None or d.payload["data"]["change"]["action"] == action]


def _run_due_retries(app) -> int:
    """Run what the queue holds for later, as the worker would once each backoff ends; how many it ran."""
    db.session.rollback()  # the worker's transactions must not wait behind this test's
    huey = queue(app).huey
    far = datetime.utcnow().replace(microsecond=0) + timedelta(days=400)  # noqa: DTZ003 (huey's schedule is naive UTC)
    tasks = huey.read_schedule(far)
    for task in tasks:
        huey.execute(task, timestamp=far)
    return len(tasks)


def _report(shop):
    ticket, _token = ticket_service.file_student_report(
        shop["device"],
        category=TicketCategory.cracked_screen,
        description="Dropped it on the stairs",
        reporter=ticket_service.Reporter(name="Zoe Martinez", student_id="LHS100001", email="zoe@students.example"),
    )
    db.session.commit()
    return ticket


def test_a_ticket_event_arrives_signed_and_is_logged(app, shop, hook):
    endpoint = _endpoint(shop, hook.url)
    ticket = _report(shop)
    assert len(hook.requests) == 1
    got = hook.requests[0]
    stamp, sig = got.headers["X-Rollcall-Timestamp"], got.headers["X-Rollcall-Signature"]
    assert sig.startswith("sha256=") and http.verify(SECRET, stamp, got.body, sig)
    assert not http.verify("another secret", stamp, got.body, sig)
    assert not http.verify(SECRET, str(int(stamp) + 1), got.body, sig)
    body = json.loads(got.body)
    assert body["type"] == "ticket.created" and got.headers["X-Rollcall-Event"] == "ticket.created"
    assert body["data"]["ticket"] == {
        "number": ticket.number,
        "asset_tag": "LHS-1000",
        "category": "cracked_screen",
        "status": "new",
        "source": "student_report",
        "campus": "LHS",
    }
    assert body["link"] == f"http://rollcall.test/tickets/{ticket.number}"
    # Only what the event needs: the student's name, ID and email stay in Rollcall.
    for secret_word in ("Zoe", "LHS100001", "zoe@", "stairs"):
        assert secret_word not in got.body.decode()
    [delivery] = _deliveries(endpoint.id)
    assert delivery.status is DeliveryStatus.delivered and delivery.response_code == 200
    assert delivery.attempts == 1 and delivery.delivered_at is not None and delivery.event_id == body["id"]


def test_a_500_is_tried_again_with_backoff_until_it_succeeds(app, shop, hook):
    endpoint = _endpoint(shop, hook.url)
    hook.answer(500, 503)
    ticket_service.change_status(shop["ticket"], TicketStatus.triaged, by=shop["tech"], via=Via.web)
    db.session.commit()
    [delivery] = _deliveries(endpoint.id)
    assert delivery.status is DeliveryStatus.pending and delivery.attempts == 1 and delivery.response_code == 500
    first_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert first_wait == deliveries.FIRST_BACKOFF
    assert _run_due_retries(app) >= 1
    [delivery] = _deliveries(endpoint.id)
    assert delivery.attempts == 2 and delivery.response_code == 503
    assert delivery.next_attempt_at - delivery.last_attempt_at == 2 * first_wait
    _run_due_retries(app)
    [delivery] = _deliveries(endpoint.id)
    assert delivery.status is DeliveryStatus.delivered and delivery.attempts == 3 and delivery.response_code == 200
    assert len(hook.requests) == 3
    # The same event each time: one id, signed afresh.
    assert len({json.loads(r.body)["id"] for r in hook.requests}) == 1
    # Delivered: nothing more is waiting, and nothing more is sent.
    _run_due_retries(app)
    assert len(hook.requests) == 3


def test_it_gives_up_after_the_last_attempt_with_the_reason(app, shop, hook, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ATTEMPTS", 2)
    endpoint = _endpoint(shop, hook.url)
    hook.answer(500, 500)
    ticket_service.change_status(shop["ticket"], TicketStatus.triaged, by=shop["tech"], via=Via.web)
    db.session.commit()
    _run_due_retries(app)
    [delivery] = _deliveries(endpoint.id)
    assert delivery.status is DeliveryStatus.failed and delivery.attempts == 2
    assert "Gave up after 2 attempts" in delivery.error and "500" in delivery.error
    _run_due_retries(app)
    assert len(hook.requests) == 2
    # "Send again" makes a new delivery of the same event, which goes through now.
    again = deliveries.send_again(delivery, by=shop["admin"], via=Via.web)
    db.session.commit()
    rows = _deliveries(endpoint.id)
    assert [d.status for d in rows] == [DeliveryStatus.failed, DeliveryStatus.delivered]
    assert rows[1].id == again.id and rows[1].resend_of_id == delivery.id and rows[1].event_id == delivery.event_id


def test_a_disabled_endpoint_gets_nothing(app, shop, hook):
    endpoint = _endpoint(shop, hook.url)
    other = _endpoint(shop, hook.url.replace("/hook", "/other"), name="Other")
    endpoints.set_enabled(endpoint, False, by=shop["admin"], via=Via.web)
    db.session.commit()
    _report(shop)
    assert [r.path for r in hook.requests] == ["/other"]
    assert _deliveries(endpoint.id) == [] and len(_deliveries(other.id)) == 1


def test_an_endpoint_hears_only_its_events(app, shop, hook):
    endpoint = _endpoint(shop, hook.url, events=("ticket.changed",))
    _report(shop)
    assert hook.requests == [] and _deliveries(endpoint.id) == []


def test_a_change_that_rolls_back_sends_nothing(app, shop, hook):
    endpoint = _endpoint(shop, hook.url)
    ticket_service.change_status(shop["ticket"], TicketStatus.triaged, by=shop["tech"], via=Via.web)
    db.session.rollback()
    ticket_service.comment(shop["ticket"], "A comment is no event", by=shop["tech"], via=Via.web)
    db.session.commit()
    assert hook.requests == [] and _deliveries(endpoint.id) == []


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://hooks.example.org/x", "Only https://"),
        ("https://127.0.0.1/hook", "private or loopback"),
        ("https://localhost/hook", "private or loopback"),
        ("https://[::1]/hook", "private or loopback"),
        ("https://10.1.2.3/hook", "private or loopback"),
        ("https://169.254.169.254/latest", "private or loopback"),
        ("ftp://hooks.example.org/x", "must start with https://"),
    ],
)
def test_production_refuses_plain_http_and_private_addresses(app, shop, monkeypatch, url, message):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    with pytest.raises(Invalid, match=message) as refused:
        endpoints.create({"name": "x", "url": url, "events": ["ticket.created"]}, by=shop["admin"], via=Via.web)
    assert refused.value.field == "url"


def test_an_admin_may_allow_a_private_address(app, shop, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    values = {"name": "Inside", "url": "https://127.0.0.1/hook", "events": ["ticket.created"], "allow_private": True}
    endpoint = endpoints.create(values, by=shop["admin"], via=Via.web)
    assert endpoint.allow_private and endpoint.secret.startswith("whsec_")
    http.check_url("https://127.0.0.1/", https_only=True, allow_private=True)


def test_a_private_address_is_refused_at_send_time_under_production(app, shop, hook, monkeypatch):
    endpoint = _endpoint(shop, hook.url)
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    _report(shop)
    [delivery] = _deliveries(endpoint.id)
    assert delivery.status is DeliveryStatus.failed and delivery.error.startswith("Refused")
    assert hook.requests == []
    assert _run_due_retries(app) == 0 or hook.requests == []


def test_slack_teams_and_google_chat_get_their_own_formats(app, shop, hook):
    for kind in ("slack", "teams", "google_chat"):
        endpoints.create(
            {"name": kind, "kind": kind, "url": f"{hook.url}/{kind}", "events": ["ticket.created"]},
            by=shop["admin"],
            via=Via.web,
        )
    db.session.commit()
    ticket = _report(shop)
    bodies = {r.path.rsplit("/", 1)[1]: json.loads(r.body) for r in hook.requests}
    line = f"New student report {ticket.number} · LHS-1000 · cracked screen"
    link = f"http://rollcall.test/tickets/{ticket.number}"
    assert bodies["slack"] == {"text": f"{line} <{link}|Open in Rollcall>"}
    assert bodies["google_chat"] == {"text": f"{line} <{link}|Open in Rollcall>"}
    teams = bodies["teams"]
    assert teams["@type"] == "MessageCard" and teams["text"] == line
    assert teams["potentialAction"][0]["targets"][0]["uri"] == link
    # Chat services take no signature.
    assert all("X-Rollcall-Signature" not in r.headers for r in hook.requests)


def test_device_status_and_claim_events(app, shop, hook):
    from app.services import warranty

    endpoint = _endpoint(shop, hook.url, events=("claim.changed", "device.status_changed"))
    claim = warranty.open_claim(shop["ticket"], by=shop["tech"], via=Via.web)
    db.session.commit()
    types = sorted(json.loads(r.body)["type"] for r in hook.requests)
    assert types == ["claim.changed", "device.status_changed"]
    by_type = {json.loads(r.body)["type"]: json.loads(r.body) for r in hook.requests}
    assert by_type["claim.changed"]["data"]["claim"]["id"] == claim.id
    assert by_type["claim.changed"]["data"]["claim"]["status"] == "submitted"
    device = by_type["device.status_changed"]["data"]
    assert device["device"]["asset_tag"] == "LHS-1000" and device["device"]["status"] == "in_repair"
    assert device["change"]["before"] == {"status": "deployed"}
    assert len(_deliveries(endpoint.id)) == 2


def test_loan_overdue_is_sent_at_the_due_time_if_still_out(app, shop, hook):
    from app.models import Loan
    from app.services import loans as loan_service

    endpoint = _endpoint(shop, hook.url, events=("loan.overdue",))
    loaner = shop["loaners"][0]
    loan_service.check_out(loaner, shop["other"], by=shop["tech"], due=utcnow() + timedelta(days=2), via=Via.web)
    db.session.commit()
    assert hook.requests == []
    loan = db.session.scalar(sa.select(Loan).where(Loan.asset_id == loaner.id))
    loan.due_at = loan.checked_out_at - timedelta(minutes=1)  # the due time has come
    db.session.commit()
    assert _run_due_retries(app) >= 1
    [got] = hook.requests
    body = json.loads(got.body)
    assert body["type"] == "loan.overdue" and body["data"]["loan"]["asset_tag"] == loaner.asset_tag
    assert "Ava" not in got.body.decode() and "LHS100002" not in got.body.decode()
    assert len(_deliveries(endpoint.id)) == 1


def test_deliveries_are_jobs_on_the_queue(app, shop, hook):
    _endpoint(shop, hook.url)
    _report(shop)
    kinds = db.session.scalars(sa.select(Job.kind).where(Job.kind == "webhook.deliver")).all()
    assert kinds == ["webhook.deliver"]


@pytest.mark.parametrize("setting, allowed", [("1", True), ("true", True), ("0", False), ("", False)])
def test_the_district_setting_allows_private_addresses_everywhere(app, shop, monkeypatch, setting, allowed):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", setting)
    endpoint = WebhookEndpoint(url="https://127.0.0.1/hook", allow_private=False)
    if allowed:
        endpoints.check(endpoint)
    else:
        with pytest.raises(http.Refused):
            endpoints.check(endpoint)


@pytest.mark.parametrize(
    "action, via, before, after, expected",
    [
        ("asset.update", Via.web, {"status": "deployed"}, {"status": "retired"}, ["device.status_changed"]),
        ("asset.update", Via.import_, {"status": "deployed"}, {"status": "retired"}, []),  # told by import.finished
        ("asset.update", Via.web, {"notes": "a"}, {"notes": "b"}, []),
        (
            "repair.take_in",
            Via.web,
            {"status": "deployed"},
            {"status": "in_repair"},
            ["ticket.changed", "device.status_changed"],
        ),
        ("ticket.status", Via.web, {"status": "new"}, {"status": "in_repair"}, ["ticket.changed"]),
        ("claim.ship_back", Via.api, {"status": "repaired"}, {"status": "shipped_back"}, ["claim.changed"]),
        ("ticket.comment", Via.web, None, None, []),
        ("import.snipeit", Via.import_, None, {"created": 3}, ["import.finished"]),
    ],
)
def test_which_recorded_changes_are_which_events(action, via, before, after, expected):
    from app.models import Activity
    from app.services.webhooks.events import events_for

    entry = Activity(action=action, via=via, asset_id=1, before=before, after=after, summary="")
    assert events_for(entry) == expected
