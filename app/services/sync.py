"""The offline outbox's server side: apply each event exactly once, through handlers registered per event type.

Contract for features that add event types (stable; add, never change):

    from app.services.sync import Context, Rejected, register

    def apply_checkout(data: dict, ctx: Context) -> dict | None:
        ...  # check rules, change models, call activity.record(..., via=ctx.via); flush, never commit
        raise Rejected("LHS-1001 is already on loan.")  # a broken rule: the user sees the reason
        return {"loan": 12}  # optional; sent back to the client as the result's "info"

    register("loan.checkout", apply_checkout, needs="desk")

* `data` is the event's `data` object, guaranteed to be a JSON object (dict) that both databases can store (no NUL
  or lone surrogate in any string, finite numbers within 64 bits, at most app.inputs.MAX_JSON_DEPTH levels: an
  event that breaks this is rejected before any handler sees it, and its data is not kept); the handler validates
  its fields (the helpers `text()` and `choice()` raise `Rejected` with a readable reason).
* `ctx` (a `Context`) carries `user` (the signed-in User), `event_id`, `type`, `at` (the event time, aware UTC,
  already clamped to the receive time when the device clock ran ahead or read before 2000), `client_at` (what the
  device said), `received_at`, `client_id`, `flagged` (True when `at` was clamped), `via` (always Via.sync) and
  `batch` (db.session.info).
* Each event runs in its own SAVEPOINT together with the insert of its id into `sync_events` (insert-on-conflict-
  do-nothing). If the id is already there the handler is not called: the answer is `duplicate` (or, for an event
  that was rejected, the same `rejected` answer again), provided the same user sent the same event (a digest of its
  type, time and data is kept); an id reused for anything else is `rejected` without a word about the first.
  `Rejected` or any other exception rolls back only that event's savepoint; the batch goes on and commits once at
  the end.
* A `Rejected` event is recorded (status and reason), so replays answer the same. An unexpected error is logged
  and answered `rejected` without recording the id, so a later replay can still apply it.
* `needs`: the capability in app.permissions that the event takes (the page and API that do the same thing name
  the same one); users without it get `rejected` ("Your role does not allow ..."). None allows every signed-in
  staff role. `roles` (a tuple of roles) still works for handlers registered that way.
* `prefetch` (optional): called once per batch with the `data` of all events of the type, before any is applied,
  to load what they name in a few queries; it reads, never writes. Handlers may keep per-batch lookups in
  `db.session.info` under keys starting with "sync." (cleared at the start of each batch).
* `bulk` (optional, a `Bulk`): the same rules applied many events at a time, for types that arrive by the
  hundred (scans). `plan(data, ctx)` checks one event and finds what it names without writing (raise `Rejected`);
  `write([(plan, ctx), ...])` stores the effects of many planned events in a few statements and returns each
  one's info. A run of consecutive events of the type then shares one insert of their ids, with no savepoint;
  only the events whose ids were new are written. If anything else goes wrong the whole batch's transaction is
  rolled back and the batch applied one event at a time as above, so the answers are the same either way.
* Event time rules: handlers that derive projections must compare against `ctx.at`, never the receive time, so
  late or reordered events never overwrite newer facts (see app.services.observations.record_sightings).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, NamedTuple, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app import bulk, inputs, permissions
from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Campus,
    Condition,
    DeviceModel,
    Role,
    Room,
    SyncEvent,
    SyncStatus,
    UnknownScan,
    User,
    Via,
    utcnow,
)
from app.services import activity
from app.services.observations import Sighting, record_sightings
from app.tagcodes import looks_like_code, normalise, scanned_value

log = logging.getLogger(__name__)

MAX_EVENTS = 500
MAX_BYTES = 1024 * 1024
# Device clocks this far ahead of the server, or reading before 2000 (a clock that was reset), are not believed:
# the event is clamped to the receive time and flagged.
MAX_CLOCK_SKEW = timedelta(minutes=5)
REUSED_ID = "This event id was already used for a different event; nothing was recorded."
EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$")
E = TypeVar("E", bound=Enum)


class Rejected(Exception):
    """A handler refuses an event; `reason` is shown to the person who recorded it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:300]


