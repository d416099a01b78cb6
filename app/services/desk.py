"""The loaner desk's one decision: what a scan means, from the rule table static/desk-rules.json.

The phone runs the same table offline (static/js/desk.js); each side only works out the facts from what it knows
(here the database, there the desk pack), so the desk says the same thing with or without a signal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, AssetStatus, Assignment, Campus, Loan, Person
from app.services.assets import find_asset, open_assignment
from app.services.people import find_person

RULES_PATH = Path(__file__).resolve().parents[2] / "static" / "desk-rules.json"
# How many people a name search offers before asking for more of the name.
SEARCH_LIMIT = 8
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def rules() -> tuple[dict[str, Any], ...]:
    """The desk's rules, in order (read once from the file the page is also served)."""
    return tuple(json.loads(RULES_PATH.read_text(encoding="utf-8"))["rules"])


def holds(condition: Any, value: Any) -> bool:
    """One condition of a rule against one fact: equal, one of a list, or {"not": value}."""
    if isinstance(condition, list):
        return value in condition
    if isinstance(condition, dict):
        return value != condition["not"]
    return value == condition


def fill(template: str, facts: Mapping[str, Any]) -> str:
    """A message with {fact} placeholders filled in (an unknown fact reads as empty)."""
    return _PLACEHOLDER.sub(lambda m: str(facts.get(m.group(1)) or ""), template)


@dataclass(frozen=True)
class Outcome:
    """What the desk does with a scan: the rule's id, its kind (pick, lend, refuse...) and its message."""

    rule: str
    kind: str
    message: str


def decide(facts: Mapping[str, Any]) -> Outcome:
    """Run the rule table over the facts; the first rule whose conditions all hold decides."""
    for rule in rules():
        if all(holds(cond, facts.get(name)) for name, cond in rule["when"].items()):
            return Outcome(rule["id"], rule["then"], fill(rule.get("message", ""), facts))
    raise LookupError("the desk rules end without a catch-all")


