"""Google Admin Chrome device import: the console's CSV download and `gam print cros` output.

The import lives in app.services.google (admin_csv reads the file, fleet applies it, as it does the live sync);
this module keeps the names its callers use.
"""

from __future__ import annotations

from app.services.csvio import HeaderError
from app.services.google.admin_csv import ALIASES, run
from app.services.google.facts import parse_when
from app.services.google.fleet import NO_MISMATCH_STATUSES, mismatches
from app.services.google.report import KEEP, GoogleReport

__all__ = ["ALIASES", "KEEP", "NO_MISMATCH_STATUSES", "GoogleReport", "HeaderError", "mismatches", "parse_when", "run"]
