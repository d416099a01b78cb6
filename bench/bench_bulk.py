"""Bulk actions on the device list: server time to change the status of 1,000 and 10,000 devices in one action
(every device changed, one activity entry each), through the service and through the page's confirm and apply."""

from __future__ import annotations

import itertools
import os
import re

import sqlalchemy as sa

from bench.common import bench_app, report, timed

SIZES = [int(n) for n in os.environ.get("BENCH_BULK_SIZES", "1000,10000").split(",")]


def run() -> None:
    app, folder = bench_app("bulk")
    from app.extensions import db
    from app.models import Activity, Asset, AssetStatus, Role, User, Via
    from app.services import bulk_actions
    from app.services.assets import AssetFilters
    from app.services.users import start_session
    from tests import factories

    with app.app_context():
        db.create_all()
        campus = factories.make_campus("LHS", "Lincoln High")
        room = factories.make_room(campus, "LHS-101")
        model = factories.make_model()
        tech = factories.make_user(Role.tech, "LHS")
        for size in SIZES:
            db.session.execute(
                sa.insert(Asset),
                [
                    {
                        "asset_tag": f"B{size}-{i:06d}",
                        "serial": f"B{size}SN{i:07d}",
                        "model_id": model.id,
                        "campus_id": campus.id,
                        "home_room_id": room.id,
                        "status": AssetStatus.deployed,
                        "search_text": f"b{size}-{i:06d}",
                    }
                    for i in range(size)
                ],
            )
        session_id = start_session(tech)
        db.session.commit()
        tech_id = tech.id

    statuses = itertools.cycle([AssetStatus.in_repair, AssetStatus.deployed])
    for size in SIZES:
        selection = bulk_actions.Selection(filters=AssetFilters(q=f"b{size}-"))

        def change(selection=selection, size=size):
            with app.app_context():
                user = db.session.get(User, tech_id)
                plan = bulk_actions.change_status(user, selection, next(statuses), via=Via.web)
                db.session.commit()
                assert len(plan.change) == size, len(plan.change)

        report(f"service: status of {size:,} devices (all matching)", timed(change, repeat=5, warmup=1))

    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = session_id
    size = SIZES[0]
    pages = itertools.cycle(["missing", "deployed"])
    page = client.get(f"/assets?q=b{size}-").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    def confirm_and_apply():
        form = {"action": "status", "to_status": next(pages), "all": "1", "q": f"b{size}-", "csrf_token": token}
        assert client.post("/assets/bulk", data=form).status_code == 200
        assert client.post("/assets/bulk", data={**form, "confirm": "1"}).status_code == 303

    report(f"POST /assets/bulk: confirm, then apply, {size:,} devices", timed(confirm_and_apply, repeat=5, warmup=1))
    with app.app_context():
        entries = db.session.scalar(sa.select(sa.func.count(Activity.id)).where(Activity.action == "asset.update"))
    print(f"{entries:,} activity entries written; database in {folder}", flush=True)
