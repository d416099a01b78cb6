"""The sync engine: reading event envelopes, applying each event exactly once, bulk runs, the handler registry.

Features use it through app.services.sync, whose docstring is the contract for event handlers.
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
from typing import Any, Literal, TypeVar, cast, overload

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app import bulk, inputs, permissions
from app.extensions import db
from app.models import Role, SyncEvent, SyncStatus, User, Via, utcnow

# The name operators' logging settings already use for sync.
log = logging.getLogger("app.services.sync")

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
    write: Callable[[list[tuple[Any, Context]]], Sequence[dict[str, Any] | None]]


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


@overload
def text(data: dict[str, Any], name: str, *, required: Literal[True] = True, max_len: int = 200) -> str: ...
@overload
def text(data: dict[str, Any], name: str, *, required: bool, max_len: int = 200) -> str | None: ...
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
        raise Rejected(f"Your role ({user.role.value if user.role else 'none'}) does not allow {ev.type}.")


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
        return Result(
            ev.id, "rejected", "The server could not apply this event; it will be tried again later.", {"retry": True}
        )
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
