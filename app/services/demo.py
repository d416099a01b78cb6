"""A believable demo district, the same for the same seed: campuses, rooms, people, users, devices."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Assignment,
    Campus,
    Condition,
    DeviceModel,
    Person,
    PersonKind,
    Role,
    Room,
    RoomKind,
    User,
    Via,
)
from app.services import activity, observations
from app.tagcodes import ALPHABET, LENGTH

DEMO_PASSWORD = "rollcall-demo"
CAMPUSES = [
    ("LHS", "Lincoln High School", range(9, 13)),
    ("JMS", "Jefferson Middle School", range(6, 9)),
    ("RES", "Roosevelt Elementary", range(0, 6)),
]
DEMO_USERS = [
    ("admin@mvusd.example", "admin", []),
    ("it.lhs@mvusd.example", "admin", ["LHS"]),
    ("tech@mvusd.example", "tech", ["LHS", "JMS", "RES"]),
    ("librarian.lhs@mvusd.example", "librarian", ["LHS"]),
    ("librarian.jms@mvusd.example", "librarian", ["JMS"]),
    ("aide.lhs@mvusd.example", "aide", ["LHS"]),
    ("aide.res@mvusd.example", "aide", ["RES"]),
    ("principal.lhs@mvusd.example", "viewer", ["LHS"]),
]
MODELS = [
    ("Acer", "Chromebook 311 (C722)", date(2029, 6, 1), Decimal("289.00")),
    ("Acer", "Chromebook Spin 512 (R856T)", date(2031, 6, 1), Decimal("379.00")),
    ("HP", "Chromebook 11 G9 EE", date(2028, 6, 1), Decimal("249.99")),
    ("HP", "Fortis 14 G11 Chromebook", date(2033, 6, 1), Decimal("329.00")),
    ("Lenovo", "100e Chromebook Gen 3", date(2027, 6, 1), Decimal("239.00")),
    ("Lenovo", "300e Yoga Chromebook Gen 4", date(2032, 6, 1), Decimal("399.00")),
    ("Dell", "Chromebook 3110", date(2030, 6, 1), Decimal("279.00")),
]
FIRST = [
    "Zoe",
    "Hana",
    "Liam",
    "Chloe",
    "Mateo",
    "Aiden",
    "Sofia",
    "Noah",
    "Mia",
    "Ethan",
    "Ava",
    "Lucas",
    "Isabella",
    "Elijah",
    "Amelia",
    "Diego",
    "Harper",
    "Kai",
    "Layla",
    "Omar",
    "Priya",
    "Jamal",
    "Grace",
    "Leo",
    "Nora",
    "Ravi",
    "Emma",
    "Jonah",
    "Lucia",
    "Wyatt",
    "Aria",
    "Santiago",
    "Maya",
    "Ezra",
]
LAST = [
    "Martinez",
    "Smith",
    "Hernandez",
    "Kim",
    "Nguyen",
    "Johnson",
    "Garcia",
    "Patel",
    "Brown",
    "Lopez",
    "Davis",
    "Chen",
    "Wilson",
    "Rodriguez",
    "Walker",
    "Lee",
    "Thompson",
    "Ramirez",
    "Young",
    "Allen",
    "Scott",
    "Torres",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Baker",
    "Rivera",
]
BATCH = 5000


def has_data() -> bool:
    return db.session.scalar(sa.select(Campus.id).limit(1)) is not None


def _code(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(LENGTH))


def _status_for(rng: random.Random, i: int, pool_size: int) -> AssetStatus:
    if i < pool_size:
        return AssetStatus.loaner
    roll = rng.random()
    for status, share in (
        (AssetStatus.deployed, 0.78),
        (AssetStatus.in_stock, 0.08),
        (AssetStatus.in_repair, 0.05),
        (AssetStatus.missing, 0.03),
    ):
        if roll < share:
            return status
        roll -= share
    return AssetStatus.retired


def _rooms(rng: random.Random, campuses: list[Campus]) -> dict[str, list[Room]]:
    """Each campus's rooms by campus code: fifteen classrooms, then library, office, IT storage and two carts."""
    rooms: dict[str, list[Room]] = {}
    for campus in campuses:
        rooms[campus.code] = []
        specs = [(f"{100 + n}", f"Room {100 + n}", RoomKind.classroom) for n in range(1, 16)]
        specs += [
            ("LIB", "Library", RoomKind.library),
            ("OFF", "Front office", RoomKind.office),
            ("IT", "IT storage", RoomKind.storage),
            ("CART-A", "Cart A", RoomKind.cart),
            ("CART-B", "Cart B", RoomKind.cart),
        ]
        for suffix, name, kind in specs:
            room = Room(campus=campus, code=f"{campus.code}-{suffix}", name=name, kind=kind, tag_code=_code(rng))
            rooms[campus.code].append(room)
            db.session.add(room)
    return rooms


