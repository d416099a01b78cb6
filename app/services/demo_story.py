"""The demo district at work: tickets in every state, parts, fees, audits, loans, run through the real services
and dated back over the last weeks, so a first look at the demo shows a district in the middle of its term."""

from __future__ import annotations

import bisect
import io
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from PIL import Image, ImageDraw

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Campus,
    Condition,
    DeviceModel,
    FeeStatus,
    LoanerSwap,
    Part,
    Person,
    PersonKind,
    Priority,
    Role,
    Room,
    RoomKind,
    StockReason,
    Ticket,
    TicketCategory,
    TicketStatus,
    User,
    Via,
    WarrantyClaim,
    utcnow,
)
from app.models.repairs import Vendor
from app.models.types import UTCDateTime
from app.services import fees, loans, photos, tickets, warranty
from app.services import found as found_again
from app.services.audits import workflow as audits
from app.services.errors import DomainError
from app.services.observations import Sighting, record_sightings
from app.services.repairs import costs, parts, swaps, workflow

# Tables the story writes to; the clock dates back what each step wrote in them.
DATED_TABLES = (
    "tickets",
    "ticket_events",
    "ticket_comments",
    "ticket_photos",
    "ticket_repairs",
    "ticket_parts",
    "ticket_labour",
    "warranty_claims",
    "shipping_batches",
    "loaner_swaps",
    "loans",
    "fees",
    "assets",
    "assignments",
    "observations",
    "activity",
    "audits",
    "stock_adjustments",
)

VENDORS = [
    (
        "Acer Care Plus",
        "Acer education support · 1-866-695-2237 · edu.support@acer.example",
        "https://care.acer.example/claims",
        "Acer Service Center\n333 W San Carlos St\nSan Jose, CA 95110",
    ),
    (
        "HP Care Pack",
        "HP K-12 desk · 1-800-334-5144",
        "https://support.hp.example/k12",
        "HP Depot Repair\n10300 Energy Dr\nSpring, TX 77389",
    ),
    (
        "Lenovo Premier Support",
        "Premier desk · premier@lenovo.example",
        "https://pcsupport.lenovo.example",
        "Lenovo Depot\n1009 Think Pl\nMorrisville, NC 27560",
    ),
    (
        "Dell ProSupport",
        "Dell K-12 · 1-800-456-3355",
        "https://www.dell.example/support",
        "Dell Mail-in Service\n1 Dell Way\nRound Rock, TX 78682",
    ),
    (
        "SchoolGuard",
        "Claims team · claims@schoolguard.example · 1-855-724-6548",
        "https://portal.schoolguard.example",
        "SchoolGuard Repair Depot\n4800 Industrial Pkwy\nIndianapolis, IN 46226",
    ),
]

# name, part number, unit cost, the models it fits (by model name; none: any), low-stock level
PARTS = [
    ("Screen 11.6in HD (Acer 311)", "ACR-311-LCD", "48.00", ["Chromebook 311 (C722)"], 3),
    ("Touch screen assembly (Spin 512)", "ACR-512-TSA", "96.00", ["Chromebook Spin 512 (R856T)"], 2),
    ("Screen 11.6in (HP 11 G9 EE)", "HP-G9-LCD", "44.00", ["Chromebook 11 G9 EE"], 3),
    ("Keyboard (HP Fortis 14 G11)", "HP-F14-KB", "36.00", ["Fortis 14 G11 Chromebook"], 2),
    ("Keyboard bezel (Lenovo 100e Gen 3)", "LNV-100E-KB", "39.00", ["100e Chromebook Gen 3"], 2),
    ("Battery (Lenovo 300e Gen 4)", "LNV-300E-BAT", "52.00", ["300e Yoga Chromebook Gen 4"], 1),
    ("Screen 11.6in (Dell 3110)", "DEL-3110-LCD", "45.00", ["Chromebook 3110"], 2),
    ("Hinge cover pair (Acer 311)", "ACR-311-HNG", "9.50", ["Chromebook 311 (C722)"], 2),
    ("USB-C 45 W charger", "USBC-45W", "24.00", [], 4),
]