@dataclass(frozen=True)
class Context:
    """What a handler knows about the event besides its data."""

    user: User
    event_id: str
    type: str
    at: datetime
    client_at: datetime | None
    received_at: datetime
    client_id: str
    flagged: bool
    via: Via = Via.sync
    # The session's info dict (db.session.info), handed over once per batch: per-batch lookups go under "sync."
    # keys without a scoped-session lookup per event.
    batch: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


Handler = Callable[[dict[str, Any], Context], dict[str, Any] | None]


@dataclass(frozen=True)
class Bulk:
    """Applying many events of one type at once: `plan` checks one (no writes), `write` stores many planned ones."""

    plan: Callable[[dict[str, Any], Context], Any]
    write: Callable[[list[tuple[Any, Context]]], list[dict[str, Any] | None]]


@dataclass(frozen=True)
class Registration:
    handler: Handler
    roles: frozenset[Role] | None
    prefetch: Callable[[list[dict[str, Any]], User], None] | None = None
    bulk: Bulk | None = None
    needs: str | None = None


HANDLERS: dict[str, Registration] = {}


def register(
    event_type: str,
    handler: Handler,
    *,
    needs: str | None = None,
    roles: Iterable[Role | str] | None = None,
    prefetch: Callable[[list[dict[str, Any]], User], None] | None = None,
    bulk: Bulk | None = None,
) -> None:
    """Make `event_type` available through POST /api/v1/sync, applied by `handler` (see the module docstring).

    `prefetch`, optional, receives the `data` of every event of this type in the batch before any is applied, so
    a handler can load what they name in a few queries instead of one per event (it must not change anything).
    `bulk`, optional, applies runs of these events many at a time with the same answers as `handler`.
    """
    if needs is not None:
        permissions.rule(needs)  # a misspelt capability fails at import, not on a phone's first sync
    allowed = None if roles is None else frozenset(r if isinstance(r, Role) else Role(r) for r in roles)
    HANDLERS[event_type] = Registration(handler, allowed, prefetch, bulk, needs)


@dataclass
class Result:
    """The answer for one event, in the order the events came."""

    id: str | None
    status: str
    reason: str | None = None
    info: dict[str, Any] | None = None
    flagged: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.info:
            out["info"] = self.info
        if self.flagged:
            out["flagged"] = True
        return out


@dataclass
class _Parsed:
    id: str
    type: str
    at: datetime
    client_at: datetime | None
    flagged: bool
    data: dict[str, Any] = field(default_factory=dict)
    # What the event said, hashed: a replay must say the same to be answered as the same event.
    digest: str = ""
    # Why the event is refused before any handler sees it (data that cannot be stored); its data is then not kept.
    refusal: str | None = None


# Field helpers for handlers ---------------------------------------------------------------------------------


def text(data: dict[str, Any], name: str, *, required: bool = True, max_len: int = 200) -> str | None:
    """A trimmed string field; Rejected when required and missing, or not a string, or too long."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Rejected(f"The event has no {name}.")
        return None
    if not isinstance(value, str):
        raise Rejected(f"The {name} must be text.")
    value = value.strip()
    if len(value) > max_len:
        raise Rejected(f"The {name} is longer than {max_len} characters.")
    return value


def choice(data: dict[str, Any], name: str, enum_cls: type[E]) -> E | None:
    """An optional enum field by value; Rejected for values outside the enum."""
    value = text(data, name, required=False, max_len=40)
    if value is None:
        return None
    try:
        return enum_cls(value.lower())
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise Rejected(f"Unknown {name} {value!r}; use one of {allowed}.") from None


# Applying a batch ---------------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as aware UTC; None when absent or unreadable. Naive times are taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past the calendar's end by its offset
        return None


def _digest(event_type: str, at: Any, data: Any) -> str:
    body = json.dumps([event_type, at, data], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _parse(raw: Any, received_at: datetime) -> _Parsed | Result:
    """Check one event's envelope; a Result (rejected, not recorded) when it cannot be processed at all."""
    if not isinstance(raw, dict):
        return Result(None, "rejected", "Each event must be a JSON object.")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
        # Echoed so the phone can match the answer, unless it could not even be read back as JSON.
        echo = event_id[:64] if isinstance(event_id, str) and not inputs.unstorable(event_id) else None
        return Result(echo, "rejected", "The event has no valid id.")
    event_type = raw.get("type")
    if not isinstance(event_type, str) or not event_type:
        return Result(event_id, "rejected", "The event has no type.")
    if inputs.unstorable(event_type):
        return Result(event_id, "rejected", "The event's type cannot be read.")
    client_at = parse_time(raw.get("at"))
    if client_at is None:
        return Result(event_id, "rejected", "The event has no valid time (at, ISO 8601).")
    data = raw.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return Result(event_id, "rejected", "The event's data must be a JSON object.")
    flagged = not inputs.believable_time(client_at, received_at, ahead=MAX_CLOCK_SKEW)
    at = received_at if flagged else client_at
    parsed = _Parsed(event_id, event_type[:40], at, client_at if flagged else None, flagged, data)
    parsed.digest = _digest(event_type, raw.get("at"), data)
    try:
        inputs.check(data, what="The event's data")
    except inputs.Unsafe as exc:
        parsed.data, parsed.refusal = {}, exc.message
    return parsed


