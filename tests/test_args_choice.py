"""app.web.args.choice and form_choice: the one way views read an enum from a query argument or a form."""

from __future__ import annotations

import pytest

from app.models import AssetStatus, Condition
from app.web import committing
from app.web.args import choice, enum_arg, form_choice


@pytest.mark.parametrize(
    "raw, expected",
    [("damaged", Condition.damaged), ("", None), (None, None), ("DAMAGED", None), (" good", None), ("x" * 9999, None)],
)
def test_choice_is_a_member_by_its_value_or_the_default(raw, expected):
    assert choice(raw, Condition) is expected
    assert choice(raw, Condition, Condition.good) is (expected or Condition.good)


def test_choice_of_something_that_is_not_text_is_the_default():
    assert choice(["good"], Condition) is None  # type: ignore[arg-type]


def test_form_choice_refuses_on_its_field_inside_the_commit_point(app):
    with app.test_request_context("/", method="POST", data={"status": "exploded"}):
        with committing() as outcome:
            form_choice("status", AssetStatus, "Choose a status from the list.")
        assert outcome.refused is not None and outcome.refused.field == "status"
        assert outcome.message == "Choose a status from the list."
    with app.test_request_context("/", method="POST", data={"status": "missing"}):
        assert form_choice("status", AssetStatus, "Choose a status.") is AssetStatus.missing


def test_enum_arg_still_refuses_what_is_not_one_of_the_values(app):
    from werkzeug.exceptions import BadRequest

    with app.test_request_context("/?condition=good"):
        assert enum_arg("condition", Condition) is Condition.good
    with app.test_request_context("/?condition=shiny"), pytest.raises(BadRequest) as exc:
        enum_arg("condition", Condition)
    assert "Unknown condition 'shiny'" in exc.value.description
