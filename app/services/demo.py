"""A believable demo district, the same for the same seed: campuses, rooms, people, users, devices, what Google
Admin knows of them and when each was last seen; app/services/demo_story.py then gives it its working life."""

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
    Observation,
    ObservationSource,
    Person,
    PersonKind,
    Role,
    Room,
    RoomKind,
    User,
    Via,
    utcnow,
)
from app.services import activity, demo_story
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
# manufacturer, model, years from the end of this school year to its Auto Update Expiration (each June), price
# Who signs in with each demo login, as the pages name them.
USER_NAMES = {
    "admin@mvusd.example": "Dana Whitfield",
    "it.lhs@mvusd.example": "Marcus Bell",
    "tech@mvusd.example": "Priya Raman",
    "librarian.lhs@mvusd.example": "Helen Ortiz",
    "librarian.jms@mvusd.example": "Sam Okafor",
    "aide.lhs@mvusd.example": "Luis Moreno",
    "aide.res@mvusd.example": "Grace Kim",
    "principal.lhs@mvusd.example": "Angela Brooks",
}
MODELS = [
    ("Acer", "Chromebook 311 (C722)", 2, Decimal("289.00")),
    ("Acer", "Chromebook Spin 512 (R856T)", 4, Decimal("379.00")),
    ("HP", "Chromebook 11 G9 EE", 1, Decimal("249.99")),
    ("HP", "Fortis 14 G11 Chromebook", 6, Decimal("329.00")),
    ("Lenovo", "100e Chromebook Gen 3", 0, Decimal("239.00")),
    ("Lenovo", "300e Yoga Chromebook Gen 4", 5, Decimal("399.00")),
    ("Dell", "Chromebook 3110", 3, Decimal("279.00")),
]
# The manufacturers' own care programmes (also on the vendor list, app/services/demo_story.py).
CARE = {"Acer": "Acer Care Plus", "HP": "HP Care Pack", "Lenovo": "Lenovo Premier Support", "Dell": "Dell ProSupport"}
# plan: years, accidental damage, battery, claims allowed (None: no limit)
PLANS = {
    "3-year standard": (3, False, False, None),
    "3-year accidental damage": (3, True, False, 2),
    "4-year ADP": (4, True, True, 3),
}
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
    # Devices in repair come from the demo's tickets; the few here are the stalled ones the closet finder shows.
    for status, share in (
        (AssetStatus.deployed, 0.82),
        (AssetStatus.in_stock, 0.08),
        (AssetStatus.in_repair, 0.01),
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
            name=USER_NAMES.get(email) or email.split("@")[0].replace(".", " ").title(),
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
    """The students as stored (id, campus, name, student ID, email), in id order, per campus id."""
    students = db.session.execute(
        sa.select(Person.id, Person.campus_id, Person.name, Person.external_id, Person.email)
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
        # Loaners per campus: enough for the demo's swaps and desk loans on a small district too.
        self.pool_size = max(6, n_assets // 40)
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
        # Bought each summer over the last five years.
        bought = date(self.now.year - 1 - rng.randrange(5), rng.choice([7, 8]), rng.randrange(1, 28))
        home = self.home(code, status)
        tag = f"{code}-{10000 + i}"
        serial = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(10))
        # The manufacturer's care programme (standard or accidental damage) or the district's insurer's plans.
        if rng.random() < 0.6:
            provider, plan = CARE[model.manufacturer], rng.choice(["3-year standard", "3-year accidental damage"])
        else:
            provider, plan = "SchoolGuard", rng.choice(["3-year accidental damage", "4-year ADP"])
        years, accidental, battery, claims = PLANS[plan]
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
            "warranty_provider": provider,
            "warranty_plan": plan,
            "warranty_start": bought,
            "warranty_end": date(bought.year + years, bought.month, bought.day),
            "warranty_accidental": accidental,
            "warranty_battery": battery,
            "warranty_claims_allowed": claims,
            "assigned_to_id": None,
            "notes": "",
            "created_at": self.now,
            "updated_at": self.now,
        }
        if status is AssetStatus.in_repair:
            # Stalled: taken in weeks ago, no ticket, nobody has touched it since.
            row["updated_at"] = self.now - timedelta(days=40 + rng.randrange(60))
        person = self.holder(campus, status)
        if person is not None:
            row["assigned_to_id"] = person.id
            self.assignments.append((tag, person.id, bought))
        row.update(self.google(rng, campus, model, status, bought, tag, home, person))
        row["search_text"] = " ".join(
            [tag, serial, row["tag_code"], model.manufacturer, model.name]
            + ([person.name, person.external_id] if person else [])
        ).lower()
        return row

    def google(
        self,
        rng: random.Random,
        campus: Campus,
        model: DeviceModel,
        status: AssetStatus,
        bought: date,
        tag: str,
        home: Room,
        person: Any | None,
    ) -> dict[str, Any]:
        """What Google Admin knows of the device: enrolment, org unit, last sync, its most recent user (for a few
        assigned devices another student: the mismatches list) and the annotated fields."""
        if status is AssetStatus.retired:
            return {"google_status": "DEPROVISIONED", "google_device_id": f"{rng.getrandbits(64):016x}"}
        unit = {
            AssetStatus.deployed: f"/Students/{campus.code}" if person is not None else f"/Classrooms/{campus.code}",
            AssetStatus.loaner: f"/Loaners/{campus.code}",
        }.get(status, f"/Inventory/{campus.code}")
        recent = person.email if person is not None else None
        if person is not None and rng.random() < 0.04:
            pool = self.students[campus.id]
            recent = pool[rng.randrange(len(pool))].email  # a classmate signed in on it
        return {
            "google_device_id": f"{rng.getrandbits(64):016x}",
            "google_status": "DISABLED" if status is AssetStatus.missing else "ACTIVE",
            "org_unit": unit,
            "last_sync_at": self.now - timedelta(hours=2 + rng.randrange(20)),
            "enrolled_at": datetime(bought.year, bought.month, bought.day, 16, tzinfo=UTC) + timedelta(days=9),
            "google_recent_user": recent,
            "annotated_asset_id": tag,
            "annotated_location": home.code,
            "annotated_user": person.email if person is not None else None,
            "google_aue_date": model.aue_date,
        }


def _insert(model: type, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(model), rows[start : start + BATCH])


def _aue(years_on: int, today: date) -> date:
    """The June Auto Update Expiration `years_on` school years after this one (0: this school year's June)."""
    return date(today.year + (1 if today.month >= 7 else 0) + years_on, 6, 1)


def _school_hours(rng: random.Random, moment: datetime, now: datetime) -> datetime:
    """The school day nearest before `moment` (a weekday), at a time between 8:00 and 15:00 on the Pacific coast,
    and never later than now."""
    day = moment.date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    at = datetime(day.year, day.month, day.day, 16, tzinfo=UTC) + timedelta(minutes=rng.randrange(7 * 60))
    return min(at, now - timedelta(minutes=rng.randrange(10, 300)))


def _sightings(rng: random.Random, now: datetime) -> int:
    """When each device was last seen: nearly every device in use scanned within the last four weeks; about one in
    ten last seen one to four months ago, and a few never scanned (what "not seen in 30 days" finds); missing
    devices last seen long ago. Bulk inserts and a bulk update by primary key keep this fast for large districts."""
    scanners: dict[int, list[int]] = {}
    for user in db.session.scalars(sa.select(User).where(User.role.in_([Role.aide, Role.tech, Role.librarian]))):
        for campus in user.campuses:
            scanners.setdefault(campus.id, []).append(user.id)
    rooms_by_campus: dict[int, list[int]] = {}
    for room_id, campus_id in db.session.execute(sa.select(Room.id, Room.campus_id).order_by(Room.id)):
        rooms_by_campus.setdefault(campus_id, []).append(room_id)
    seen_statuses = [
        AssetStatus.deployed,
        AssetStatus.loaner,
        AssetStatus.in_stock,
        AssetStatus.in_repair,
        AssetStatus.missing,
    ]
    rows = db.session.execute(
        sa.select(Asset.id, Asset.campus_id, Asset.home_room_id, Asset.status)
        .where(Asset.status.in_(seen_statuses))
        .order_by(Asset.id)
    ).all()
    found: list[dict[str, Any]] = []
    projections: list[dict[str, Any]] = []
    for asset_id, campus_id, home_room_id, status in rows:
        roll = rng.random()
        if status is AssetStatus.missing:
            ages = [rng.uniform(45, 200)]
        elif status is AssetStatus.in_repair:
            ages = [rng.uniform(40, 100)]
        elif roll < 0.04 or not scanners.get(campus_id):
            continue  # never scanned since it came in
        elif roll < 0.13:
            ages = [rng.uniform(31, 120)]
        else:
            ages = [rng.uniform(0.2, 27)] + ([rng.uniform(28, 90)] if rng.random() < 0.4 else [])
        last: dict[str, Any] | None = None
        for age in ages:
            at = _school_hours(rng, now - timedelta(days=age), now)
            seen_in = home_room_id
            if rng.random() < 0.04:
                seen_in = rng.choice(rooms_by_campus[campus_id])  # wandered off to another room
            row: dict[str, Any] = {
                "asset_id": asset_id,
                "room_id": seen_in,
                "at": at,
                "by_id": rng.choice(scanners.get(campus_id) or [None]),
                "source": ObservationSource.demo,
                "via": Via.cli,
                "flagged": False,
                "created_at": now,
            }
            found.append(row)
            if last is None or at > last["at"]:
                last = row
        if last is not None:
            projections.append(
                {
                    "id": asset_id,
                    "current_room_id": last["room_id"],
                    "last_seen_at": last["at"],
                    "last_seen_by_id": last["by_id"],
                }
            )
    _insert(Observation, found)
    for start in range(0, len(projections), BATCH):
        db.session.execute(sa.update(Asset), projections[start : start + BATCH])
    return len(found)


def seed(n_assets: int = 600, seed: int = 1, now: datetime | None = None) -> str:
    """Fill an empty database with a demo district dated around `now` (default: the present); returns a
    one-line summary."""
    rng = random.Random(seed)
    now = now or utcnow()
    campuses = [Campus(code=code, name=name, loan_days=0 if code != "LHS" else 1) for code, name, _ in CAMPUSES]
    db.session.add_all(campuses)
    db.session.flush()
    rooms = _rooms(rng, campuses)
    models = [
        DeviceModel(manufacturer=m, name=n, category="Chromebook", aue_date=_aue(years, now.date()))
        for m, n, years, _ in MODELS
    ]
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
                "assigned_at": datetime(d.year, d.month, d.day, 15, tzinfo=UTC) + timedelta(days=24),
                "assigned_by_id": admin.id,
            }
            for tag, pid, d in devices.assignments
        ],
    )
    _sightings(random.Random(seed * 7919 + 4), now)
    story = demo_story.tell(random.Random(seed * 104729 + 11), now)
    summary = (
        f"{len(campuses)} campuses, {sum(len(r) for r in rooms.values())} rooms, {len(people_rows)} people, "
        f"{len(DEMO_USERS)} users, {n_assets} devices, {story['tickets']} tickets"
    )
    activity.record("district.seed", f"Seeded the demo district: {summary}", by=None, via=Via.cli)
    return summary
