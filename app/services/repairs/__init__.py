"""In-house repair, one concern per module: `record` (the ticket's repair record and the hold on its device),
`workflow` (triage, take-in, resolve, close, reopen), `parts` (catalogue and stock), `costs` (labour and what a
repair cost), `swaps` (loaners lent during a repair), `history` (damage history), `planning` (budget numbers).

Import each name from the module that owns it. The three names below are re-exported only for the ticket API
(`app/views/api_repairs.py`), which reads them from here until its move into `app/views/api/` lands.
"""

from app.services.repairs.costs import parts_used, ticket_cost
from app.services.repairs.record import repair_of

__all__ = ["parts_used", "repair_of", "ticket_cost"]
