"""The answers of POST /api/v1/sync that the phone's outbox acts on differently: sign in again, or set aside."""

from __future__ import annotations

from app.models import Role


def test_a_sync_with_a_stale_csrf_token_says_so_in_its_own_code(client, district, login_as):
    """The outbox reads this code as "sign in again" (keep everything), unlike a batch the server cannot read."""
    login_as(Role.aide, "LHS")
    resp = client.post("/api/v1/sync", json={"client_id": "x", "events": []}, csrf=False)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "csrf"
    unreadable = client.post("/api/v1/sync", data="{", headers={"Content-Type": "application/json"})
    assert unreadable.status_code in (400, 422)
    assert unreadable.get_json()["error"]["code"] != "csrf"