DESCRIPTIONS = {
    TicketCategory.cracked_screen: [
        "Dropped it in the hallway and the screen cracked in the corner.",
        "Screen has a crack across the middle, still turns on.",
        "Lines across the screen after it fell off my desk.",
    ],
    TicketCategory.keyboard_trackpad: [
        "Trackpad doesn't click anymore.",
        "Some keys on the left side stopped typing.",
    ],
    TicketCategory.wont_charge: [
        "Charger light stays off and the battery is dead.",
        "Only charges if the cable is held at an angle.",
    ],
    TicketCategory.wont_turn_on: [
        "Won't turn on at all, even plugged in overnight.",
        "Black screen when I press power; lights blink twice.",
    ],
    TicketCategory.liquid: [
        "Spilled water on the keyboard at lunch.",
        "Juice spilled in my backpack, keys are sticky now.",
    ],
    TicketCategory.missing_keys: ["The E and R keys popped off.", "Space bar came off and is lost."],
    TicketCategory.camera_sound: ["Camera shows a black image in Meet.", "No sound from the speakers."],
}
COMMENTS = [
    "Called home; family will bring the charger in tomorrow.",
    "Checked under warranty: covered, opening the claim.",
    "Replacement part ordered from the depot stock.",
    "Student confirmed it was dropped, not a defect.",
    "Back from the vendor, tested and working.",
]
FEE_REASONS = {
    TicketCategory.cracked_screen: "Cracked screen",
    TicketCategory.liquid: "Liquid damage",
    TicketCategory.keyboard_trackpad: "Keyboard damage",
    TicketCategory.missing_keys: "Keyboard damage",
}


# How many of each ticket scenario each campus gets (the high school most, the elementary school fewest).
TICKETS = [
    {"reports": 3, "staff": 1, "triaged": 2, "repair": 2, "swap": 1, "claims": 5, "swap_resolved": 1, "closed": 3},
    {"reports": 2, "staff": 0, "triaged": 1, "repair": 2, "swap": 1, "claims": 3, "swap_resolved": 1, "closed": 2},
    {"reports": 2, "staff": 1, "triaged": 1, "repair": 1, "swap": 0, "claims": 2, "swap_resolved": 0, "closed": 2},
]


class Clock:
    """Runs service calls as if at earlier moments: each step notes the stretch of real time it ran in, and
    settle() moves whatever was written in that stretch (a row's created_at, an activity entry, a status change)
    back to the step's moment, keeping the order within the step. Times a step gave explicitly (an audit's start,
    a loan's checkout) were in the past already and stay as they are; a loan made at the real time (a loaner swap)
    keeps its due time as far from its checkout as it was."""

    def __init__(self) -> None:
        self.began = utcnow()
        obs = db.metadata.tables["observations"]
        self.first_observation = (db.session.scalar(sa.select(sa.func.max(obs.c.id))) or 0) + 1
        self.windows: list[tuple[datetime, datetime, timedelta]] = []

    @contextmanager
    def at(self, when: datetime) -> Iterator[None]:
        db.session.flush()
        start = utcnow()
        yield
        db.session.flush()
        self.windows.append((start, utcnow() + timedelta(microseconds=1), start - when))

    def _shift(self, value: datetime | None) -> timedelta | None:
        if value is None or value < self.began:
            return None
        i = bisect.bisect_right(self.starts, value) - 1
        if i >= 0 and value <= self.windows[i][1]:
            return self.windows[i][2]
        return None

    def settle(self) -> None:
        """Date back every time written during the steps, table by table, in one pass."""
        db.session.flush()
        self.windows.sort()
        self.starts = [w[0] for w in self.windows]
        for table in db.metadata.sorted_tables:
            if table.name not in DATED_TABLES:
                continue
            pk = list(table.primary_key.columns)
            cols = [c for c in table.columns if isinstance(c.type, UTCDateTime)]
            rows = db.session.execute(sa.select(*pk, *cols).where(sa.or_(*[c >= self.began for c in cols]))).all()
            params = []
            for row in rows:
                keys, values = row[: len(pk)], row[len(pk) :]
                shifts = [self._shift(v) for v in values]
                if table.name == "loans":
                    # A loan made at the real time (a loaner swap's, due back on a school day's end): its due day
                    # moves by as many days as its checkout did.
                    out = shifts[[c.name for c in cols].index("checked_out_at")]
                    days = timedelta(days=round(out.total_seconds() / 86400)) if out is not None else None
                    shifts = [
                        s if s is not None or v is None or v < self.began or days is None else _weekday(v, days)
                        for v, s in zip(values, shifts, strict=True)
                    ]
                if not any(shifts):
                    continue
                item = {f"pk_{c.name}": k for c, k in zip(pk, keys, strict=True)}
                for c, v, s in zip(cols, values, shifts, strict=True):
                    item[f"v_{c.name}"] = v - s if s is not None else v
                params.append(item)
            if not params:
                continue
            stmt = (
                sa.update(table)
                .where(*[c == sa.bindparam(f"pk_{c.name}") for c in pk])
                .values({c.name: sa.bindparam(f"v_{c.name}", type_=c.type) for c in cols})
            )
            db.session.execute(stmt.execution_options(synchronize_session=False), params)
        self._reproject()
        db.session.expire_all()

    def _reproject(self) -> None:
        """Each device seen during the steps gets its last-seen facts from its newest observation again (the steps
        ran in real time order, the observations' times are their moments)."""
        obs = db.metadata.tables["observations"]
        touched = sa.select(obs.c.asset_id).where(obs.c.id >= self.first_observation).distinct().scalar_subquery()
        rows = db.session.execute(
            sa.select(obs.c.asset_id, obs.c.at, obs.c.room_id, obs.c.by_id)
            .where(obs.c.asset_id.in_(touched))
            .order_by(obs.c.asset_id, obs.c.at, obs.c.id)
        ).all()
        newest: dict[int, dict[str, Any]] = {}
        for asset_id, at, room_id, by_id in rows:
            facts = newest.setdefault(asset_id, {"id": asset_id, "current_room_id": None})
            facts.update(last_seen_at=at, last_seen_by_id=by_id)
            if room_id is not None:
                facts["current_room_id"] = room_id
        for facts in newest.values():
            if facts["current_room_id"] is None:
                del facts["current_room_id"]
        for facts in newest.values():
            db.session.execute(sa.update(Asset).where(Asset.id == facts.pop("id")).values(**facts))