def _users(campuses: list[Campus]) -> None:
    """The demo sign-ins, one per role, all with the demo password."""
    for email, role, codes in DEMO_USERS:
        user = User(
            email=email,
            name=email.split("@")[0].replace(".", " ").title(),
            role=Role(role),
            campuses=[c for c in campuses if c.code in codes],
        )
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)


def _people(rng: random.Random, campuses: list[Campus], n_students: int) -> list[dict[str, Any]]:
    """Students spread over the campuses in their grades, then twelve staff per campus."""
    rows = []
    for i in range(n_students):
        campus_index = i % len(campuses)
        code, _, grades = CAMPUSES[campus_index]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(
            {
                "external_id": f"{code}{100001 + i}",
                "sourced_id": f"demo-s{i + 1}",
                "kind": PersonKind.student,
                "name": f"{first} {last}",
                "grade": f"{rng.choice(list(grades)):02d}" if grades else "KG",
                "email": f"{first}.{last}{i + 1}@students.mvusd.example".lower(),
                "username": f"{first}.{last}{i + 1}".lower(),
                "campus_id": campuses[campus_index].id,
                "active": True,
            }
        )
    for campus in campuses:
        for n in range(12):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            rows.append(
                {
                    "external_id": f"T{campus.code}{n + 1:03d}",
                    "sourced_id": f"demo-t-{campus.code}-{n}",
                    "kind": PersonKind.staff,
                    "name": f"{first} {last}",
                    "grade": None,
                    "email": f"{first}.{last}.{campus.code}{n}@mvusd.example".lower(),
                    "username": f"{first}.{last}.{campus.code}{n}".lower(),
                    "campus_id": campus.id,
                    "active": True,
                }
            )
    return rows


def _students_by_campus(campuses: list[Campus]) -> dict[int, list[Any]]:
    """The students as stored (id, campus, name, student ID), in id order, per campus id."""
    students = db.session.execute(
        sa.select(Person.id, Person.campus_id, Person.name, Person.external_id)
        .where(Person.kind == PersonKind.student)
        .order_by(Person.id)
    ).all()
    by_campus: dict[int, list[Any]] = {c.id: [] for c in campuses}
    for row in students:
        by_campus[row.campus_id].append(row)
    return by_campus


