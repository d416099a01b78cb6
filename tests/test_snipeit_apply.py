"""Snipe-IT apply written in bulk: the search index sees new and changed devices, a device handed to someone
else closes its open assignment and opens one, and each device's history comes in file order."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Assignment
from app.services import snipeit
from app.services.assets import AssetFilters, search_assets
from tests import factories

HEADER = "Asset Tag,Serial Number,Model Name,Manufacturer,Status,Location,Notes,Email\n"


def _run(text: str, by) -> snipeit.SnipeReport:
    dry = snipeit.run(text.encode(), by=by, dry_run=True)
    assert dry.ok, dry.errors
    report = snipeit.run(text.encode(), by=by, dry_run=False, approved=dry.plan.to_bytes())
    assert report.ok, report.errors
    db.session.flush()
    return report


def _found(admin, words: str) -> list[str]:
    return list(
        db.session.scalars(sa.select(Asset.asset_tag).from_statement(search_assets(admin, AssetFilters(q=words))))
    )


def _open(tag: str) -> list[str]:
    stmt = (
        sa.select(Assignment.person_id)
        .join(Asset, Assignment.asset_id == Asset.id)
        .where(Asset.asset_tag == tag, Assignment.returned_at.is_(None))
    )
    return list(db.session.scalars(stmt))


def test_bulk_apply_keeps_search_assignments_and_history(ctx):
    campus = factories.make_campus("LHS")
    admin = factories.make_user()
    ana = factories.make_person(campus, "Anastasia Quimby", email="aq@students.example.org")
    bo = factories.make_person(campus, "Bartholomew Zed", email="bz@students.example.org")
    kept = factories.make_person(campus, "Kept Person", email="kp@students.example.org")
    first = _run(
        HEADER
        + "LHS-9001,SNX9001,Gizmo Book,Acme,Ready to Deploy,LHS,one,aq@students.example.org\n"
        + "LHS-9002,SNX9002,Gizmo Book,Acme,Ready to Deploy,LHS,two,\n"
        + "LHS-9003,SNX9003,Gizmo Book,Acme,Ready to Deploy,LHS,three,kp@students.example.org\n",
        admin,
    )
    assert (first.created, first.assigned) == (3, 2)
    assert _found(admin, "quimby") == ["LHS-9001"]
    assert sorted(_found(admin, "gizmo")) == ["LHS-9001", "LHS-9002", "LHS-9003"]
    assert _open("LHS-9001") == [ana.id] and _open("LHS-9002") == []

    second = _run(
        HEADER
        + "LHS-9003,SNX9003,Gizmo Book,Acme,Ready to Deploy,LHS,three,kp@students.example.org\n"
        + "LHS-9002,SNX9002,Gizmo Book,Acme,Ready to Deploy,LHS,two,bz@students.example.org\n"
        + "LHS-9001,SNX9001,Gizmo Book,Acme,Ready to Deploy,LHS,one again,bz@students.example.org\n",
        admin,
    )
    assert (second.updated, second.unchanged, second.assigned) == (2, 1, 2)
    assert _found(admin, "quimby") == []
    assert sorted(_found(admin, "bartholomew")) == ["LHS-9001", "LHS-9002"]
    assert _open("LHS-9001") == [bo.id] and _open("LHS-9002") == [bo.id] and _open("LHS-9003") == [kept.id]
    one = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-9001"))
    assert one.notes == "one again" and one.assigned_to_id == bo.id
    history = [
        (tag, a.action)
        for tag, a in db.session.execute(
            sa.select(Asset.asset_tag, Activity)
            .join(Asset, Activity.asset_id == Asset.id)
            .where(Activity.action.like("asset.%"))
            .order_by(Activity.id)
        ).all()
    ]
    assert history == [
        ("LHS-9001", "asset.create"),
        ("LHS-9002", "asset.create"),
        ("LHS-9003", "asset.create"),
        ("LHS-9002", "asset.update"),
        ("LHS-9001", "asset.update"),
    ]
    closed = db.session.scalar(
        sa.select(Assignment).where(Assignment.person_id == ana.id, Assignment.returned_at.is_not(None))
    )
    assert closed is not None and closed.returned_by_id == admin.id
