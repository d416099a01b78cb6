"""Inventory at scale: seed-demo time for 200,000 devices on SQLite, then server time of the list and searches."""

from __future__ import annotations

import os
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import bench_app, report, timed

ASSETS = int(os.environ.get("BENCH_ASSETS", "200000"))
# Reuse a database seeded by an earlier run (seeding 200,000 devices takes minutes): BENCH_DB=path/to.sqlite3.
REUSE = os.environ.get("BENCH_DB")


def run() -> None:
    app, folder = bench_app("inventory", database=Path(REUSE) if REUSE else None)
    from app.extensions import db
    from app.models import User
    from app.services import demo
    from app.services.maintenance import refresh_statistics
    from app.services.users import start_session

    with app.app_context():
        if not REUSE:
            db.create_all()
            started = time.perf_counter()
            demo.seed(n_assets=ASSETS, seed=1)
            db.session.commit()
            refresh_statistics()
            print(f"seed-demo --assets {ASSETS}: {time.perf_counter() - started:.1f} s", flush=True)
        print(f"{db.session.scalar(sa.text('SELECT count(*) FROM assets')):,} devices", flush=True)
        admin_id = db.session.scalar(sa.select(User.id).where(User.email == "admin@mvusd.example"))
        tech = db.session.scalar(sa.select(User).where(User.email == "tech@mvusd.example"))
        tech_id = tech.id
        one_tag = db.session.scalar(
            sa.select(sa.text("asset_tag FROM assets WHERE id = 123457 % (SELECT max(id) FROM assets)"))
        )
        person = db.session.scalar(sa.text("SELECT name FROM people WHERE kind = 'student' LIMIT 1 OFFSET 777"))
    client = app.test_client()
    for user_id, who in ((admin_id, "district admin"), (tech_id, "tech (3 campuses)")):
        with app.app_context():
            session_id = start_session(db.session.get(User, user_id))
            db.session.commit()
        with client.session_transaction() as s:
            s["_user_id"] = session_id
        cases = {
            "list, first page": "/assets",
            "list, page 2000": "/assets?page=2000",
            "list, status + campus filter": "/assets?status=loaner&campus=1",
            "search, asset tag": f"/assets?q={one_tag}",
            "search, serial prefix": "/assets?q=ab1",
            "search, person name": f"/assets?q={person.split()[0].lower()}",
            "search, no match": "/assets?q=zzzzzz",
            "api list": "/api/v1/assets?per_page=50",
        }
        for label, url in cases.items():
            hx = {"HX-Request": "true"} if url.startswith("/assets") else {}

            def hit(url=url, hx=hx):
                resp = client.get(url, headers=hx)
                assert resp.status_code == 200, (url, resp.status_code)

            report(f"{who}: {label}", timed(hit, repeat=25, warmup=2))
    print(f"(database in {folder})")
