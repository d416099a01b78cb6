"""app.inputs and the request guard: what cannot be stored is refused at the door with a message, on every door."""

from __future__ import annotations

import json

import pytest

from app import inputs
from app.models import Role

HOSTILE_TEXT = ["a\x00b", "a\ud800b", "\udfff"]


@pytest.mark.parametrize("value", HOSTILE_TEXT)
def test_unstorable_text_is_named(value):
    with pytest.raises(inputs.Unsafe, match="cannot be stored"):
        inputs.check_text(value, "note")
    assert inputs.check_text("José Núñez-Renée 🎒", "note") == "José Núñez-Renée 🎒"


@pytest.mark.parametrize(
    "raw, message",
    [
        ("[" * 40 + "]" * 40, "nested more than 32 levels"),
        ("[" * 100_000 + "]" * 100_000, "nested more than 32 levels"),
        ('{"a": Infinity}', "not a number"),
        ('{"a": NaN}', "not a number"),
        ('{"a": 1e999999}', "too large"),
        ('{"a": 9223372036854775808}', "too large"),
        ('{"a": ' + "9" * 5000 + "}", "too large"),
        ('{"a": "x\\u0000y"}', "NUL"),
        ('{"a\\u0000": 1}', "NUL"),
        ('{"a": "\\ud800"}', "surrogate"),
    ],
)
def test_strict_json_refuses_what_no_database_stores(raw, message):
    with pytest.raises(inputs.Unsafe, match=message):
        inputs.loads(raw)


def test_strict_json_takes_ordinary_documents():
    doc = {"a": [1, 2.5, -3, None, True, "ü"], "b": {"c": [[[]]]}, "n": 9223372036854775807}
    assert inputs.loads(json.dumps(doc)) == doc
    assert inputs.loads("[" * 32 + "]" * 32) is not None


def test_lenient_json_parses_so_each_item_can_be_refused_alone():
    items = inputs.loads('[{"ok": 1}, {"bad": Infinity}, {"big": 1e400}]', lenient=True)
    assert inputs.check(items[0]) == {"ok": 1}
    for bad in items[1:]:
        with pytest.raises(inputs.Unsafe):
            inputs.check(bad)


def test_the_check_walks_any_depth_without_recursion():
    value: list = []
    for _ in range(200_000):
        value = [value]
    with pytest.raises(inputs.Unsafe, match="nested"):
        inputs.check(value)


@pytest.mark.parametrize("bad", ["%00", "%ED%A0%80"])
def test_query_arguments_that_cannot_be_stored_are_a_400(client, login_as, district, bad):
    login_as(Role.admin)
    resp = client.get(f"/assets?q=ab{bad}cd")
    if bad == "%00":
        assert resp.status_code == 400
        assert "query argument q contains a NUL character" in resp.get_data(as_text=True)
    else:
        # Werkzeug decodes invalid UTF-8 in a URL to U+FFFD, which is stored like any other character.
        assert resp.status_code == 200


def test_api_query_arguments_get_a_json_400(client, login_as, district):
    login_as(Role.admin)
    resp = client.get("/api/v1/people?q=%00")
    assert resp.status_code == 400
    assert "NUL" in resp.get_json()["error"]["message"]


def test_a_path_value_that_cannot_be_stored_names_nothing(client, login_as, district):
    login_as(Role.admin)
    assert client.get("/assets/LHS-1000%00").status_code == 404
    assert client.get("/api/v1/assets/LHS-1000%00").get_json()["error"]["code"] == "not_found"


def test_form_fields_that_cannot_be_stored_are_a_422_naming_the_field(client, login_as, district):
    login_as(Role.admin)
    resp = client.post("/campuses/new", data={"code": "NEW", "name": "New\x00 School"})
    assert resp.status_code == 422
    assert "The field name contains a NUL character" in resp.get_data(as_text=True)


def test_json_bodies_that_cannot_be_stored_are_a_400_naming_why(client, login_as, district):
    login_as(Role.librarian, "LHS")
    resp = client.post(
        "/api/v1/loans",
        data='{"asset": "LHS-1001", "person": "S\\u0000001"}',
        content_type="application/json",
    )
    assert resp.status_code in (400, 422)
    assert resp.get_json()["error"]["message"]


def test_get_json_refuses_with_the_reason(app):
    from flask import request
    from werkzeug.exceptions import BadRequest

    with (
        app.test_request_context(
            "/api/v1/anything", method="POST", data='{"a": Infinity}', content_type="application/json"
        ),
        pytest.raises(BadRequest, match="Infinity is not a number"),
    ):
        request.get_json()