def _insert_events(rows: list[dict[str, Any]]) -> set[str]:
    """INSERT the events' ids, doing nothing on conflict; the ids this call stored."""
    if not rows:
        return set()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SyncEvent.__table__).on_conflict_do_nothing(index_elements=["id"]).returning(SyncEvent.__table__.c.id)
    return set(db.session.scalars(stmt, rows))


def _answers_for_known(events: list[_Parsed], user: User) -> dict[str, Result]:
    """The answers for events stored before: `duplicate`, or the same `rejected` answer again.

    Only for the same event: an id stored by another user, or with a different body, is refused without saying
    anything about what was stored under it.
    """
    answers = {ev.id: Result(ev.id, "duplicate") for ev in events}
    digests = {ev.id: ev.digest for ev in events}
    if events:
        for row in db.session.execute(
            sa.select(SyncEvent.id, SyncEvent.user_id, SyncEvent.digest, SyncEvent.status, SyncEvent.reason).where(
                SyncEvent.id.in_(list(digests))
            )
        ):
            # Events stored before digests were kept have none: the same user's replay is taken as the same event.
            if row.user_id != user.id or (row.digest is not None and row.digest != digests[row.id]):
                answers[row.id] = Result(row.id, "rejected", REUSED_ID)
            elif row.status == SyncStatus.rejected:
                answers[row.id] = Result(row.id, "rejected", row.reason)
    return answers


def _event_row(ev: _Parsed, ctx: Context, status: SyncStatus, reason: str | None = None) -> dict[str, Any]:
    return {
        "id": ev.id,
        "type": ev.type,
        "user_id": ctx.user.id,
        "client_id": ctx.client_id,
        "status": status,
        "reason": reason,
        "at": ev.at,
        "client_at": ev.client_at,
        "received_at": ctx.received_at,
        "flagged": ev.flagged,
        "data": ev.data if status is SyncStatus.rejected and ev.refusal is None else None,
        "digest": ev.digest,
    }


def _context(
    ev: _Parsed, user: User, client_id: str, received_at: datetime, batch: dict[str, Any] | None = None
) -> Context:
    return Context(
        batch=db.session.info if batch is None else batch,
        user=user,
        event_id=ev.id,
        type=ev.type,
        at=ev.at,
        client_at=ev.client_at,
        received_at=received_at,
        client_id=client_id,
        flagged=ev.flagged,
    )


def _check_role(reg: Registration, ev: _Parsed, user: User) -> None:
    if reg.needs is not None:
        allowed = permissions.allows(user, reg.needs)
    else:
        allowed = reg.roles is None or user.role in reg.roles
    if not allowed:
        raise Rejected(f"Your role ({user.role.value}) does not allow {ev.type}.")


def _apply_one(ev: _Parsed, user: User, client_id: str, received_at: datetime) -> Result:
    ctx = _context(ev, user, client_id, received_at)
    reg = HANDLERS.get(ev.type)
    try:
        with db.session.begin_nested():
            if not _insert_events([_event_row(ev, ctx, SyncStatus.applied)]):
                return _answers_for_known([ev], user)[ev.id]
            if ev.refusal is not None:
                raise Rejected(ev.refusal)
            if reg is None:
                raise Rejected(f"Unknown event type {ev.type!r}.")
            _check_role(reg, ev, user)
            info = reg.handler(ev.data, ctx)
            db.session.flush()
        return Result(ev.id, "applied", info=info or None, flagged=ev.flagged)
    except Rejected as exc:
        reason = exc.reason
    except Exception:
        log.exception("sync event %s (%s) failed", ev.id, ev.type)
        return Result(ev.id, "rejected", "The server could not apply this event; it will be tried again later.")
    # The savepoint rolled back the effect and the id; record the refusal so a replay answers the same.
    with db.session.begin_nested():
        if not _insert_events([_event_row(ev, ctx, SyncStatus.rejected, reason)]):
            return _answers_for_known([ev], user)[ev.id]
    return Result(ev.id, "rejected", reason, flagged=ev.flagged)


