"""What the server tells the service worker: which pages may be kept offline, and whose session served them."""

from __future__ import annotations

import pytest

from app.models import Role
from app.web.offline import OFFLINE_HEADER, OWNER_COOKIE, OWNER_HEADER, SIGNED_OUT

# The pages a phone keeps for work without a signal; each must show no one's personal data.
OFFLINE_PAGES = ["/dashboard", "/scan", "/audits/live", "/offline"]  # "/" for an aide: tests/test_home.py
STUDENT = ("Zoe Martinez", "LHS100001", "Liam Chen", "JMS200001")


def owner_cookie(resp) -> str | None:
    for header in resp.headers.getlist("Set-Cookie"):
        if header.startswith(f"{OWNER_COOKIE}="):
            return header
    return None


@pytest.mark.parametrize("path", OFFLINE_PAGES)
def test_offline_pages_are_marked_and_carry_no_personal_data(client, district, login_as, path):
    login_as(Role.tech, "LHS", "JMS")  # sees every student there is
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.headers[OFFLINE_HEADER] == "keep"
    html = resp.get_data(as_text=True)
    for word in STUDENT:
        assert word not in html


@pytest.mark.parametrize("path", ["/people/LHS100001", "/people", "/assets/LHS-1000", "/loans", "/tickets", "/audits"])
def test_pages_about_people_are_not_marked(client, district, login_as, path):
    login_as(Role.tech, "LHS", "JMS")
    resp = client.get(path)
    assert resp.status_code == 200
    assert OFFLINE_HEADER not in resp.headers


def test_a_refused_page_is_not_marked(client, district, login_as):
    login_as(Role.viewer)
    resp = client.get("/scan")
    assert resp.status_code == 403
    assert OFFLINE_HEADER not in resp.headers


def test_each_page_names_its_session_and_the_cookie_follows_it(client, district, login_as):
    anonymous = client.get("/login")
    assert anonymous.headers[OWNER_HEADER] == SIGNED_OUT
    assert owner_cookie(anonymous) is None

    first = login_as(Role.aide, "LHS")
    resp = client.get("/scan")
    owner = resp.headers[OWNER_HEADER]
    assert owner not in (SIGNED_OUT, "", str(first.id), first.email)
    cookie = owner_cookie(resp)
    # Readable by the worker and the page; a session cookie (no expiry), so closing the browser drops it.
    assert cookie.startswith(f"{OWNER_COOKIE}={owner};")
    assert "HttpOnly" not in cookie and "Expires" not in cookie and "SameSite=Lax" in cookie
    again = client.get("/")
    assert again.headers[OWNER_HEADER] == owner and owner_cookie(again) is None  # unchanged, not set again

    login_as(Role.aide, "LHS")
    other = client.get("/scan").headers[OWNER_HEADER]
    assert other not in (owner, SIGNED_OUT)

    signed_out = client.post("/logout")
    assert signed_out.headers[OWNER_HEADER] == SIGNED_OUT
    assert owner_cookie(signed_out).startswith(f"{OWNER_COOKIE}=;")  # deleted
    assert client.get("/login").headers[OWNER_HEADER] == SIGNED_OUT


def test_api_and_static_responses_name_no_session(client, district, login_as):
    login_as(Role.aide, "LHS")
    for path in ("/api/v1/assets", "/static/js/outbox.js"):
        resp = client.get(path)
        assert resp.status_code == 200
        assert OWNER_HEADER not in resp.headers and owner_cookie(resp) is None
