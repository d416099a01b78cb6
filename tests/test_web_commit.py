"""app.web.committing: the one commit point of a view — commit on success, roll back and keep a refusal."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Campus
from app.services.errors import Invalid
from app.web import committing


def _campuses() -> list[str]:
    return sorted(db.session.scalars(sa.select(Campus.code)))


def test_commits_what_the_block_did(app, ctx):
    with committing() as outcome:
        db.session.add(Campus(code="NEW", name="New School"))
    assert outcome.refused is None and outcome.message == ""
    db.session.remove()
    assert _campuses() == ["NEW"]


def test_a_refusal_rolls_back_and_is_kept(app, ctx):
    with committing() as outcome:
        db.session.add(Campus(code="NEW", name="New School"))
        db.session.flush()
        raise Invalid("That code is taken.", field="code")
    assert outcome.refused is not None and outcome.refused.field == "code"
    assert outcome.message == "That code is taken."
    assert _campuses() == []


def test_any_other_error_rolls_back_and_propagates(app, ctx):
    with pytest.raises(RuntimeError), committing():
        db.session.add(Campus(code="NEW", name="New School"))
        db.session.flush()
        raise RuntimeError("boom")
    assert _campuses() == []
