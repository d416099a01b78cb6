"""The answers of POST /api/v1/sync that the phone's outbox acts on differently: sign in again, set aside, or try
again later."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import Observation, Role, SyncEvent


def test_a_sync_with_a_stale_csrf_token_says_so_in_its_own_code(client, district, login_as):
    """The outbox reads this code as "sign in again" (keep everything), unlike a batch the server cannot read."""
    login_as(Role.aide, "LHS")
    resp = client.post("/api/v1/sync", json={"client_id": "x", "events": []}, csrf=False)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "csrf"
    unreadable = client.post("/api/v1/sync", data="{", headers={"Content-Type": "application/json"})
    assert unreadable.status_code in (400, 422)
    assert unreadable.get_json()["error"]["code"] != "csrf"


FAIL_NOTE = "FAIL-FOR-NOW"
_SQLITE_FAIL = [
    f"""CREATE TRIGGER rollcall_test_fail BEFORE INSERT ON observations WHEN NEW.note = '{FAIL_NOTE}'
    BEGIN SELECT RAISE(ABORT, 'this scan cannot be stored now'); END"""
]
_SQLITE_CURE = ["DROP TRIGGER rollcall_test_fail"]
_PG_FAIL = [
    f"""CREATE FUNCTION rollcall_test_fail() RETURNS trigger AS $$
    BEGIN
      IF NEW.note = '{FAIL_NOTE}' THEN RAISE EXCEPTION 'this scan cannot be stored now'; END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER rollcall_test_fail BEFORE INSERT ON observations
    FOR EACH ROW EXECUTE FUNCTION rollcall_test_fail()""",
]
_PG_CURE = ["DROP TRIGGER rollcall_test_fail ON observations", "DROP FUNCTION rollcall_test_fail()"]


@contextmanager
def failing_scans(app) -> Iterator[Callable[[], None]]:
    """The database will not store a scan whose note is FAIL_NOTE: an error the server does not expect, like a fault
    in its own code or database. Yields a cure (also run on the way out)."""
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        for statement in _PG_FAIL if postgres else _SQLITE_FAIL:
            db.session.execute(sa.text(statement))
        db.session.commit()
    cured = False

    def cure() -> None:
        nonlocal cured
        if cured:
            return
        with app.app_context():
            for statement in _PG_CURE if postgres else _SQLITE_CURE:
                db.session.execute(sa.text(statement))
            db.session.commit()
        cured = True

    try:
        yield cure
    finally:
        cure()


def test_an_event_the_server_fails_on_says_it_will_be_tried_again(app, client, aide_token):
    """The promise in the reason is true: the answer says `retry`, nothing of the event is kept, and sent again once
    the fault has passed it is applied (not answered as a duplicate)."""
    good, failing = _scan("LHS-1000"), _scan("LHS-1001", note=FAIL_NOTE)
    with failing_scans(app) as cure:
        resp = client.post("/api/v1/sync", json={"events": [good, failing]}, headers=_bearer(aide_token))
        assert resp.status_code == 200
        first, second = resp.get_json()["results"]
        assert first["status"] == "applied" and "retry" not in (first.get("info") or {})
        assert second == {
            "id": failing["id"],
            "status": "rejected",
            "reason": "The server could not apply this event; it will be tried again later.",
            "info": {"retry": True},
        }
        with app.app_context():
            assert db.session.get(SyncEvent, failing["id"]) is None
        cure()
    again = client.post("/api/v1/sync", json={"events": [good, failing]}, headers=_bearer(aide_token))
    assert [r["status"] for r in again.get_json()["results"]] == ["duplicate", "applied"]
    with app.app_context():
        notes = db.session.scalars(sa.select(Observation.note).order_by(Observation.id)).all()
        assert notes == [None, FAIL_NOTE]


def test_a_refusal_never_says_retry(app, client, aide_token):
    refused = _scan("LHS-1000", condition="sparkly")
    resp = client.post("/api/v1/sync", json={"events": [refused]}, headers=_bearer(aide_token))
    [result] = resp.get_json()["results"]
    assert result["status"] == "rejected" and "sparkly" in result["reason"]
    assert "info" not in result


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _scan(tag: str, **data) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": "scan",
        "at": datetime.now(UTC).isoformat(),
        "data": {"tag": tag, "room": "LHS-101", **data},
    }