class _OneByOne(Exception):
    """A bulk write failed part way: the batch starts again in a fresh transaction, one event at a time."""


def _store_events(
    planned: list[tuple[_Parsed, Context, Any, str | None]], user: User, client_id: str, received_at: datetime
) -> set[str]:
    """Store the ids (and refusals) of a run's events; the ids that were new. Raises _OneByOne on a race."""
    ids = [ev.id for ev, _ctx, _plan, _reason in planned]
    known = {row[0] for row in bulk.fetch_all("SELECT id FROM sync_events WHERE id IN ({ids})", ids=ids)}
    new = [
        (
            ev.id,
            SyncStatus.applied if reason is None else SyncStatus.rejected,
            reason,
            ev.at,
            ev.client_at,
            ev.flagged,
            # What was refused is kept, so someone can see it, unless it could not be stored at all.
            None if reason is None or ev.refusal is not None else ev.data,
            ev.digest,
        )
        for ev, _ctx, _plan, reason in planned
        if ev.id not in known
    ]
    stored = bulk.insert_rows(
        SyncEvent.__table__,
        ("id", "status", "reason", "at", "client_at", "flagged", "data", "digest"),
        new,
        same={"type": planned[0][0].type, "user_id": user.id, "client_id": client_id, "received_at": received_at},
        skip_conflicts_on="id",
    )
    if stored != len(new):
        # Another request stored some of these ids between the read and the insert (PostgreSQL only; SQLite's
        # write lock rules it out): the answers are no longer known for sure, so start again one by one.
        raise _OneByOne(f"{len(new) - stored} of the events were stored by another request meanwhile")
    return {row[0] for row in new}


def _apply_run(
    reg: Registration, run: list[_Parsed], user: User, client_id: str, received_at: datetime
) -> list[Result]:
    """Apply consecutive events of one bulk type together (see `Bulk`), with no savepoint of their own.

    SQLite copies every page a savepoint touches, which doubled the cost of a batch of scans; an unexpected
    failure here raises _OneByOne instead, and apply_batch rolls the transaction back and starts again.
    """
    assert reg.bulk is not None
    planned: list[tuple[_Parsed, Context, Any, str | None]] = []
    batch = db.session.info
    try:
        for ev in run:
            ctx = _context(ev, user, client_id, received_at, batch)
            try:
                if ev.refusal is not None:
                    raise Rejected(ev.refusal)
                _check_role(reg, ev, user)
                planned.append((ev, ctx, reg.bulk.plan(ev.data, ctx), None))
            except Rejected as exc:
                planned.append((ev, ctx, None, exc.reason))
        stored = _store_events(planned, user, client_id, received_at)
        todo = [(ev, plan, ctx) for ev, ctx, plan, reason in planned if reason is None and ev.id in stored]
        infos = dict(zip((ev.id for ev, _p, _c in todo), reg.bulk.write([(p, c) for _e, p, c in todo]), strict=True))
        db.session.flush()
    except Exception as exc:
        log.warning("sync: a run of %d %s events failed; the batch is applied one by one", len(run), run[0].type)
        raise _OneByOne(str(exc)) from exc
    known = _answers_for_known([ev for ev in run if ev.id not in stored], user)
    results = []
    for ev, _ctx, _plan, reason in planned:
        if ev.id not in stored:
            results.append(known[ev.id])
        elif reason is not None:
            results.append(Result(ev.id, "rejected", reason, flagged=ev.flagged))
        else:
            results.append(Result(ev.id, "applied", info=infos[ev.id] or None, flagged=ev.flagged))
    return results


