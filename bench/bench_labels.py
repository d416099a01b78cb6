"""Label sheets: server time to render a 1,000-label Avery 5160 print (30 a sheet), and to record a print."""

from __future__ import annotations

import os
import statistics
import time

import sqlalchemy as sa

from bench.common import bench_app, report, timed

LABELS = int(os.environ.get("BENCH_LABELS", "1000"))


def run() -> None:
    app, folder = bench_app("labels")
    from app.extensions import db
    from app.models import Asset, LabelFormat, Role, User, Via
    from app.services import labels as label_service
    from app.services.users import start_session
    from tests import factories

    with app.app_context():
        db.create_all()
        campus = factories.make_campus("LHS", "Lincoln High")
        room = factories.make_room(campus, "LHS-101")
        for i in range(LABELS):
            factories.make_asset(campus, room, asset_tag=f"LHS-{100000 + i}", serial=f"BENCH{i:07d}")
        tech = factories.make_user(Role.tech, "LHS")
        assets = list(db.session.scalars(sa.select(Asset).order_by(Asset.asset_tag)))
        job = label_service.record_print(LabelFormat.avery5160, assets, by=tech, via=Via.web)
        session_id = start_session(tech)
        db.session.commit()
        job_id, tech_id = job.id, tech.id

    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = session_id

    def render_sheet():
        resp = client.get(f"/labels/prints/{job_id}")
        assert resp.status_code == 200
        assert resp.get_data(as_text=True).count('<div class="label">') == LABELS

    report(f"GET /labels/prints/<id>: {LABELS} labels, Avery 5160", timed(render_sheet, repeat=9, warmup=1))
    # On a shared machine wall time includes waiting for a core; the process's own CPU time does not.
    cpu = []
    for _ in range(9):
        started = time.process_time()
        render_sheet()
        cpu.append((time.process_time() - started) * 1000)
    report("  the same, CPU time of the server process", {"median_ms": statistics.median(cpu), "min_ms": min(cpu)})

    def record():
        with app.app_context():
            user = db.session.get(User, tech_id)
            batch = list(db.session.scalars(sa.select(Asset).order_by(Asset.asset_tag)))
            label_service.record_print(LabelFormat.avery5160, batch, by=user, via=Via.web)
            db.session.commit()

    report(f"record a print of {LABELS} labels (service + commit)", timed(record, repeat=5, warmup=1))
    size = len(client.get(f"/labels/prints/{job_id}").data)
    print(f"sheet HTML: {size / 1024:,.0f} KiB for {LABELS} labels; (database in {folder})", flush=True)
