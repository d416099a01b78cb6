"""The offline outbox's server side: apply each event exactly once, through handlers registered per event type.

Contract for features that add event types (stable; add, never change):

    from app.services.sync import Context, Rejected, register

    def apply_checkout(data: dict, ctx: Context) -> dict | None:
        ...  # check rules, change models, call activity.record(..., via=ctx.via); flush, never commit
        raise Rejected("LHS-1001 is already on loan.")  # a broken rule: the user sees the reason
        return {"loan": 12}  # optional; sent back to the client as the result's "info"

    # in app.services.events, the one table of every event type, which create_app registers at start-up:
    register("loan.checkout", apply_checkout, needs="desk")

* A module that defines handlers never registers them when imported: the routing is read in one place.

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

The package: `engine` applies batches (envelopes, exactly once, bulk runs, the registry of handlers), `scan` is the
`scan` event with the lookups of rooms and devices it shares with other features, `pack` is the offline pack.
"""

from __future__ import annotations

from app.services.sync.engine import (
    EVENT_ID,
    HANDLERS,
    MAX_BYTES,
    MAX_CLOCK_SKEW,
    MAX_EVENTS,
    REUSED_ID,
    Bulk,
    Context,
    Handler,
    Registration,
    Rejected,
    Result,
    apply_batch,
    choice,
    parse_time,
    register,
    text,
)
from app.services.sync.pack import offline_pack
from app.services.sync.scan import (
    ScannedDevice,
    apply_scan,
    find_room,
    find_scanned_asset,
    plan_scan,
    prefetch_scans,
    resolve_unknown,
    unknown_scans,
    write_scans,
)

__all__ = [
    "EVENT_ID",
    "HANDLERS",
    "MAX_BYTES",
    "MAX_CLOCK_SKEW",
    "MAX_EVENTS",
    "REUSED_ID",
    "Bulk",
    "Context",
    "Handler",
    "Registration",
    "Rejected",
    "Result",
    "ScannedDevice",
    "apply_batch",
    "apply_scan",
    "choice",
    "find_room",
    "find_scanned_asset",
    "offline_pack",
    "parse_time",
    "plan_scan",
    "prefetch_scans",
    "register",
    "resolve_unknown",
    "text",
    "unknown_scans",
    "write_scans",
]
