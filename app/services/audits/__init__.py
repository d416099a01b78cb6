"""Room audits: starting and closing them (through the outbox), their live and recorded results, rooms due.

How results are decided (so late, replayed and reordered events give the same answer):

* An audit's scans are the observations carrying its UUID (the `scan` event's `audit` field). Audits of the same
  room started while one was open form a group with the first as primary; every member's scans count.
* While open, expected = devices whose home room is the room (retired ones excepted); found = expected devices
  scanned; missing = expected not found; unexpected = scanned devices whose home is elsewhere; unknown = codes
  scanned in the room during the audit that matched no device. A device scanned twice is flagged, counted once.
* Closing (`audit.close`, event time T) snapshots the expected set into AuditItem rows and counts a scan as found
  when its event time is at most T. A scan that reaches the server after the close is kept (it is an
  observation like any other): with an event time after T it is reported as a late scan; with an event time
  before T (a phone that was offline) it still counts as found, whatever order the events arrived in.
* Expected devices not found are marked "missing in audit" (an AuditItem with outcome `missing`; the device
  keeps its status). The mark clears as soon as the device is seen again anywhere after the close (or a scan of
  it for this audit, made before the close, arrives late) — derived from observations, so no write is needed.
* A `scan` naming a closed audit is applied as a plain observation (it still records where the device was);
  the audit reports it as a late scan. `audit.start` naming a closed audit, or an unknown room, is rejected.

The package: `groups` (an audit, its group and what its room expects), `results` (what a group found, and its
JSON), `missing` (the "missing in audit" mark), `lists` (history, open audits, rooms due), `workflow` (start, close,
move a device here) and `handlers` (the sync events, registered with the others in app.services.events).
"""

from __future__ import annotations

from app.services.audits.groups import expected_assets, find_audit, members, open_audit_of, primary_of
from app.services.audits.lists import DueRoom, audits_query, last_closed_audits, open_audits, rooms_due
from app.services.audits.missing import is_missing_in_audit, missing_in_audit, missing_in_audit_clause
from app.services.audits.results import AuditResult, LateScan, Line, audit_result, result_json
from app.services.audits.workflow import close_audit, move_here, start_audit

__all__ = [
    "AuditResult",
    "DueRoom",
    "LateScan",
    "Line",
    "audit_result",
    "audits_query",
    "close_audit",
    "expected_assets",
    "find_audit",
    "is_missing_in_audit",
    "last_closed_audits",
    "members",
    "missing_in_audit",
    "missing_in_audit_clause",
    "move_here",
    "open_audit_of",
    "open_audits",
    "primary_of",
    "result_json",
    "rooms_due",
    "start_audit",
]