def _weekday(due: datetime, days: timedelta) -> timedelta:
    """The shift that moves `due` back by `days`, then on to a weekday."""
    moved = due - days
    while moved.weekday() >= 5:
        moved += timedelta(days=1)
    return due - moved


def jpeg(rng: random.Random, category: TicketCategory) -> bytes:
    """A small photo of a damaged laptop screen as a phone would send it (drawn, so the demo needs no files)."""
    w, h = 480, 360
    im = Image.new("RGB", (w, h), (rng.randrange(150, 190),) * 3)
    draw = ImageDraw.Draw(im)
    draw.rounded_rectangle((40, 30, w - 40, h - 60), radius=14, fill=(34, 34, 38))
    draw.rectangle(
        (60, 48, w - 60, h - 78), fill=(58, 92, 140) if category is not TicketCategory.liquid else (40, 60, 70)
    )
    x, y = rng.randrange(120, w - 120), rng.randrange(80, h - 120)
    for _ in range(9):
        nx, ny = x + rng.randrange(-120, 120), y + rng.randrange(-90, 90)
        draw.line((x, y, nx, ny), fill=(230, 230, 235), width=2)
    draw.rectangle((40, h - 56, w - 40, h - 20), fill=(70, 70, 74))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=70)
    return out.getvalue()


@dataclass
class _Later:
    """The n-th part of a catalogue a step fills in later."""

    catalogue: list[Part]
    n: int

    def get(self) -> Part:
        return self.catalogue[self.n]


