"""In-house repair, one concern per module: `record` (the ticket's repair record and the hold on its device),
`workflow` (triage, take-in, resolve, close, reopen), `parts` (catalogue and stock), `costs` (labour and what a
repair cost), `swaps` (loaners lent during a repair), `history` (damage history), `planning` (budget numbers).
Import each name from the module that owns it; warranty claims live beside this package, in services/warranty.py.
"""