def apply_batch(events: Sequence[Any], *, user: User, client_id: str = "") -> list[Result]:
    """Apply each event on its own, in order; one Result per event. Flushes, never commits.

    Runs of events with a `bulk` handler are written together; if such a write fails, the transaction is rolled
    back and the whole batch applied again one event at a time. Call it before changing anything else in the
    transaction.
    """
    received_at = utcnow()
    client_id = (client_id or "")[:64]
    parsed = [_parse(raw, received_at) for raw in events]
    try:
        return _apply_parsed(parsed, user, client_id, received_at, together=True)
    except _OneByOne:
        log.warning("sync: batch of %d events applied one by one", len(parsed), exc_info=True)
        db.session.rollback()
        return _apply_parsed(parsed, user, client_id, received_at, together=False)


def _apply_parsed(
    parsed: list[_Parsed | Result], user: User, client_id: str, received_at: datetime, *, together: bool
) -> list[Result]:
    # Lookups remembered by handlers live for one batch only.
    for key in [k for k in db.session.info if k.startswith("sync.")]:
        del db.session.info[key]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for ev in parsed:
        if isinstance(ev, _Parsed) and ev.refusal is None:
            by_type.setdefault(ev.type, []).append(ev.data)
    for event_type, datas in by_type.items():
        reg = HANDLERS.get(event_type)
        if reg is not None and reg.prefetch is not None:
            reg.prefetch(datas, user)
    results: list[Result | None] = [None] * len(parsed)
    run: list[tuple[int, _Parsed]] = []

    def finish_run() -> None:
        if run:
            reg = HANDLERS[run[0][1].type]
            for (index, _ev), result in zip(
                run, _apply_run(reg, [ev for _i, ev in run], user, client_id, received_at), strict=True
            ):
                results[index] = result
            run.clear()

    seen: dict[str, str] = {}
    for index, ev in enumerate(parsed):
        if isinstance(ev, Result):
            results[index] = ev
            continue
        if ev.id in seen:
            same = seen[ev.id] == ev.digest
            results[index] = Result(ev.id, "duplicate") if same else Result(ev.id, "rejected", REUSED_ID)
            continue
        seen[ev.id] = ev.digest
        reg = HANDLERS.get(ev.type)
        if together and reg is not None and reg.bulk is not None:
            if run and run[0][1].type != ev.type:
                finish_run()
            run.append((index, ev))
            continue
        finish_run()
        results[index] = _apply_one(ev, user, client_id, received_at)
    finish_run()
    return cast(list[Result], results)


def offline_pack(campus: Campus) -> dict[str, Any]:
    """Rooms and devices of a campus as the scan page needs them offline; no personal data."""
    rooms = db.session.execute(
        sa.select(Room.id, Room.code, Room.name, Room.kind, Room.tag_code, Room.active)
        .where(Room.campus_id == campus.id)
        .order_by(Room.code)
    ).all()
    room_codes = {r.id: r.code for r in rooms}
    assets = db.session.execute(
        sa.select(
            Asset.tag_code,
            Asset.asset_tag,
            Asset.serial,
            DeviceModel.manufacturer,
            DeviceModel.name,
            Asset.home_room_id,
            Asset.status,
        )
        .join(DeviceModel, DeviceModel.id == Asset.model_id)
        .where(Asset.campus_id == campus.id)
        .order_by(Asset.asset_tag)
    ).all()
    return {
        "campus": {"code": campus.code, "name": campus.name},
        "rooms": [
            {"code": r.code, "name": r.name, "kind": r.kind.value, "tag_code": r.tag_code, "active": r.active}
            for r in rooms
        ],
        "assets": [
            {
                "tag_code": a.tag_code,
                "asset_tag": a.asset_tag,
                "serial": a.serial,
                "model": f"{a.manufacturer} {a.name}",
                "home_room": room_codes.get(a.home_room_id),
                "status": a.status.value,
            }
            for a in assets
        ],
    }


def unknown_scans(user: User, *, resolved: bool = False, limit: int = 200) -> list[UnknownScan]:
    """Scanned codes that matched no device, in rooms on the user's campuses, newest first."""
    stmt = (
        sa.select(UnknownScan)
        .join(Room, Room.id == UnknownScan.room_id)
        .where(UnknownScan.resolved_at.is_not(None) if resolved else UnknownScan.resolved_at.is_(None))
        .order_by(UnknownScan.at.desc(), UnknownScan.id.desc())
        .limit(limit)
    )
    if user.campus_ids is not None:
        stmt = stmt.where(Room.campus_id.in_(user.campus_ids))
    return list(db.session.scalars(stmt))


