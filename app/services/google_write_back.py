"""Write-back: what Rollcall knows, told to Google Admin when the district switches it on (issue 18, point 5).

A device marked missing is disabled in Google, and re-enabled once it is found (only devices Rollcall itself
disabled); a retired device is deprovisioned with the reason Google requires; a device in a status the admins'
table names (in_repair → /Devices/Repair) is moved to that org unit; the asset tag, the assignee's email and the
home room are written to annotatedAssetId, annotatedUser and annotatedLocation. `plan()` compares each
device with what Google last said (the sync's facts on the asset) and lists the changes, which is also the preview
shown before the switch is turned on. `send()` queues them (GoogleWriteBack rows, visible to admins), makes the
calls (status changes at most 50 devices a call), marks each change done or failed with Google's words as Google
answers, and logs every call with who and why. Nothing is sent while the switch is off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.extensions import db
from app.integrations import google_directory as gd
from app.models import (
    Asset,
    AssetStatus,
    GoogleWriteBack,
    Person,
    Room,
    User,
    Via,
    WriteBackStatus,
    utcnow,
)
from app.services import activity
from app.services.errors import Invalid
from app.services.google_sync import settings, state

DISABLE, REENABLE, DEPROVISION, MOVE, ANNOTATE = "disable", "reenable", "deprovision", "move", "annotate"
ACTIONS = {DISABLE: gd.DISABLE, REENABLE: gd.REENABLE, DEPROVISION: gd.DEPROVISION}
# What Google's status becomes once it confirms each action (as the sync keeps it, lower case).
STATUS_AFTER = {DISABLE: "disabled", REENABLE: "active", DEPROVISION: "deprovisioned"}
ANNOTATED = {"annotatedAssetId": "annotated_asset_id", "annotatedUser": "annotated_user",
             "annotatedLocation": "annotated_location"}  # fmt: skip
# Google's field → the asset's column that keeps what Google says, set once Google confirms a change.
CONFIRMED = {**ANNOTATED, "orgUnitPath": "org_unit"}
# Examples a preview shows; its counts are complete.
SHOWN = 500


@dataclass
class Change:
    """One change for Google: the device, what to do, the values (annotate), and why in words."""

    asset_id: int
    asset_tag: str
    device_id: str
    action: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip().lower() == (b or "").strip().lower()


def _disabled_by_rollcall() -> sa.Select:
    """Assets whose last status change Rollcall made in Google was a disable Google confirmed."""
    last = (
        sa.select(sa.func.max(GoogleWriteBack.id))
        .where(
            GoogleWriteBack.status == WriteBackStatus.done,
            GoogleWriteBack.action.in_([DISABLE, REENABLE]),
        )
        .group_by(GoogleWriteBack.asset_id)
    )
    return sa.select(GoogleWriteBack.asset_id).where(GoogleWriteBack.id.in_(last), GoogleWriteBack.action == DISABLE)


def plan() -> list[Change]:
    """Every change write-back would make now, device by device (asset tag order)."""
    room = aliased(Room)
    rows = db.session.execute(
        sa.select(
            Asset.id,
            Asset.asset_tag,
            Asset.status,
            Asset.google_device_id,
            Asset.google_status,
            Asset.annotated_asset_id,
            Asset.annotated_user,
            Asset.annotated_location,
            Asset.org_unit,
            Person.email,
            room.code,
            Asset.id.in_(_disabled_by_rollcall()).label("ours"),
        )
        .outerjoin(Person, Asset.assigned_to_id == Person.id)
        .outerjoin(room, Asset.home_room_id == room.id)
        .where(Asset.google_device_id.is_not(None))
        .order_by(Asset.asset_tag)
    )
    moves = state().ou_by_status or {}
    changes: list[Change] = []
    for r in rows:
        google_status = (r.google_status or "").lower()
        if google_status == "deprovisioned":
            continue
        status_change = _status_change(r.status, google_status, bool(r.ours))
        if status_change is not None:
            action, reason = status_change
            changes.append(Change(r.id, r.asset_tag, r.google_device_id, action, f"{r.asset_tag} {reason}"))
        if r.status is AssetStatus.retired:
            continue
        target = moves.get(r.status.value)
        if target and not _same(r.org_unit, target):
            reason = f"{r.asset_tag} is {r.status.value}: org unit {r.org_unit or '(none)'} → {target}"
            changes.append(Change(r.id, r.asset_tag, r.google_device_id, MOVE, reason, {"orgUnitPath": target}))
        wanted = {"annotatedAssetId": r.asset_tag, "annotatedUser": r.email or "", "annotatedLocation": r.code or ""}
        differ = {k: v for k, v in wanted.items() if not _same(getattr(r, ANNOTATED[k]), v)}
        if differ:
            words = ", ".join(f"{k} → {v or '(empty)'}" for k, v in differ.items())
            changes.append(Change(r.id, r.asset_tag, r.google_device_id, ANNOTATE, f"{r.asset_tag}: {words}", differ))
    return changes


def _status_change(status: AssetStatus, google_status: str, ours: bool) -> tuple[str, str] | None:
    if status is AssetStatus.missing:
        return (DISABLE, "is marked missing in Rollcall") if google_status != "disabled" else None
    if status is AssetStatus.retired:
        return DEPROVISION, "is retired in Rollcall"
    if google_status == "disabled" and ours:
        return REENABLE, f"was found (now {status.value})"
    return None


def preview() -> dict[str, Any]:
    """The dry run shown before (and while) write-back is on: counts by action and the first changes."""
    changes = plan()
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.action] = counts.get(c.action, 0) + 1
    return {"counts": counts, "total": len(changes), "changes": changes[:SHOWN]}


def set_switch(on: bool, *, by: User) -> None:
    """Turn write-back on or off (district-wide admins; the view checks), logged with who."""
    st = state()
    if st.write_back == on:
        return
    if on and not settings().configured:
        raise Invalid("Set up the Google connection before turning write-back on.", field="write_back")
    st.write_back, st.write_back_changed_by_id, st.write_back_changed_at = on, by.id, utcnow()
    activity.record(
        "google.write_back.switch",
        f"Google write-back turned {'on' if on else 'off'}",
        by=by,
        via=Via.web,
        before={"write_back": not on},
        after={"write_back": on},
    )


def pending() -> list[GoogleWriteBack]:
    """Changes waiting for Google, oldest first."""
    return list(
        db.session.scalars(
            sa.select(GoogleWriteBack)
            .where(GoogleWriteBack.status == WriteBackStatus.pending)
            .order_by(GoogleWriteBack.id)
        )
    )


def recent(limit: int = 50) -> list[GoogleWriteBack]:
    return list(db.session.scalars(sa.select(GoogleWriteBack).order_by(GoogleWriteBack.id.desc()).limit(limit)))


def _queue(changes: Iterable[Change], *, by: User | None) -> None:
    """Park the changes not already waiting (a change for a device and action waits once)."""
    waiting = {(w.asset_id, w.action) for w in pending()}
    for c in changes:
        if (c.asset_id, c.action) in waiting:
            continue
        db.session.add(
            GoogleWriteBack(
                asset_id=c.asset_id,
                device_id=c.device_id,
                action=c.action,
                params=c.params or None,
                reason=c.reason[:300],
                requested_by_id=by.id if by else None,
            )
        )
    db.session.flush()


def send(*, by: User | None) -> dict[str, int]:
    """Queue what the plan says and send everything waiting to Google (only while write-back is on), committing
    after each call so what Google confirmed stays confirmed. Returns the count done and failed by action."""
    if not state().write_back:
        return {}
    _queue(plan(), by=by)
    db.session.commit()
    directory = gd.Directory(settings(), write=True)
    waiting = pending()
    done: dict[str, int] = {}
    for action in (DISABLE, REENABLE, DEPROVISION):
        rows = [w for w in waiting if w.action == action]
        for start in range(0, len(rows), gd.BATCH_SIZE):
            batch = rows[start : start + gd.BATCH_SIZE]
            results = directory.change_status([w.device_id for w in batch], ACTIONS[action])
            _confirm(batch, {r.device_id: r.error for r in results}, action, by)
            done[action] = done.get(action, 0) + len(batch)
    moving: dict[str, list[GoogleWriteBack]] = {}
    for w in (w for w in waiting if w.action == MOVE):
        moving.setdefault((w.params or {}).get("orgUnitPath", ""), []).append(w)
    for target, rows in moving.items():
        for start in range(0, len(rows), gd.BATCH_SIZE):
            batch = rows[start : start + gd.BATCH_SIZE]
            directory.move([w.device_id for w in batch], target)
            _confirm(batch, {}, MOVE, by)
            done[MOVE] = done.get(MOVE, 0) + len(batch)
    for w in (w for w in waiting if w.action == ANNOTATE):
        directory.annotate(w.device_id, w.params or {})
        _confirm([w], {}, ANNOTATE, by)
        done[ANNOTATE] = done.get(ANNOTATE, 0) + 1
    return done


def _confirm(batch: list[GoogleWriteBack], errors: dict[str, str | None], action: str, by: User | None) -> None:
    """Record Google's answer for one call: each change done (its fact updated on the asset) or failed with
    Google's message; one activity entry for the call, with who and why."""
    now = utcnow()
    for w in batch:
        # Status changes answer per device (one missing from the answer failed); the other calls as a whole.
        error = errors.get(w.device_id, "Google did not answer for this device.") if action in ACTIONS else None
        w.sent_at = now
        w.status, w.error = (WriteBackStatus.failed, error) if error else (WriteBackStatus.done, None)
        asset = db.session.get(Asset, w.asset_id) if w.asset_id else None
        if asset is None or error:
            continue
        if action in STATUS_AFTER:
            asset.google_status = STATUS_AFTER[action]
        for key, value in (w.params or {}).items():
            setattr(asset, CONFIRMED[key], value or None)
    tags = ", ".join(w.reason.split(" ")[0].rstrip(":") for w in batch[:10])
    more = f" and {len(batch) - 10} more" if len(batch) > 10 else ""
    activity.record(
        f"google.write_back.{action}",
        f"Google write-back: {action} {len(batch)} device(s): {tags}{more}",
        by=by,
        via=Via.sync,
        asset=db.session.get(Asset, batch[0].asset_id) if len(batch) == 1 and batch[0].asset_id else None,
        after={"device_ids": [w.device_id for w in batch], "reasons": [w.reason for w in batch]},
    )
    db.session.commit()


def set_ou_table(text: str, *, by: User) -> dict[str, str]:
    """Read the admins' table, one `status /Org/Unit` a line (blank lines and # comments skipped), and keep it;
    Invalid naming the line that is wrong."""
    table: dict[str, str] = {}
    statuses = {s.value for s in AssetStatus}
    for number, line in enumerate(text.splitlines(), 1):
        status, _, path = line.split("#", 1)[0].strip().partition(" ")
        path = path.strip()
        if not status:
            continue
        if status not in statuses or not path.startswith("/") or len(path) > 255:
            message = f"Line {number}: write a status (such as in_repair), a space, and an org unit path from /."
            raise Invalid(message, field="ou_table")
        table[status] = path.rstrip("/") or "/"
    st = state()
    before = st.ou_by_status or {}
    if table != before:
        st.ou_by_status = table or None
        words = ", ".join(f"{k} → {v}" for k, v in table.items()) or "none"
        activity.record(
            "google.write_back.org_units",
            f"Google write-back org units by status: {words}",
            by=by,
            via=Via.web,
            before=before,
            after=table,
        )
    return table


def ou_table_text() -> str:
    return "\n".join(f"{k} {v}" for k, v in (state().ou_by_status or {}).items())
