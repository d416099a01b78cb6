"""Roster and desk figures: a OneRoster import of 50,000 users, and the desk's checkout round trip on the server."""

from __future__ import annotations

import csv
import io
import random
import re
import time

from bench.common import bench_app, report, timed

USERS = 50_000
SCHOOLS = [
    ("org-hs", "LHS", "Lincoln High School"),
    ("org-ms", "JMS", "Jefferson Middle"),
    ("org-es", "RES", "Roosevelt"),
]
GIVEN = ["Zoe", "Hana", "Diego", "Isla", "Liam", "Ezra", "Sofia", "Noah", "Omar", "Yusuf", "Priya", "Kai", "Ada"]
FAMILY = ["Martinez", "Smith", "Johnson", "Nguyen", "Novak", "Hernandez", "Kim", "Lee", "Chen", "Rossi", "Okafor"]


def oneroster_files(n: int, seed: int = 5) -> tuple[bytes, bytes]:
    """A users.csv of n people (about one in twenty a teacher) and the orgs.csv it refers to."""
    rng = random.Random(seed)
    orgs = io.StringIO()
    w = csv.writer(orgs, lineterminator="\r\n")
    w.writerow(["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"])
    w.writerow(["org-district", "active", "2026-08-01T00:00:00Z", "Maple Valley Unified", "district", "MVUSD", ""])
    for sid, code, name in SCHOOLS:
        w.writerow([sid, "active", "2026-08-01T00:00:00Z", name, "school", code, "org-district"])
    users = io.StringIO()
    w = csv.writer(users, lineterminator="\r\n")
    users.write(
        "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,"
        "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\r\n"
    )
    for i in range(1, n + 1):
        org, code, _ = SCHOOLS[i % len(SCHOOLS)]
        teacher = i % 20 == 0
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        ident = f"T{i}" if teacher else f"{code}{100000 + i}"
        user = f"{given.lower()}.{family.lower()}{i}"
        domain = "mvusd.example" if teacher else "students.mvusd.example"
        w.writerow(
            [f"u-{i:06d}", "active", "2026-08-15T12:00:00Z", "true", org, "teacher" if teacher else "student", user,
             f"{{SIS:{ident}}}", given, family, "", ident, f"{user}@{domain}", "", "", "", "" if teacher else "09", ""]
        )  # fmt: skip
    return users.getvalue().encode(), orgs.getvalue().encode()


def run() -> None:
    from app.extensions import db
    from app.models import AssetStatus, Role, Via
    from app.services import roster
    from app.services.users import start_session
    from tests import factories

    app, folder = bench_app("loans")
    with app.app_context():
        db.create_all()
        for _, code, name in SCHOOLS:
            factories.make_campus(code, name)
        db.session.commit()
        users, orgs = oneroster_files(USERS)
        files = roster.RosterFiles(users, orgs, "users.csv")
        print(f"users.csv: {USERS:,} users, {len(users) / 1e6:.1f} MB", flush=True)

        started = time.perf_counter()
        dry = roster.import_roster(files, by=None, via=Via.cli, dry_run=True)
        report(f"oneroster dry run, {USERS:,} users", {"seconds": time.perf_counter() - started})
        assert dry.ok and dry.created == USERS, dry.summary()

        started = time.perf_counter()
        done = roster.import_roster(files, by=None, via=Via.cli)
        db.session.commit()
        report(f"oneroster import, {USERS:,} new", {"seconds": time.perf_counter() - started})
        assert done.created == USERS

        started = time.perf_counter()
        again = roster.import_roster(files, by=None, via=Via.cli)
        db.session.commit()
        report(f"oneroster import again, {USERS:,} unchanged", {"seconds": time.perf_counter() - started})
        assert again.unchanged == USERS

        lhs = factories.make_campus("LHS")
        loaners = [
            factories.make_asset(lhs, asset_tag=f"LHS-L{n:03d}", serial=f"BENCHL{n:05d}", status=AssetStatus.loaner)
            for n in range(40)
        ]
        tags = [a.asset_tag for a in loaners]
        librarian = factories.make_user(Role.librarian, "LHS")
        session_id = start_session(librarian)
        db.session.commit()

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    page = client.get("/loans?campus=LHS").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    state = {"n": 0}

    def checkout_then_return() -> None:
        tag = tags[state["n"] % len(tags)]
        state["n"] += 1
        student = f"LHS{100000 + 3 * (2 * (state['n'] % 5000) + 1)}"  # odd multiples of 3: LHS students
        resp = client.post("/loans/scan", data={"code": tag, "person": student, "campus": "LHS"}, headers=headers)
        assert resp.status_code == 200 and b"Lent" in resp.data, resp.data[:300]
        back = client.post("/loans/scan", data={"code": tag, "campus": "LHS", "condition": "good"}, headers=headers)
        assert back.status_code == 200 and b"returned" in back.data

    def checkout_only() -> None:
        tag = tags[state["n"] % len(tags)]
        state["n"] += 1
        student = f"LHS{100000 + 3 * (2 * (state['n'] % 5000) + 1)}"  # odd multiples of 3: LHS students
        started = time.perf_counter()
        resp = client.post("/loans/scan", data={"code": tag, "person": student, "campus": "LHS"}, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200 and b"Lent" in resp.data, resp.data[:300]
        client.post("/loans/scan", data={"code": tag, "campus": "LHS"}, headers=headers)

    samples: list[float] = []
    for _ in range(3):
        checkout_only()
    samples.clear()
    for _ in range(60):
        checkout_only()
    samples.sort()
    report(
        "desk checkout POST /loans/scan (server)",
        {"median_ms": samples[len(samples) // 2], "p95_ms": samples[int(len(samples) * 0.95) - 1]},
    )
    report("desk checkout + check-in pair (server)", timed(checkout_then_return, repeat=30))
    print(f"(database and files in {folder})", flush=True)