class Facts(Mapping[str, Any]):
    """Facts worked out when a rule first asks for them, so a scan costs only the queries its answer needs."""

    def __init__(self, sources: dict[str, Callable[[], Any]]) -> None:
        self._sources = sources
        self._known: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._known:
            if name not in self._sources:
                raise KeyError(name)
            self._known[name] = self._sources[name]()
        return self._known[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


@dataclass
class Scan:
    """One entry at a desk and what the database says about it (filled in as the rules ask)."""

    campus: Campus
    code: str
    picked: bool = False
    selected: Person | None = None
    person: Person | None = None
    asset: Asset | None = None
    loan: Loan | None = None
    matches: list[Person] = field(default_factory=list)
    more: bool = False


def desk_people(campus: Campus) -> sa.Select:
    """The people a campus's desk may look up and lend to: its active students and staff."""
    return sa.select(Person).where(Person.on_campuses([campus.id]), Person.active.is_(True))


def desk_person(campus: Campus, text: str) -> Person | None:
    """A desk person by their ID (any case) or email; None for anyone else."""
    person = find_person(text)
    if person is None or campus.id not in person.campus_ids or not person.active:
        return None
    return person


def facts_for(scan: Scan) -> Facts:
    """The facts of a scan at `scan.campus`'s desk, from the database; `scan` keeps the records they name."""
    code = scan.code.strip()

    def person() -> str:
        scan.person = desk_person(scan.campus, code) if code else None
        if scan.person is None:
            return "none"
        return "selected" if scan.selected is not None and scan.person.id == scan.selected.id else "other"

    def asset() -> str:
        scan.asset = find_asset(code) if code else None
        if scan.asset is None:
            return "none"
        return "here" if scan.asset.campus_id == scan.campus.id else "other_campus"

    def device() -> Asset | None:
        facts["asset"]
        return scan.asset

    def loan() -> str:
        found = device()
        if found is None:
            return "none"
        scan.loan = db.session.scalar(sa.select(Loan).where(Loan.asset_id == found.id, Loan.returned_at.is_(None)))
        if scan.loan is None:
            return "none"
        return "selected" if scan.selected is not None and scan.loan.person_id == scan.selected.id else "other"

    def assignment() -> Assignment | None:
        found = device()
        return open_assignment(found) if found is not None else None

    def loan_name() -> str:
        facts["loan"]
        return scan.loan.person.name if scan.loan is not None else ""

    def assigned_name() -> str:
        held = facts["_assignment"]
        return held.person.name if held is not None else ""

    def names() -> str:
        needle = code.lower()
        found = list(
            db.session.scalars(
                desk_people(scan.campus)
                .where(sa.func.lower(Person.name).like(f"%{_escape_like(needle)}%", escape="\\"))
                .order_by(Person.name, Person.id)
                .limit(SEARCH_LIMIT + 1)
            )
        )
        scan.matches, scan.more = found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT
        return "none" if not found else "one" if len(found) == 1 else "many"

    def person_name() -> str:
        if facts["person"] != "none" and scan.person is not None:
            return scan.person.name
        return scan.matches[0].name if facts["names"] == "one" else ""

    facts = Facts(
        {
            "entry": lambda: "text" if code else "empty",
            "code": lambda: code,
            "picked": lambda: scan.picked,
            "selected": lambda: scan.selected is not None,
            "selected_name": lambda: scan.selected.name if scan.selected else "",
            "person": person,
            "person_name": person_name,
            "asset": asset,
            "asset_tag": lambda: found.asset_tag if (found := device()) else code,
            "status": lambda: found.status.value if (found := device()) else None,
            "status_label": lambda: found.status.label if (found := device()) else "",
            "loan": loan,
            "loan_name": loan_name,
            "assigned": lambda: facts["_assignment"] is not None,
            "assigned_name": assigned_name,
            "_assignment": assignment,
            "names": names,
        }
    )
    return facts


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def decide_scan(scan: Scan) -> Outcome:
    """Decide one desk scan from the database."""
    return decide(facts_for(scan))


# The desk pack: what a phone needs to decide scans with no signal, and nothing more about anyone.

DEVICE_FIELDS = ("tag_code", "asset_tag", "serial", "status")


def desk_pack(campus: Campus) -> dict[str, Any]:
    """A campus's devices (codes and status), its open loans as they stand and its desk people (ID and name)."""
    devices = db.session.execute(
        sa.select(Asset.id, Asset.tag_code, Asset.asset_tag, Asset.serial, Asset.status)
        .where(Asset.campus_id == campus.id)
        .order_by(Asset.asset_tag)
    ).all()
    loans = db.session.execute(
        sa.select(Asset.asset_tag, Person.external_id, Person.name, Loan.due_at)
        .join(Asset, Asset.id == Loan.asset_id)
        .join(Person, Person.id == Loan.person_id)
        .where(Asset.campus_id == campus.id, Loan.returned_at.is_(None))
        .order_by(Asset.asset_tag)
    ).all()
    assigned = db.session.execute(
        sa.select(Asset.asset_tag, Person.name)
        .join(Assignment, Assignment.asset_id == Asset.id)
        .join(Person, Person.id == Assignment.person_id)
        .where(Asset.campus_id == campus.id, Asset.status == AssetStatus.loaner, Assignment.returned_at.is_(None))
    ).all()
    people = db.session.execute(
        desk_people(campus).with_only_columns(Person.external_id, Person.name).order_by(Person.name, Person.id)
    ).all()
    return {
        "campus": campus.code,
        "device_fields": list(DEVICE_FIELDS),
        "devices": [[d.tag_code, d.asset_tag, d.serial, d.status.value] for d in devices],
        "loans": [{"asset": tag, "person": eid, "name": name, "due": due.isoformat()} for tag, eid, name, due in loans],
        # A loaner with a 1:1 holder cannot be lent; the holder's name is all the desk says about them.
        "assigned": {tag: name for tag, name in assigned},
        "people": [{"id": eid, "name": name} for eid, name in people],
    }