@dataclass
class Flow:
    """One ticket's life in the demo, its steps run in time order with everyone else's."""

    asset: Asset
    ticket: Ticket | None = None
    claim: WarrantyClaim | None = None
    dead: bool = False
    last: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Story:
    """Builds the district's working state: each scenario queues dated steps; run() plays them in time order."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.today = now.date()
        self.clock = Clock()
        self.steps: list[tuple[datetime, int, Callable[[], None], tuple[Flow, ...]]] = []
        self.users = {u.email: u for u in db.session.scalars(sa.select(User))}
        self.admin = next(u for u in self.users.values() if u.role is Role.admin and not u.campuses)
        self.tech = next(u for u in self.users.values() if u.role is Role.tech)
        self.campuses = list(db.session.scalars(sa.select(Campus).order_by(Campus.id)))
        self.used: set[int] = set()
        self.photos = 0

    # ---- helpers ---------------------------------------------------------------------------------------------

    def ago(self, days: float, hour: int | None = None) -> datetime:
        """A moment `days` back, in school hours (8:00–15:00 campus time, roughly: UTC-8 is assumed for the demo)."""
        day = self.today - timedelta(days=int(days))
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        hour = hour if hour is not None else self.rng.randrange(8, 15)
        local = datetime.combine(day, time(hour, self.rng.randrange(60)))
        moment = (local + timedelta(hours=8)).replace(tzinfo=UTC)
        return min(moment, self.now - timedelta(minutes=self.rng.randrange(5, 90)))

    def step(self, when: datetime, fn: Callable[[], None], *flows: Flow) -> None:
        """Queue fn at `when`, or just after the last step queued for any of its flows (so a flow's steps keep their
        order whatever hour each was given), never later than now."""
        for f in flows:
            if f.last is not None:
                when = max(when, f.last + timedelta(minutes=2 + self.rng.randrange(20)))
        when = min(when, self.now)
        for f in flows:
            f.last = when
        self.steps.append((when, len(self.steps), fn, flows))

    def staff_for(self, campus: Campus, role: Role) -> User:
        for u in self.users.values():
            if u.role is role and [c.id for c in u.campuses] == [campus.id]:
                return u
        return self.tech

    def devices(self, campus: Campus, *, n: int) -> list[Asset]:
        """Deployed, assigned devices of the campus not used by another scenario yet, picked by the seeded RNG."""
        # The first few hundred candidates are plenty, and keep this quick on a district of a million devices.
        pool = list(
            db.session.scalars(
                sa.select(Asset)
                .where(
                    Asset.campus_id == campus.id,
                    Asset.status == AssetStatus.deployed,
                    Asset.assigned_to_id.is_not(None),
                    Asset.id.not_in(self.used) if self.used else sa.true(),
                )
                .order_by(Asset.id)
                .limit(400)
            )
        )
        picked = self.rng.sample(pool, min(n, len(pool)))
        self.used.update(a.id for a in picked)
        return picked

    def loaners(self, campus: Campus) -> list[Asset]:
        return list(
            db.session.scalars(
                sa.select(Asset)
                .where(Asset.campus_id == campus.id, Asset.status == AssetStatus.loaner)
                .order_by(Asset.id)
            )
        )

    def covered(self, asset: Asset, accidental: bool) -> bool:
        return (
            asset.warranty_end is not None
            and asset.warranty_end > self.today + timedelta(days=60)
            and (asset.warranty_accidental or not accidental)
        )

    # ---- the parts shelf -----------------------------------------------------------------------------------

    def stock_parts(self) -> None:
        models = {m.name: m for m in db.session.scalars(sa.select(DeviceModel))}
        catalogue: list[Part] = []

        def add_parts() -> None:
            for name, number, cost, fits, low in PARTS:
                catalogue.append(
                    parts.create_part(
                        name=name,
                        part_number=number,
                        unit_cost=cost,
                        fits=[models[f] for f in fits if f in models],
                        low_stock_at=low,
                        by=self.tech,
                        via=Via.web,
                    )
                )

        self.step(self.ago(64, hour=7), add_parts)
        for n, (_name, _number, _cost, _fits, low) in enumerate(PARTS):
            part = _Later(catalogue, n)
            for campus in self.campuses:
                if campus.code == "RES" and self.rng.random() < 0.35:
                    continue  # the elementary school keeps few parts and borrows from the high school
                received = self.rng.randrange(2, 10) + low
                term = self._adjust(part, campus, StockReason.received, received, "Start of term order")
                self.step(self.ago(58), term)
                counted = max(0, received - self.rng.choice([0, 0, 0, 1, 2]))
                self.step(self.ago(12), self._adjust(part, campus, StockReason.counted, counted, "Monthly shelf count"))
                if self.rng.random() < 0.15:
                    box = self._adjust(part, campus, StockReason.damaged, 1, "Arrived cracked in the box")
                    self.step(self.ago(6), box)

    def _adjust(self, later: _Later, campus: Campus, reason: StockReason, n: int, note: str) -> Callable[[], None]:
        def run() -> None:
            part = later.get()
            if reason is StockReason.damaged and parts.stock_of(part, campus.id) < n:
                return
            parts.adjust_stock(part, campus, reason, n, note=note, by=self.tech, via=Via.web)

        return run

    # ---- tickets -------------------------------------------------------------------------------------------

    def tickets(self) -> None:
        """Per campus (fewer at the smaller ones): fresh student reports with photos, a staff ticket, triaged ones,
        repairs in progress (one waiting for parts, one with a loaner swapped in), warranty claims (in a shipped
        batch, submitted, approved, returned), one resolved with its swap waiting to be reversed, closed ones with
        fees."""
        for i, campus in enumerate(self.campuses):
            n = TICKETS[i % len(TICKETS)]
            self.fresh_reports(campus, n["reports"], staff=n["staff"])
            self.triaged(campus, n["triaged"])
            self.in_repair(campus, n["repair"], swapped=n["swap"])
            self.claims(campus, n["claims"])
            self.resolved_with_swap(campus, n["swap_resolved"])
            self.closed(campus, n["closed"], offset=i)

    def fresh_reports(self, campus: Campus, n: int, *, staff: int) -> None:
        for k, asset in enumerate(self.devices(campus, n=n)):
            f = Flow(asset)
            cat = self.rng.choice([TicketCategory.cracked_screen, TicketCategory.liquid, TicketCategory.wont_charge])
            self.step(self.ago(k * 1.5, hour=9 + k), self._report(f, cat, photo=True), f)
        for asset in self.devices(campus, n=staff):
            f = Flow(asset)
            desk = self.staff_for(campus, Role.librarian)
            self.step(self.ago(1), self._open(f, TicketCategory.camera_sound, desk), f)

    def triaged(self, campus: Campus, n: int) -> None:
        for k, asset in enumerate(self.devices(campus, n=n)):
            f = Flow(asset)
            cat = [TicketCategory.keyboard_trackpad, TicketCategory.missing_keys][k % 2]
            self.step(self.ago(4 + k), self._report(f, cat, photo=False), f)
            self.step(self.ago(3 + k), self._triage(f, Priority.normal, accidental=k % 2 == 1), f)

    def in_repair(self, campus: Campus, n: int, *, swapped: int) -> None:
        """In repair with a part fitted and time logged, then one waiting for parts; and with a loaner swapped in."""
        for k, asset in enumerate(self.devices(campus, n=n)):
            f = Flow(asset)
            self.step(self.ago(9 + k), self._report(f, TicketCategory.cracked_screen, photo=k == 0), f)
            self.step(self.ago(8 + k), self._triage(f, Priority.high, accidental=True), f)
            if k == 0:
                self.step(self.ago(7), self._take_in(f), f)
                self.step(self.ago(6), self._fit(f, minutes=35), f)
                self.step(self.ago(6), self._comment(f, COMMENTS[2]), f)
            else:
                self.step(self.ago(7), self._take_in(f, waiting=True), f)
                self.step(self.ago(7), self._comment(f, "No screen for this model on the shelf; ordered."), f)
        for asset in self.devices(campus, n=swapped):
            f = Flow(asset)
            self.step(self.ago(5), self._open(f, TicketCategory.wont_turn_on, self.tech), f)
            self.step(self.ago(5), self._triage(f, Priority.urgent, accidental=False), f)
            self.step(self.ago(5), self._swap(f), f)

    def claims(self, campus: Campus, n: int) -> None:
        """Warranty claims, in this order: two in a batch shipped last week, one just submitted, one approved and
        waiting for the next box, one returned by the vendor and closed."""
        candidates = self.devices(campus, n=40)
        covered = [a for a in candidates if self.covered(a, accidental=False)]
        # The two shipped together go to one vendor: the campus's most common one but the first campus's.
        counts = {
            a.warranty_provider: sum(b.warranty_provider == a.warranty_provider for b in covered) for a in covered
        }
        vendors = sorted(counts, key=lambda v: (-counts[v], v or ""))
        usable = [v for v in vendors if counts[v] >= 2] or vendors
        lead = usable[self.campuses.index(campus) % len(usable)] if usable else None
        covered = sorted(covered, key=lambda a: a.warranty_provider != lead)[:n]
        self.used.difference_update(a.id for a in candidates if a not in covered)
        roles = ["shipped", "shipped", "submitted", "approved", "returned"]
        flows = []
        for k, asset in enumerate(covered):
            f, role = Flow(asset), roles[k]
            flows.append((f, role))
            cat = [TicketCategory.wont_turn_on, TicketCategory.wont_charge][k % 2]
            opened = 30 if role == "returned" else 16 + 3 * k
            self.step(self.ago(opened), self._report(f, cat, photo=False), f)
            self.step(self.ago(opened - 1), self._triage(f, Priority.normal, accidental=False), f)
            self.step(self.ago(opened - 1), self._claim(f), f)
            if role != "submitted":
                self.step(self.ago(opened - 2), self._approve(f), f)
        shipped = [f for f, role in flows if role == "shipped"]
        if shipped:
            self.step(self.ago(12), self._ship(shipped, campus, self.tracking()), *shipped)
        for f, role in flows:
            if role == "returned":
                self.step(self.ago(26), self._ship([f], campus, self.tracking()), f)
                self.step(self.ago(15), self._receive(f), f)
                self.step(self.ago(14), self._resolve(f), f)
                self.step(self.ago(14), self._close(f), f)

    def tracking(self) -> str:
        return f"1Z{self.rng.randrange(10**15, 10**16)}"

    def resolved_with_swap(self, campus: Campus, n: int) -> None:
        for asset in self.devices(campus, n=n):
            f = Flow(asset)
            self.step(self.ago(10), self._report(f, TicketCategory.cracked_screen, photo=True), f)
            self.step(self.ago(10), self._triage(f, Priority.high, accidental=True), f)
            self.step(self.ago(9), self._swap(f), f)
            self.step(self.ago(3), self._fit(f, minutes=40), f)
            self.step(self.ago(2), self._resolve(f), f)

    def closed(self, campus: Campus, n: int, *, offset: int) -> None:
        """Repaired in house (the first with a loaner swapped in and back), closed, and a fee for the damage:
        outstanding, paid or waived."""
        cats = [TicketCategory.cracked_screen, TicketCategory.liquid, TicketCategory.missing_keys]
        settles = [None, FeeStatus.paid, FeeStatus.waived, FeeStatus.paid]
        for k, asset in enumerate(self.devices(campus, n=n)):
            f = Flow(asset)
            start = 20 + 9 * k + offset
            self.step(self.ago(start), self._report(f, cats[k % 3], photo=False), f)
            self.step(self.ago(start - 1), self._triage(f, Priority.normal, accidental=True), f)
            self.step(self.ago(start - 1), self._swap(f) if k == 0 else self._take_in(f), f)
            self.step(self.ago(start - 3), self._fit(f, minutes=30 + 10 * k), f)
            self.step(self.ago(start - 3), self._resolve(f), f)
            if k == 0:
                self.step(self.ago(start - 4), self._reverse(f), f)
            self.step(self.ago(start - 4), self._close(f), f)
            self.step(self.ago(start - 4), self._fee(f), f)
            settle = settles[k % 4]
            if settle is not None:
                self.step(self.ago(start - 8), self._settle(f, settle), f)
            if k == 1:
                # Broken again weeks later: the repeat-damage list's device and student.
                again = Flow(asset)
                self.step(self.ago(2), self._report(again, TicketCategory.cracked_screen, photo=True), again)
                self.step(self.ago(1), self._triage(again, Priority.high, accidental=True), again)

    def _report(self, f: Flow, category: TicketCategory, *, photo: bool) -> Callable[[], None]:
        def run() -> None:
            person = f.asset.assigned_to
            share = self.rng.random()
            reporter = tickets.Reporter(
                name=person.name if person and share < 0.85 else "",
                student_id=person.external_id if person and share < 0.7 else "",
                email=(person.email or "") if person and share < 0.3 else "",
            )
            clean = photos.clean_photo(jpeg(self.rng, category)) if photo else None
            self.photos += bool(photo)
            f.ticket, _token = tickets.file_student_report(
                f.asset,
                category=category,
                description=self.rng.choice(DESCRIPTIONS[category]),
                reporter=reporter,
                photo=clean,
            )

        return run

    def _open(self, f: Flow, category: TicketCategory, by: User) -> Callable[[], None]:
        def run() -> None:
            f.ticket = tickets.open_ticket(
                f.asset, category=category, description=self.rng.choice(DESCRIPTIONS[category]), by=by, via=Via.web
            )

        return run

    def _triage(self, f: Flow, priority: Priority, *, accidental: bool) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            workflow.triage(
                f.ticket,
                category=f.ticket.category,
                priority=priority,
                responsible=f.asset.assigned_to,
                accidental=accidental,
                by=self.tech,
                via=Via.web,
            )
            if f.ticket.assignee_id is None:
                tickets.assign(f.ticket, self.tech, by=self.tech, via=Via.web)

        return run

    def _take_in(self, f: Flow, *, waiting: bool = False) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            status = TicketStatus.waiting_parts if waiting else TicketStatus.in_repair
            workflow.take_in(f.ticket, by=self.tech, via=Via.web, status=status)

        return run

    def _fit(self, f: Flow, *, minutes: int) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            for part, left in parts.parts_for(f.ticket):
                if left > 0 and (part.fits or f.ticket.category is TicketCategory.wont_charge):
                    parts.use_parts(f.ticket, part, 1, by=self.tech, via=Via.web)
                    break
            costs.log_labour(f.ticket, minutes, by=self.tech, via=Via.web, note="Bench repair")

        return run

    def _comment(self, f: Flow, body: str) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            tickets.comment(f.ticket, body, by=self.tech, via=Via.web)

        return run

    def _swap(self, f: Flow) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            swaps.swap_in_loaner(f.ticket, by=self.tech, via=Via.web)

        return run

    def _reverse(self, f: Flow) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            swap = swaps.open_swap(f.ticket)
            if swap is not None:
                swaps.reverse_swap(swap, by=self.tech, via=Via.web, loaner_condition=Condition.good)

        return run

    def _resolve(self, f: Flow) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            workflow.resolve(f.ticket, by=self.tech, via=Via.web)

        return run

    def _close(self, f: Flow) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            workflow.close(f.ticket, by=self.tech, via=Via.web)

        return run

    def _claim(self, f: Flow) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            f.claim = warranty.open_claim(f.ticket, by=self.tech, via=Via.web, vendor=f.asset.warranty_provider or "")

        return run

    def _approve(self, f: Flow) -> Callable[[], None]:
        def run() -> None:
            assert f.claim is not None
            rma = f"RMA-{self.rng.randrange(100000, 999999)}"
            warranty.approve(f.claim, rma=rma, by=self.tech, via=Via.web)

        return run

    def _ship(self, flows: list[Flow], campus: Campus, tracking: str) -> Callable[[], None]:
        def run() -> None:
            claims = [f.claim for f in flows if f.claim is not None and not f.dead]
            if not claims:
                return
            box = warranty.new_batch(vendor=claims[0].vendor, campus=campus, by=self.tech, via=Via.web)
            for claim in claims:
                if claim.vendor == box.vendor:
                    warranty.add_to_batch(box, claim, by=self.tech, via=Via.web)
            warranty.ship_batch(box, by=self.tech, via=Via.web, tracking=tracking)

        return run

    def _receive(self, f: Flow) -> Callable[[], None]:
        def run() -> None:
            warranty.receive(f.asset.asset_tag, by=self.tech, via=Via.web)

        return run

    def _fee(self, f: Flow) -> Callable[[], None]:
        def run() -> None:
            assert f.ticket is not None
            person = f.asset.assigned_to
            reason = FEE_REASONS.get(f.ticket.category)
            if person is None or reason is None:
                return
            amount = dict(fees.policy()).get(reason, Decimal("25.00"))
            f.data["fee"] = fees.charge(
                person, amount=amount, reason=reason, by=self.tech, via=Via.web, ticket=f.ticket
            )

        return run

    def _settle(self, f: Flow, status: FeeStatus) -> Callable[[], None]:
        def run() -> None:
            fee = f.data.get("fee")
            if fee is None:
                return
            note = "Paid at the front office" if status is FeeStatus.paid else "Hardship waiver approved"
            fees.settle(fee, status, by=self.admin, via=Via.web, note=note)

        return run

    # ---- loans ---------------------------------------------------------------------------------------------

    def loans(self) -> None:
        """Per campus: day loans returned over the last weeks, a few out now, two overdue; one came back damaged."""
        for campus in self.campuses:
            desk = self.staff_for(campus, Role.librarian)
            pool = self.loaners(campus)[-8:]  # swaps take loaners from the front of the pool
            students = list(
                db.session.scalars(
                    sa.select(Person)
                    .where(Person.campus_id == campus.id, Person.kind == PersonKind.student)
                    .order_by(Person.id)
                    .limit(300)
                )
            )
            if not pool or not students:
                continue
            for k in range(5):
                loaner = pool[k % len(pool)]
                out = self.ago(30 - 6 * k, hour=8)
                back = out + timedelta(hours=6)
                damaged = k == 2
                self.step(out, self._lend(loaner, self.rng.choice(students), desk, out, out.date()))
                self.step(back, self._return(loaner, desk, back, Condition.damaged if damaged else Condition.good))
            for k, loaner in enumerate(pool[:3]):
                out = self.ago(4 + k if k < 2 else 0, hour=8)
                due = loans.default_due_date(campus, out + timedelta(days=1))  # two overdue, one due tomorrow
                self.step(out, self._lend(loaner, self.rng.choice(students), desk, out, due))

    def _lend(self, loaner: Asset, person: Person, by: User, at: datetime, due: date) -> Callable[[], None]:
        def run() -> None:
            if loans.open_loan(loaner) is None:
                loans.check_out(loaner, person, by=by, due=due, via=Via.web, at=at)

        return run

    def _return(self, loaner: Asset, by: User, at: datetime, condition: Condition) -> Callable[[], None]:
        def run() -> None:
            if loans.open_loan(loaner) is not None:
                note = "Hinge cracked when it came back" if condition is Condition.damaged else ""
                loans.check_in(loaner, by=by, condition=condition, note=note, via=Via.web, at=at)

        return run

    # ---- audits --------------------------------------------------------------------------------------------

    def audits(self) -> None:
        """Per campus: classrooms audited over the last weeks and closed, some with devices missing or out of
        place (the rooms holding devices marked missing come first)."""
        for campus in self.campuses:
            walker = self.staff_for(campus, Role.aide)
            classrooms = list(
                db.session.scalars(
                    sa.select(Room)
                    .where(Room.campus_id == campus.id, Room.kind == RoomKind.classroom)
                    .order_by(Room.id)
                )
            )
            missing_rooms = list(
                db.session.scalars(
                    sa.select(Asset.home_room_id)
                    .where(Asset.campus_id == campus.id, Asset.status == AssetStatus.missing)
                    .distinct()
                    .order_by(Asset.home_room_id)
                )
            )
            ordered = [r for r in classrooms if r.id in missing_rooms][:2]
            ordered += [r for r in classrooms if r not in ordered][: 3 - len(ordered)]
            for k, room in enumerate(ordered):
                when = self.ago(3 + 5 * k, hour=10)
                last = k == len(ordered) - 1
                self.step(when, self._audit(room, walker, when, skip=1 if last else 0, turn_up=k == 0))

    def _audit(self, room: Room, by: User, at: datetime, *, skip: int, turn_up: bool) -> Callable[[], None]:
        def run() -> None:
            uuid = f"demo-audit-{room.code.lower()}-{at:%Y%m%d}"
            audit = audits.start_audit(uuid, room, by=by, at=at, via=Via.web)
            expected = [
                a
                for a in db.session.scalars(
                    sa.select(Asset)
                    .where(
                        Asset.home_room_id == room.id,
                        Asset.status.in_([AssetStatus.deployed, AssetStatus.in_stock]),
                    )
                    .order_by(Asset.id)
                )
            ]
            found = expected[skip:]
            # Out of place: a device of another room, or (on the campus's first audit) one marked missing.
            stray = db.session.scalars(
                sa.select(Asset)
                .where(
                    Asset.campus_id == room.campus_id,
                    Asset.home_room_id != room.id,
                    Asset.status == (AssetStatus.missing if turn_up else AssetStatus.deployed),
                )
                .order_by(Asset.id)
                .limit(1)
                .offset(0 if turn_up else room.id % 7)
            ).first()
            seen = found + ([stray] if stray is not None and (turn_up or self.rng.random() < 0.6) else [])
            record_sightings(
                [
                    Sighting(a, room, at + timedelta(seconds=20 * n), by, audit_id=uuid, via=Via.web)
                    for n, a in enumerate(seen)
                ]
            )
            if turn_up and stray is not None:
                at_found = at + timedelta(seconds=20 * (len(seen) - 1))
                found_again.notice_found(stray, room=room, by=by, via=Via.web, at=at_found, sighting=False)
            audits.close_audit(audit, by=by, at=at + timedelta(minutes=25), via=Via.web)

        return run

    # ---- playing it --------------------------------------------------------------------------------------

    def run(self) -> int:
        """Play every queued step in time order, each dated back to its moment; a flow whose step is refused by a
        rule (a pool with no loaner left on a small district) stops there. Returns how many steps ran."""
        done = 0
        for when, _n, fn, flows in sorted(self.steps, key=lambda s: (s[0], s[1])):
            if any(f.dead for f in flows[:1]):
                continue
            try:
                with self.clock.at(when), db.session.begin_nested():
                    fn()
                done += 1
            except DomainError:
                for f in flows[:1]:
                    f.dead = True
        self.clock.settle()
        return done


def vendors() -> list[Vendor]:
    """The district's vendor list: the four manufacturers' care programmes and one third-party insurer."""
    rows = [Vendor(name=n, contact=c, portal_url=u, ship_to=s) for n, c, u, s in VENDORS]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def tell(rng: random.Random, now: datetime) -> dict[str, int]:
    """Give the seeded district its working life; returns a few counts for the summary."""
    vendors()
    story = Story(rng, now)
    story.stock_parts()
    story.loans()
    story.tickets()
    story.audits()
    steps = story.run()
    counts = {
        "tickets": db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) or 0,
        "swaps": db.session.scalar(sa.select(sa.func.count()).select_from(LoanerSwap)) or 0,
        "steps": steps,
    }
    return counts
