"""Repairs for techs and admins, one blueprint (`repairs`) in route modules by concern: the ticket's repair panel
and its actions (`ticket`), the repairs page (`overview`), parts and stock (`parts`), warranty claims, batches and
receiving (`claims`), the vendor list (`vendors`) and each vendor's door (`vendor_door`: API token, claims CSV,
status file), swaps to reverse (`swaps`), fees (`fees`), damage history and
planning (`history`).

`bp` lives in `blueprint.py` and what the routes share in `common.py`, below the routes; importing the route
modules here is what adds their routes to `bp`.
"""

from app.views.repairs import claims, fees, history, overview, parts, swaps, ticket, vendor_door, vendors  # noqa: F401
from app.views.repairs.blueprint import bp

__all__ = ["bp"]
