"""Each role against each route: allowed, 403 for the role, or 404 for a record on another campus."""

from __future__ import annotations

import pytest

ROLES = ("admin", "tech", "librarian", "aide", "viewer")
EDITORS = {"admin", "tech"}
DESK = {"admin", "tech", "librarian"}
ADMINS = {"admin"}
EVERYONE = set(ROLES)

# (method, path, roles allowed, status when allowed, whether the path names an LHS record)
ROUTES = [
    ("GET", "/", EVERYONE, 200, False),
    ("GET", "/assets", EVERYONE, 200, False),
    ("GET", "/assets/LHS-1000", EVERYONE, 200, True),
    ("GET", "/assets/new", EDITORS, 200, False),
    ("GET", "/assets/LHS-1000/edit", EDITORS, 200, True),
    ("POST", "/assets/LHS-1000/status", EDITORS, 303, True),
    ("POST", "/assets/LHS-1001/assign", DESK, 303, True),
    ("POST", "/assets/LHS-1000/return", DESK, 422, True),  # allowed; nothing is assigned, so nothing to take back
    ("GET", "/activity", EDITORS, 200, False),
    ("GET", "/models", EDITORS, 200, False),
    ("GET", "/models/new", EDITORS, 200, False),
    ("GET", "/people/LHS100001/export", ADMINS, 200, True),
    ("POST", "/people/LHS100001/erase", ADMINS, 422, True),  # allowed; the ID was not typed to confirm
    ("GET", "/campuses", ADMINS, 200, False),
    ("GET", "/campuses/new", set(), 200, False),  # district-wide admins only; these users all have a campus
    ("GET", "/campuses/LHS", ADMINS, 200, True),
    ("POST", "/campuses/LHS/rooms", ADMINS, 422, True),  # allowed; no room code given
    ("GET", "/campuses/LHS/rooms/LHS-101", ADMINS, 200, True),
    ("GET", "/api/v1/assets", EVERYONE, 200, False),
    ("GET", "/api/v1/assets/LHS-1000", EVERYONE, 200, True),
    ("GET", "/api/v1/people", EVERYONE, 200, False),
]
FORMS = {"/assets/LHS-1000/status": {"status": "deployed"}, "/assets/LHS-1001/assign": {"person": "LHS100001"}}


def _call(client, method, path):
    if method == "GET":
        return client.get(path)
    return client.post(path, data=FORMS.get(path, {}))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path,allowed,ok_status,names_record", ROUTES)
def test_role_on_own_campus(client, district, login_as, role, method, path, allowed, ok_status, names_record):
    login_as(role, "LHS")
    resp = _call(client, method, path)
    expected = ok_status if role in allowed else 403
    assert resp.status_code == expected, f"{role} {method} {path}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path,allowed,ok_status,names_record", [r for r in ROUTES if r[4]])
def test_role_on_other_campus_sees_404(
    client, district, login_as, role, method, path, allowed, ok_status, names_record
):
    login_as(role, "JMS")
    resp = _call(client, method, path)
    expected = 404 if role in allowed else 403
    assert resp.status_code == expected, f"{role} from JMS {method} {path}"


@pytest.mark.parametrize("method,path", [(m, p) for m, p, *_ in ROUTES])
def test_anonymous_is_sent_to_sign_in(client, district, method, path):
    resp = _call(client, method, path)
    if path.startswith("/api/"):
        assert resp.status_code == 401
    else:
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
