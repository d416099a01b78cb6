"""What applying Google's facts did or, in a dry run, would do: the import report plus the reconciliation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.services.csvio import ImportReport

# Reports keep this many example rows per list; the counts are always complete.
KEEP = 2000


@dataclass
class GoogleReport(ImportReport):
    """An import report plus the reconciliation between Google and Rollcall.

    `not_in_rollcall` lists the devices Google has that this run did not create (each with its reason);
    `unmapped_org_units` counts them by the org unit no mapping covers; `not_in_google` (a full run only) lists the
    devices Rollcall has that Google did not name; `synced` counts devices whose only news was a newer sync or OS
    version, written but not logged.
    """

    rows: int = 0
    other_campus: int = 0
    synced: int = 0
    new_models: list[str] = field(default_factory=list)
    not_in_rollcall: list[dict[str, Any]] = field(default_factory=list)
    not_in_google: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    unmapped_org_units: list[dict[str, Any]] = field(default_factory=list)
    not_in_rollcall_count: int = 0
    not_in_google_count: int = 0
    mismatch_count: int = 0
    seen_moved: int = 0

    def to_json(self) -> dict[str, Any]:
        """What an import run keeps for its report page."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "counts": self.counts(),
            "other_campus": self.other_campus,
            "seen_moved": self.seen_moved,
            "synced": self.synced,
            "new_models": self.new_models,
            "notes": self.notes,
            "errors": [{"line": e.line, "column": e.column, "message": e.message} for e in self.errors[:KEEP]],
            "changes": self.changes[:KEEP],
            "not_in_rollcall": self.not_in_rollcall[:KEEP],
            "not_in_google": self.not_in_google[:KEEP],
            "mismatches": self.mismatches[:KEEP],
            "unmapped_org_units": self.unmapped_org_units[:KEEP],
            "not_in_rollcall_count": self.not_in_rollcall_count,
            "not_in_google_count": self.not_in_google_count,
            "mismatch_count": self.mismatch_count,
            "different": self.different,
            "differences": self.differences,
        }

    def totals(self) -> dict[str, int]:
        """The run's counts for its own activity entry."""
        return {
            **self.counts(),
            "rows": self.rows,
            "synced": self.synced,
            "new_models": len(self.new_models),
            "not_in_rollcall": self.not_in_rollcall_count,
            "not_in_google": self.not_in_google_count,
            "mismatches": self.mismatch_count,
            "other_campus": self.other_campus,
            "unmapped_org_units": len(self.unmapped_org_units),
        }
