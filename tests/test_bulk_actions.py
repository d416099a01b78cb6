"""Bulk actions on the device list, as services: a thousand devices in one action, all or nothing, logged each."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Campus, Loan, Role, Room, Ticket, TicketCategory, Via, utcnow
from app.services import bulk_actions as bulk
from app.services.assets import AssetFilters
from app.services.errors import Invalid
from tests import factories


def add_devices(campus: Campus, n: int, *, prefix: str, room: Room | None = None, **values) -> list[int]:
    """n devices on a campus in one INSERT (factories add one at a time, too slow for a thousand)."""
    model = factories.make_model()
    rows = [
        {
            "asset_tag": f"{prefix}-{i:05d}",
            "serial": f"{prefix}SN{i:07d}",
            "model_id": model.id,
            "campus_id": campus.id,
            "home_room_id": room.id if room else None,
            "status": values.get("status", AssetStatus.deployed),
            "search_text": f"{prefix}-{i:05d}".lower(),
        }
        for i in range(n)
    ]
    db.session.execute(sa.insert(Asset), rows)
    # In tag order, so ids[0] is {prefix}-00000 on every database.
    return list(
        db.session.scalars(
            sa.select(Asset.id).where(Asset.asset_tag.startswith(f"{prefix}-")).order_by(Asset.asset_tag)
        )
    )


@pytest.fixture
def world(ctx):
    lhs, jms = factories.make_campus("LHS"), factories.make_campus("JMS")
    room = factories.make_room(lhs, "LHS-101")
    tech = factories.make_user(Role.tech, "LHS")
    ids = add_devices(lhs, 1000, prefix="BLK", room=room)
    db.session.commit()
    return {"lhs": lhs, "jms": jms, "room": room, "tech": tech, "ids": ids}


def entries_per_device(ids: list[int], action: str = "asset.update") -> dict[int, int]:
    rows = db.session.execute(
        sa.select(Activity.asset_id, sa.func.count())
        .where(Activity.asset_id.in_(ids), Activity.action == action)
        .group_by(Activity.asset_id)
    )
    return {a: n for a, n in rows}


def statuses(ids: list[int]) -> set[AssetStatus]:
    return set(db.session.scalars(sa.select(Asset.status).where(Asset.id.in_(ids)).distinct()))


def test_a_thousand_devices_change_status_in_one_action(world):
    tech = world["tech"]
    selection = bulk.Selection(filters=AssetFilters(q="blk"))
    assert bulk.count(tech, selection) == 1000
    plan = bulk.change_status(tech, selection, AssetStatus.in_repair, via=Via.web)
    db.session.commit()
    assert len(plan.change) == 1000 and plan.unchanged == 0
    assert statuses(world["ids"]) == {AssetStatus.in_repair}
    per_device = entries_per_device(world["ids"])
    assert len(per_device) == 1000 and set(per_device.values()) == {1}
    entry = db.session.scalar(sa.select(Activity).where(Activity.asset_id == world["ids"][0]))
    assert entry.user_id == tech.id and entry.via is Via.web and entry.campus_id == world["lhs"].id
    assert entry.before == {"status": "deployed"} and entry.after == {"status": "in_repair"}
    assert entry.summary == "Changed status of BLK-00000" and entry.at is not None


def test_one_refused_device_among_a_thousand_changes_nothing(world):
    tech, ids = world["tech"], world["ids"]
    student = factories.make_person(world["lhs"])
    # The 500th device is out on loan: it cannot go back on the shelf.
    db.session.add(Loan(asset_id=ids[499], person_id=student.id, due_at=utcnow(), checked_out_by_id=tech.id))
    db.session.commit()
    with pytest.raises(bulk.Refused) as refused:
        bulk.change_status(tech, bulk.Selection(ids=tuple(ids)), AssetStatus.in_stock, via=Via.web)
    db.session.rollback()
    assert "BLK-00499" in refused.value.message and "1 of 1,000" in refused.value.message
    assert [r.device for r in refused.value.refusals] == ["BLK-00499"]
    assert statuses(ids) == {AssetStatus.deployed}
    assert entries_per_device(ids) == {}


def test_a_device_changed_between_check_and_write_refuses_the_whole_action(world, monkeypatch):
    tech, ids = world["tech"], world["ids"]
    student = factories.make_person(world["lhs"])
    real_plan = bulk.plan_status

    def plan_then_lend(*args, **kwargs):
        plan = real_plan(*args, **kwargs)
        # Someone lends a device after the rules were read, before the UPDATE.
        db.session.add(Loan(asset_id=ids[-1], person_id=student.id, due_at=utcnow(), checked_out_by_id=tech.id))
        db.session.flush()
        return plan

    monkeypatch.setattr(bulk, "plan_status", plan_then_lend)
    with pytest.raises(Invalid, match="changed just now"):
        bulk.change_status(tech, bulk.Selection(ids=tuple(ids)), AssetStatus.retired, via=Via.web)
    db.session.rollback()
    assert statuses(ids) == {AssetStatus.deployed} and entries_per_device(ids) == {}


def test_ticked_ids_off_campus_are_refused_by_id_only(world):
    jms_ids = add_devices(world["jms"], 3, prefix="JMX")
    db.session.commit()
    selection = bulk.Selection(ids=(world["ids"][0], *jms_ids, 10**12))
    with pytest.raises(bulk.Refused) as refused:
        bulk.change_status(world["tech"], selection, AssetStatus.missing, via=Via.web)
    db.session.rollback()
    assert [r.device for r in refused.value.refusals][:1] == [f"#{jms_ids[0]}"]
    assert "JMX" not in refused.value.message and "and 0 more" not in refused.value.message
    assert "4 of 5" in refused.value.message
    assert statuses(world["ids"][:1]) == {AssetStatus.deployed}


def test_filter_selection_stays_on_the_users_campuses(world):
    add_devices(world["jms"], 5, prefix="BLKJ")
    db.session.commit()
    selection = bulk.Selection(filters=AssetFilters(q="blk"))
    assert bulk.count(world["tech"], selection) == 1000
    admin = factories.make_user(Role.admin)
    assert bulk.count(admin, selection) == 1005


def test_already_so_devices_are_left_alone_and_unlogged(world):
    tech, ids = world["tech"], world["ids"]
    db.session.execute(sa.update(Asset).where(Asset.id.in_(ids[:10])).values(status=AssetStatus.missing))
    db.session.commit()
    plan = bulk.change_status(tech, bulk.Selection(ids=tuple(ids[:20])), AssetStatus.missing, via=Via.web)
    db.session.commit()
    assert len(plan.change) == 10 and plan.unchanged == 10
    assert sorted(entries_per_device(ids[:20])) == sorted(ids[10:20])


def test_move_to_a_room_and_refuse_other_campuses(world):
    tech, ids = world["tech"], world["ids"]
    store = factories.make_room(world["lhs"], "LHS-IT")
    db.session.commit()
    plan = bulk.move(tech, bulk.Selection(ids=tuple(ids[:1000])), store, via=Via.web)
    db.session.commit()
    assert len(plan.change) == 1000
    assert set(db.session.scalars(sa.select(Asset.home_room_id).where(Asset.id.in_(ids)))) == {store.id}
    entry = db.session.scalar(sa.select(Activity).where(Activity.asset_id == ids[3]))
    assert entry.before == {"home_room": "LHS-101"} and entry.after == {"home_room": "LHS-IT"}

    admin = factories.make_user(Role.admin)
    jms_ids = add_devices(world["jms"], 2, prefix="JMV")
    db.session.commit()
    with pytest.raises(bulk.Refused) as refused:
        bulk.move(admin, bulk.Selection(ids=(ids[0], *jms_ids)), world["room"], via=Via.web)
    db.session.rollback()
    assert "JMV-00000: it belongs to JMS; LHS-101 is on LHS" in refused.value.message
    assert db.session.scalar(sa.select(Asset.home_room_id).where(Asset.id == ids[0])) == store.id


def test_a_room_elsewhere_or_out_of_use_is_refused(world):
    jms_room = factories.make_room(world["jms"], "JMS-201")
    with pytest.raises(Invalid, match="your campuses") as exc:
        bulk.move(world["tech"], bulk.Selection(ids=tuple(world["ids"][:2])), jms_room, via=Via.web)
    assert exc.value.field == "to_room"
    world["room"].active = False
    with pytest.raises(Invalid, match="no longer in use"):
        bulk.move(world["tech"], bulk.Selection(ids=tuple(world["ids"][:2])), world["room"], via=Via.web)


def test_empty_and_oversized_selections_are_refused(world, monkeypatch):
    with pytest.raises(Invalid, match="at least one"):
        bulk.change_status(world["tech"], bulk.Selection(), AssetStatus.missing, via=Via.web)
    with pytest.raises(Invalid, match="No devices match"):
        bulk.change_status(
            world["tech"], bulk.Selection(filters=AssetFilters(q="nothing")), AssetStatus.missing, via=Via.web
        )
    monkeypatch.setattr(bulk, "MAX_DEVICES", 999)
    with pytest.raises(Invalid, match="at most 999"):
        bulk.load(world["tech"], bulk.Selection(filters=AssetFilters(q="blk")), bulk.MAX_DEVICES)


def test_tickets_open_one_per_device_through_the_ticket_workflow(world):
    tech, ids = world["tech"], world["ids"][:25]
    tickets = bulk.open_tickets(
        tech, bulk.Selection(ids=tuple(ids)), TicketCategory.wont_charge, "Cart 3 does not charge", via=Via.web
    )
    db.session.commit()
    assert len(tickets) == 25
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id)).where(Ticket.asset_id.in_(ids))) == 25
    assert set(entries_per_device(ids, "ticket.open").values()) == {1}
    with pytest.raises(Invalid, match="Describe"):
        bulk.open_tickets(tech, bulk.Selection(ids=tuple(ids)), TicketCategory.other, "  ", via=Via.web)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 25


def test_export_holds_just_the_selection(world):
    tech, ids = world["tech"], world["ids"]
    text = "".join(bulk.export_csv(tech, bulk.Selection(ids=(ids[0], ids[7]))))
    assert "BLK-00000" in text and "BLK-00007" in text and "BLK-00001" not in text
    text = "".join(bulk.export_csv(tech, bulk.Selection(filters=AssetFilters(q="blk-0099"))))
    assert text.count("BLK-0099") == 10
