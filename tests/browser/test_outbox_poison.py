"""One event the server cannot take never blocks a phone's outbox: it is set aside with the server's reason, and the
events queued before and after it are applied exactly once. The server's answers are real ones from the app."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Observation
from tests import factories
from tests.browser.conftest import sign_in, wait_until
from tests.browser.test_offline import WORKER_ACTIVE

# Through the page's own outbox module (the same module instance scan.js uses), as the scan field would.
ENQUEUE = """async ([type, data]) => {
  const outbox = await import("/static/js/outbox.js");
  return (await outbox.enqueue(type, data)).id;
}"""
# Python's JSON reader gives up long before this depth; the browser writes it out without trouble.
ENQUEUE_DEEP = """async ([depth]) => {
  let inner = [];
  const nested = inner;
  for (let i = 1; i < depth; i++) { const next = []; inner.push(next); inner = next; }
  const outbox = await import("/static/js/outbox.js");
  return (await outbox.enqueue("scan", { tag: "LHS-1001", room: "LHS-101", extra: nested })).id;
}"""
# Events put straight into the outbox's store, without the flush enqueue schedules, so that the worker goes first.
STORE = """async ([depth, data]) => {
  if (depth) {
    let inner = [];
    data.extra = inner;
    for (let i = 1; i < depth; i++) { const next = []; inner.push(next); inner = next; }
  }
  const store = await import("/static/js/store.js");
  const id = crypto.randomUUID();
  await store.addEvent({ id, type: "scan", at: new Date().toISOString(), data, user: await store.getMeta("user") });
  return id;
}"""
DEPTH = 3000
REJECTED = """async () => (await (await import("/static/js/outbox.js")).rejectedList())
  .map((e) => ({ id: e.id, reason: e.reason }))"""


def scan(page, code: str) -> None:
    field = page.get_by_label("Tag, asset tag or serial")
    field.fill(code)
    field.press("Enter")
    expect(page.locator("#scan-log li").first).to_contain_text(code)


def observed(app) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Observation)).all()
        tags = sorted(o.asset.asset_tag for o in rows)
        db.session.remove()
        return tags


def server_says(app, email: str, raw: str) -> tuple[int, str]:
    """What the app itself answers this body: the status, and its reason (the JSON error's message, or the
    event's own reason if it takes the batch and refuses the event alone)."""
    client = app.test_client()  # sends the session's CSRF token, as the page does
    client.post("/login", data={"email": email, "password": factories.PASSWORD})
    resp = client.post("/api/v1/sync", data=raw, headers={"Content-Type": "application/json"})
    body = resp.get_json(silent=True) or {}
    if resp.status_code == 200:
        return 200, body["results"][0].get("reason", "")
    return resp.status_code, (body.get("error") or {}).get("message", "")


def poison_body(kind: str) -> str:
    """The poison event as the phone sends it, naming a tag no device has (should it ever be applied)."""
    event = {"id": str(uuid.uuid4()), "type": "scan", "at": "2025-01-01T00:00:00Z"}
    if kind == "too_big":
        event["data"] = {"tag": "PROBE-0000", "room": "LHS-101", "note": "x" * 1_100_000}
        return json.dumps({"client_id": "probe", "events": [event]})
    event["data"] = {"tag": "PROBE-0000", "room": "LHS-101", "extra": "NESTED"}
    return json.dumps({"client_id": "probe", "events": [event]}).replace('"NESTED"', "[" * DEPTH + "]" * DEPTH)


@pytest.mark.parametrize("kind", ["too_big", "too_deep"])
def test_a_poison_event_is_set_aside_and_the_rest_go_through(
    app, phone, phone_context, district, staff_user, monkeypatch, kind
):
    # The app as it runs in production: an unexpected error is its JSON 500, not the test server's traceback page.
    monkeypatch.setattr(app, "testing", False)
    email, password = staff_user("aide", "LHS")
    status, reason = server_says(app, email, poison_body(kind))
    # Today: 413 for the big one; the deep one is a 500 (or, once the server reads such a batch, its own answer).
    assert status == 413 if kind == "too_big" else status in (200, 400, 422, 500)
    assert reason

    sign_in(phone, email, password, next_path="/scan")
    phone.locator("#scan-room").select_option("LHS-101")
    phone_context.set_offline(True)
    scan(phone, "LHS-1000")
    if kind == "too_big":
        poison = phone.evaluate(ENQUEUE, ["scan", {"tag": "LHS-1001", "room": "LHS-101", "note": "x" * 1_100_000}])
    else:
        poison = phone.evaluate(ENQUEUE_DEEP, [DEPTH])
    scan(phone, "LHS-1001")
    badge = phone.locator("#pending-badge")
    expect(badge).to_have_text("3")
    # Offline is normal: trying to send without a signal sets nothing aside.
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(badge).to_have_text("3")
    assert phone.evaluate(REJECTED) == []

    phone_context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 60
    while len(observed(app)) < 2:
        assert time.monotonic() < deadline, "the events behind the poison one never reached the server"
        phone.wait_for_timeout(200)
    expect(badge).to_have_text("0", timeout=30_000)
    assert observed(app) == ["LHS-1000", "LHS-1001"]
    # Set aside on the phone with the server's own words, and shown on the page.
    assert wait_until(phone, REJECTED) == [{"id": poison, "reason": reason}]
    rejected = phone.locator("#rejected-list li")
    expect(rejected).to_have_count(1)
    expect(rejected.first).to_contain_text(reason)
    expect(phone.locator("#rejected")).to_be_visible()
    expect(phone.locator("#set-aside-banner")).to_contain_text(
        "The server could not take 1 thing recorded on this phone"
    )
    # Sent again later, nothing is applied twice.
    phone.reload()
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(badge).to_have_text("0")
    assert observed(app) == ["LHS-1000", "LHS-1001"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


QUEUE_MANY = """async ([count, data]) => {
  const outbox = await import("/static/js/outbox.js");
  for (let i = 0; i < count; i++) await outbox.enqueue("scan", data);
  return [outbox.MAX_REJECTED, outbox.REJECTED_WARN_AT];
}"""


def test_the_rejected_list_stays_bounded_and_says_what_it_dropped(app, phone, phone_context, district, staff_user):
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/scan")
    rejected = phone.locator("#rejected-list li")
    note = phone.locator("#rejected-trimmed")

    def refused_offline(count: int) -> tuple[int, int]:
        phone_context.set_offline(True)
        # Each refused by the server on its own: the room is not on this aide's campus.
        bounds = phone.evaluate(QUEUE_MANY, [count, {"tag": "JMS-2000", "room": "JMS-201"}])
        phone_context.set_offline(False)
        phone.evaluate("window.dispatchEvent(new Event('online'))")
        expect(phone.locator("#pending-badge")).to_have_text("0", timeout=30_000)
        return bounds

    # Nearly full: the list warns before anything is dropped.
    limit, warn_at = refused_offline(160)
    assert warn_at <= 160 < limit
    expect(rejected).to_have_count(160)
    expect(note).to_have_text(
        f"This phone keeps the newest {limit} of these (160 now): dismiss the ones you have dealt with, "
        "or the oldest are dropped first."
    )
    # Past the bound: the oldest go, and the list says how many.
    refused_offline(45)
    expect(rejected).to_have_count(limit)
    expect(rejected.first).to_contain_text("Room JMS-201 is not on your campuses")
    expect(note).to_have_text(f"This phone keeps the newest {limit}; {205 - limit} older ones were dropped.")
    assert observed(app) == []


# Flush from the page as soon as no other flush holds the outbox (the page's own `online` flush may be running).
FLUSH = """async () => {
  const outbox = await import("/static/js/outbox.js");
  for (;;) {
    const outcome = await outbox.flush();
    if (outcome.state !== "busy") return outcome.state;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}"""


def test_a_server_failing_on_everything_sets_nothing_aside(
    app, phone, phone_context, district, staff_user, monkeypatch
):
    monkeypatch.setattr(app, "testing", False)
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/scan")
    phone.locator("#scan-room").select_option("LHS-101")
    phone_context.set_offline(True)
    scan(phone, "LHS-1000")
    scan(phone, "LHS-1001")
    expect(phone.locator("#pending-badge")).to_have_text("2")
    # The server answers, but with its JSON 500 to every request: it cannot read who is signed in.
    with app.app_context():
        db.session.execute(sa.text("ALTER TABLE users RENAME TO users_away"))
        db.session.commit()
    try:
        phone_context.set_offline(False)
        assert phone.evaluate(FLUSH) == "error"
        assert phone.evaluate(REJECTED) == []
        expect(phone.locator("#pending-badge")).to_have_text("2")
    finally:
        with app.app_context():
            db.session.execute(sa.text("ALTER TABLE users_away RENAME TO users"))
            db.session.commit()
    assert phone.evaluate(FLUSH) == "idle"
    expect(phone.locator("#pending-badge")).to_have_text("0")
    assert observed(app) == ["LHS-1000", "LHS-1001"]
    assert phone.evaluate(REJECTED) == []


POISON_AT_COMMIT = """
CREATE FUNCTION rollcall_test_poison() RETURNS trigger AS $$
BEGIN
  IF NEW.note = 'POISON-AT-COMMIT' THEN RAISE EXCEPTION 'this scan cannot be stored'; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER rollcall_test_poison AFTER INSERT ON observations
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rollcall_test_poison();
"""
CURE = "DROP TRIGGER rollcall_test_poison ON observations; DROP FUNCTION rollcall_test_poison();"


def test_a_batch_the_server_fails_on_is_halved_and_the_event_at_fault_set_aside(
    app, phone, phone_context, district, staff_user, monkeypatch
):
    """The server takes the batch, then fails on it as a whole (its JSON 500): one event makes the commit fail."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("a constraint trigger checked at commit is PostgreSQL's")
        db.session.execute(sa.text(POISON_AT_COMMIT))
        db.session.commit()
    monkeypatch.setattr(app, "testing", False)
    try:
        email, password = staff_user("aide", "LHS")
        sign_in(phone, email, password, next_path="/scan")
        phone.locator("#scan-room").select_option("LHS-101")
        phone_context.set_offline(True)
        scan(phone, "LHS-1000")
        poison = phone.evaluate(ENQUEUE, ["scan", {"tag": "LHS-1001", "room": "LHS-101", "note": "POISON-AT-COMMIT"}])
        scan(phone, "LHS-1001")
        expect(phone.locator("#pending-badge")).to_have_text("3")
        phone_context.set_offline(False)
        phone.evaluate("window.dispatchEvent(new Event('online'))")
        expect(phone.locator("#pending-badge")).to_have_text("0", timeout=30_000)
        assert observed(app) == ["LHS-1000", "LHS-1001"]
        refused = phone.evaluate(REJECTED)
        assert [r["id"] for r in refused] == [poison]
        assert refused[0]["reason"] == "Something went wrong on our side. Nothing you entered was saved."
        expect(phone.locator("#rejected-list li")).to_contain_text(refused[0]["reason"])
    finally:
        with app.app_context():
            db.session.execute(sa.text(CURE))
            db.session.commit()


# Ask the browser for a Background Sync: the service worker flushes the outbox itself, at once when online.
WORKER_SYNC = """async () => {
  const reg = await navigator.serviceWorker.ready;
  await reg.sync.register("rollcall-outbox");
  return true;
}"""


def test_the_worker_never_holds_the_outbox_over_an_event_it_cannot_read(
    app, phone, phone_context, district, staff_user
):
    """A worker's smaller stack cannot copy the deep event out of IndexedDB; its flush must not hang holding the
    outbox's lock, which would leave every later flush 'busy' for ever."""
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/scan")
    wait_until(phone, WORKER_ACTIVE, timeout=60)
    # Queued without the page's own flush on each action (its timer waits a few seconds): the worker goes first.
    poison = phone.evaluate(STORE, [DEPTH, {"tag": "LHS-1001", "room": "LHS-101"}])
    phone.evaluate(STORE, [0, {"tag": "LHS-1000", "room": "LHS-101"}])
    assert phone.evaluate(WORKER_SYNC)
    # Whoever flushes first, the page gets its turn and everything is dealt with.
    wait_until(phone, "import('/static/js/outbox.js').then((m) => m.flush()).then((o) => o.state === 'idle')", 30)
    expect(phone.locator("#pending-badge")).to_have_text("0")
    assert observed(app) == ["LHS-1000"]
    assert [r["id"] for r in phone.evaluate(REJECTED)] == [poison]