def resolve_unknown(row: UnknownScan, *, by: User, via: Via) -> None:
    """Mark an unknown-tag scan as dealt with (registered, or a typo)."""
    if row.resolved_at is not None:
        return
    row.resolved_at = utcnow()
    row.resolved_by_id = by.id
    db.session.flush()
    activity.record(
        "unknown_scan.resolve",
        f"Reviewed unknown code {row.code} scanned in {row.room.code}",
        by=by,
        via=via,
        campus_id=row.room.campus_id,
        subject=row,
    )


# The scan event -----------------------------------------------------------------------------------------------


def find_room(code: str, batch: dict[str, Any] | None = None) -> Room | None:
    """The room named by its code (any case) or by its sticker's tag code; remembered for the rest of the batch."""
    raw = scanned_value(code)
    # Holding the objects (not ids) keeps them in the session's weak identity map for the whole batch.
    known: dict[str, Room] = (db.session.info if batch is None else batch).setdefault("sync.rooms", {})
    if raw in known:
        return known[raw]
    conds = [Room.code == raw.upper()]
    if looks_like_code(raw):
        conds.append(Room.tag_code == normalise(raw))
    rooms = db.session.scalars(sa.select(Room).where(sa.or_(*conds))).all()
    room = next((r for r in rooms if r.code == raw.upper()), rooms[0] if rooms else None)
    if room is not None:
        known[raw] = room
    return room


class ScannedDevice(NamedTuple):
    """What a scan needs to know about a device, read as one row rather than a whole asset."""

    id: int
    asset_tag: str
    serial: str
    tag_code: str
    campus_id: int
    campus_code: str
    model: str
    status: AssetStatus
    home_room_id: int | None


_DEVICES = (
    "SELECT a.id, a.asset_tag, a.serial, a.tag_code, a.campus_id, c.code, m.manufacturer || ' ' || m.name,"
    " a.status, a.home_room_id FROM assets a JOIN campuses c ON c.id = a.campus_id"
    " JOIN device_models m ON m.id = a.model_id"
    " WHERE a.asset_tag IN ({texts}) OR a.serial IN ({texts2}) OR a.tag_code IN ({codes})"
)


def _devices(texts: set[str]) -> list[ScannedDevice]:
    """The devices whose asset tag or serial is one of `texts` (as written or upper-cased) or whose tag code is."""
    both = sorted(texts | {t.upper() for t in texts})
    codes = sorted({normalise(t) for t in texts if looks_like_code(t)})
    rows = bulk.fetch_all(_DEVICES, texts=both, texts2=both, codes=codes)
    return [ScannedDevice(*row[:7], AssetStatus(row[7]), row[8]) for row in rows]


def _pick_device(raw: str, by_code: dict, by_tag: dict, by_serial: dict) -> ScannedDevice | None:
    """The precedence of app.services.assets.find_asset: tag code, exact asset tag, then upper-cased tag or serial."""
    code = normalise(raw) if looks_like_code(raw) else None
    upper = raw.upper()
    return (
        (by_code.get(code) if code else None)
        or by_tag.get(raw)
        or by_tag.get(upper)
        or by_serial.get(upper)
        or by_serial.get(raw)
    )


def _remember_devices(texts: set[str], devices: list[ScannedDevice]) -> dict[str, ScannedDevice]:
    by_code = {d.tag_code: d for d in devices}
    by_tag = {d.asset_tag: d for d in devices}
    by_serial = {d.serial: d for d in devices}
    known: dict[str, ScannedDevice] = db.session.info.setdefault("sync.assets", {})
    for raw in texts:
        found = _pick_device(raw, by_code, by_tag, by_serial)
        if found is not None:
            known[raw] = found
    return known


def find_scanned_asset(text: str, batch: dict[str, Any] | None = None) -> ScannedDevice | None:
    """The device a scan names (tag code, asset tag or serial, any case); remembered for the rest of the batch.

    Same answers as app.services.assets.find_asset, which it mirrors for the sync hot path.
    """
    raw = scanned_value(text)
    if not raw:
        return None
    known: dict[str, ScannedDevice] = (db.session.info if batch is None else batch).setdefault("sync.assets", {})
    if raw not in known:
        _remember_devices({raw}, _devices({raw}))
    return known.get(raw)


