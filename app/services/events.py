"""Every sync event type and its handler, in one table: create_app registers them at start-up.

The modules that define handlers never register them when imported, so what POST /api/v1/sync routes where is
read here, not discovered by which views happen to import which services. A feature adds its type with one more
`register(...)` line below (see app.services.sync for the handler contract).
"""

from __future__ import annotations

from app.services import loans, tickets, warranty
from app.services.audits import handlers as audits
from app.services.deployment import collect
from app.services.found import handlers as found
from app.services.sync import Bulk, register
from app.services.sync import scan as scans


def register_all() -> None:
    """Route each event type to its handler, with the capability (app.permissions) a user needs to send it."""
    many_scans = Bulk(scans.plan_scan, scans.write_scans)
    register("scan", scans.apply_scan, needs="scan", prefetch=scans.prefetch_scans, bulk=many_scans)
    register("audit.start", audits.apply_start, needs="audits.run")
    register("audit.close", audits.apply_close, needs="audits.run")
    register("audit.condition", audits.apply_condition, needs="audits.run")
    # Moving a device's home room is an inventory change; aides doing audits may make it for their rooms.
    register("audit.move", audits.apply_move, needs="audits.run")
    register("loan.checkout", loans.apply_checkout_event, needs="desk")
    register("loan.checkin", loans.apply_checkin_event, needs="desk")
    register("collect.return", collect.apply_collect_event, needs="desk")
    register("report.damage", tickets.apply_report_event, needs="tickets.work")
    register("claim.receive", warranty.apply_receive, needs="repairs.work")
    register("claim.ship", warranty.apply_ship, needs="repairs.work")
    # "Mark found" on the scan and audit pages: putting a missing device's status back is an inventory change.
    register("asset.mark_found", found.apply_mark_found, needs="assets.edit")