class _Devices:
    """The district's devices, dealt out campus by campus: each one's status, condition, model, home and, for
    most deployed ones, the next student of its campus."""

    def __init__(
        self,
        rng: random.Random,
        campuses: list[Campus],
        rooms: dict[str, list[Room]],
        models: list[DeviceModel],
        n_assets: int,
        now: datetime,
    ) -> None:
        self.rng, self.campuses, self.rooms, self.models, self.now = rng, campuses, rooms, models, now
        self.pool_size = max(2, n_assets // 40)  # loaners per campus
        self.students = _students_by_campus(campuses)
        self.next_student = {c.id: 0 for c in campuses}
        self.assignments: list[tuple[str, int, date]] = []

    def home(self, code: str, status: AssetStatus) -> Room:
        """A classroom for devices in use, the library for loaners, IT storage for what sits on a shelf."""
        rng, rooms = self.rng, self.rooms[code]
        home = rng.choice(rooms[:15]) if status is not AssetStatus.loaner else rooms[15]
        if status in (AssetStatus.in_stock, AssetStatus.in_repair, AssetStatus.retired):
            home = rooms[17]
        return home

    def holder(self, campus: Campus, status: AssetStatus) -> Any | None:
        """The next student of the campus for most deployed devices, while there are students left."""
        pool = self.students[campus.id]
        if status is AssetStatus.deployed and self.rng.random() < 0.92 and self.next_student[campus.id] < len(pool):
            self.next_student[campus.id] += 1
            return pool[self.next_student[campus.id] - 1]
        return None

    def row(self, i: int) -> dict[str, Any]:
        """Device number i as an assets row (its assignment noted for later)."""
        rng = self.rng
        campus = self.campuses[i % len(self.campuses)]
        code = campus.code
        model_index = rng.randrange(len(self.models))
        model = self.models[model_index]
        status = _status_for(rng, i // len(self.campuses), self.pool_size)
        condition = rng.choices(list(Condition), weights=[70, 18, 8, 4])[0]
        if status is AssetStatus.in_repair:
            condition = rng.choice([Condition.damaged, Condition.broken])
        bought = date(2021 + rng.randrange(5), rng.choice([7, 8]), rng.randrange(1, 28))
        home = self.home(code, status)
        tag = f"{code}-{10000 + i}"
        serial = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(10))
        row: dict[str, Any] = {
            "asset_tag": tag,
            "serial": serial,
            "tag_code": _code(rng),
            "model_id": model.id,
            "campus_id": campus.id,
            "home_room_id": home.id,
            "status": status,
            "condition": condition,
            "purchase_date": bought,
            "purchase_cost": MODELS[model_index][3],
            "warranty_provider": "Manufacturer" if rng.random() < 0.6 else "SchoolGuard",
            "warranty_plan": rng.choice(["3-year standard", "3-year accidental damage", "4-year ADP"]),
            "warranty_start": bought,
            "warranty_end": bought + timedelta(days=365 * rng.choice([3, 3, 4])),
            "warranty_accidental": rng.random() < 0.5,
            "warranty_battery": rng.random() < 0.3,
            "assigned_to_id": None,
            "notes": "",
            "created_at": self.now,
            "updated_at": self.now,
        }
        person = self.holder(campus, status)
        if person is not None:
            row["assigned_to_id"] = person.id
            self.assignments.append((tag, person.id, bought))
        row["search_text"] = " ".join(
            [tag, serial, row["tag_code"], model.manufacturer, model.name]
            + ([person.name, person.external_id] if person else [])
        ).lower()
        return row


def _insert(model: type, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(model), rows[start : start + BATCH])


def seed(n_assets: int = 600, seed: int = 1) -> str:
    """Fill an empty database with a demo district; returns a one-line summary."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    campuses = [Campus(code=code, name=name, loan_days=0 if code != "LHS" else 1) for code, name, _ in CAMPUSES]
    db.session.add_all(campuses)
    db.session.flush()
    rooms = _rooms(rng, campuses)
    models = [DeviceModel(manufacturer=m, name=n, category="Chromebook", aue_date=aue) for m, n, aue, _ in MODELS]
    db.session.add_all(models)
    db.session.flush()
    _users(campuses)
    db.session.flush()

    # Students: about one per deployed device, plus staff for each campus.
    people_rows = _people(rng, campuses, max(10, int(n_assets * 0.85)))
    _insert(Person, people_rows)
    devices = _Devices(rng, campuses, rooms, models, n_assets, now)
    _insert(Asset, [devices.row(i) for i in range(n_assets)])
    admin = db.session.execute(sa.select(User).where(User.email == DEMO_USERS[0][0])).scalar_one()
    ids = dict(db.session.execute(sa.select(Asset.asset_tag, Asset.id)).all())
    _insert(
        Assignment,
        [
            {
                "asset_id": ids[tag],
                "person_id": pid,
                "assigned_at": datetime(d.year, d.month, d.day, tzinfo=UTC),
                "assigned_by_id": admin.id,
            }
            for tag, pid, d in devices.assignments
        ],
    )
    observations.seed_demo_observations(seed, now)
    summary = (
        f"{len(campuses)} campuses, {sum(len(r) for r in rooms.values())} rooms, {len(people_rows)} people, "
        f"{len(DEMO_USERS)} users, {n_assets} devices"
    )
    activity.record("district.seed", f"Seeded the demo district: {summary}", by=None, via=Via.cli)
    return summary