def prefetch_scans(datas: list[dict[str, Any]], user: User) -> None:
    """Load the rooms and devices a batch of scans names in two queries; the handler then finds them in memory."""
    rooms = {scanned_value(d["room"]) for d in datas if isinstance(d.get("room"), str)} - {""}
    tags = {scanned_value(d["tag"]) for d in datas if isinstance(d.get("tag"), str)} - {""}
    known_rooms: dict[str, Room] = db.session.info.setdefault("sync.rooms", {})
    if rooms:
        for room in db.session.scalars(sa.select(Room).where(Room.code.in_({r.upper() for r in rooms}))):
            for r in rooms:
                if r.upper() == room.code:
                    known_rooms[r] = room
    if tags:
        _remember_devices(tags, _devices(tags))


def _may_see(user: User, campus_id: int, batch: dict[str, Any]) -> bool:
    """User.can_see_campus, with the user's campuses read once per batch."""
    visible = batch.setdefault("sync.campus_ids", {})
    if user.id not in visible:
        visible[user.id] = user.campus_ids
    ids = visible[user.id]
    return ids is None or campus_id in ids


class _Scan(NamedTuple):
    tag: str
    room: Room
    asset: ScannedDevice | None
    condition: Condition | None
    note: str | None
    audit: str | None


def plan_scan(data: dict[str, Any], ctx: Context) -> _Scan:
    """Check a `scan` event and find its room and device; nothing is written."""
    tag = text(data, "tag", max_len=120)
    room_code = text(data, "room", max_len=120)
    condition = choice(data, "condition", Condition)
    note = text(data, "note", required=False, max_len=500)
    audit = text(data, "audit", required=False, max_len=64)
    room = find_room(room_code, ctx.batch)
    if room is None:
        raise Rejected(f"There is no room {room_code}.")
    if not _may_see(ctx.user, room.campus_id, ctx.batch):
        raise Rejected(f"Room {room.code} is not on your campuses; nothing was recorded.")
    return _Scan(tag, room, find_scanned_asset(tag, ctx.batch), condition, note, audit)


def write_scans(scans: list[tuple[_Scan, Context]]) -> list[dict[str, Any]]:
    """Store planned scans: an observation for each known device, a review entry for each unknown code.

    A device of another campus is recorded as seen here, and the answer names only its tag, model and home campus.
    """
    unknown = [
        {
            "code": scan.tag,
            "room_id": scan.room.id,
            "by_id": ctx.user.id,
            "at": ctx.at,
            "event_id": ctx.event_id,
            "note": scan.note,
        }
        for scan, ctx in scans
        if scan.asset is None
    ]
    bulk.insert_many(UnknownScan.__table__, unknown)
    record_sightings(
        [
            Sighting(
                scan.asset,
                scan.room,
                ctx.at,
                ctx.user,
                condition=scan.condition,
                note=scan.note,
                audit_id=scan.audit,
                via=ctx.via,
                event_id=ctx.event_id,
                flagged=ctx.flagged,
            )
            for scan, ctx in scans
            if scan.asset is not None
        ]
    )
    home_rooms = {scan.asset.home_room_id for scan, _ctx in scans if scan.asset is not None} - {None}
    home_codes = dict(db.session.execute(sa.select(Room.id, Room.code).where(Room.id.in_(home_rooms))).all())
    infos = []
    for scan, ctx in scans:
        asset = scan.asset
        if asset is None:
            infos.append(
                {
                    "unknown": True,
                    "code": scan.tag,
                    "room": scan.room.code,
                    "message": "Unknown tag, recorded for review.",
                }
            )
            continue
        device = {"asset_tag": asset.asset_tag, "model": asset.model, "campus": asset.campus_code}
        if not _may_see(ctx.user, asset.campus_id, ctx.batch):
            infos.append({"asset": device, "room": scan.room.code, "seen_here": True})
            continue
        device.update(status=asset.status.value, home_room=home_codes.get(asset.home_room_id))
        infos.append({"asset": device, "room": scan.room.code, "seen_here": False})
    return infos


def apply_scan(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`scan`: a device (tag code, asset tag or serial) seen in a room, with an optional condition and note.

    The room must be on one of the user's campuses. A device of another campus is recorded as seen here, and the
    answer names only its tag, model and home campus. A code that matches no device is kept for review.
    """
    return write_scans([(plan_scan(data, ctx), ctx)])[0]


register("scan", apply_scan, needs="scan", prefetch=prefetch_scans, bulk=Bulk(plan_scan, write_scans))
