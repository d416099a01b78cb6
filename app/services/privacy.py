"""Student privacy: who opened whose record, a person's data exported whole, and erasing a person's personal data.

Erasure keeps the records a district must keep (which device went where, fees, repairs) but takes the person's
name, IDs and contact details out of them: every text and JSON column of every table is searched for them, so the
person becomes "Erased person N" wherever anyone wrote them (notes, tickets others wrote, what phones sent, the
activity log, the one place the log is rewritten), and a stored value too deep or large to rewrite in place is
replaced whole.
"""

from __future__ import annotations

import itertools
import json
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    Assignment,
    Fee,
    FeeStatus,
    GuardianLink,
    Loan,
    LoanerSwap,
    Person,
    RecordView,
    Ticket,
    TicketRepair,
    User,
    Via,
    utcnow,
)
from app.services import activity
from app.services.errors import Forbidden, Invalid

# Views of one record by one person closer together than this are shown as one visit.
VISIT = timedelta(minutes=10)
# Columns never written into an export (photo bytes; the status-link secret).
NOT_EXPORTED = {"content", "status_token_hash"}


def note_view(person: Person, by: User, what: str, connection: sa.Connection) -> None:
    """Log that `by` opened `person`'s record ("page", "export", "desk", "repairs", "api") on `connection`, whose
    transaction the caller chooses (see app.web.note_record_view)."""
    note_views([person], by, what, connection)


def note_views(people: Iterable[Person | None], by: User, what: str, connection: sa.Connection) -> int:
    """Log that `by` was shown each of these people's records, once per person, in one statement (an API page of
    devices names up to 200 holders); returns how many were logged."""
    ids = sorted({person.id for person in people if person is not None})
    if ids:
        at = utcnow()
        rows = [{"person_id": i, "user_id": by.id, "at": at, "what": what} for i in ids]
        connection.execute(sa.insert(RecordView), rows)
    return len(ids)


@dataclass(frozen=True)
class Visit:
    user: User
    first: datetime
    last: datetime
    views: int
    what: set[str]


def visits(person: Person, limit: int = 20) -> list[Visit]:
    """Who opened this record, newest first, with a user's views close together shown as one visit."""
    rows = db.session.scalars(
        sa.select(RecordView).where(RecordView.person_id == person.id).order_by(RecordView.at.desc()).limit(500)
    ).all()
    out: list[Visit] = []
    for row in rows:
        last = out[-1] if out else None
        if last is not None and last.user.id == row.user_id and last.first - row.at <= VISIT:
            out[-1] = Visit(last.user, row.at, last.last, last.views + 1, last.what | {row.what})
        elif len(out) < limit:
            out.append(Visit(row.user, row.at, row.at, 1, {row.what}))
        else:
            break
    return out


def _row(obj: Any) -> dict[str, Any]:
    """A record's columns as JSON-ready values, by column name."""
    return {
        attr.columns[0].name: activity.plain(getattr(obj, attr.key))
        for attr in sa.inspect(obj).mapper.column_attrs
        if attr.columns[0].name not in NOT_EXPORTED
    }


def _with_tag(obj: Any, asset: Any) -> dict[str, Any]:
    return {**_row(obj), "asset_tag": asset.asset_tag if asset is not None else None}


def _reported(person: Person) -> sa.ColumnElement[bool]:
    """Tickets this person reported (by student ID or email)."""
    clauses = [Ticket.reporter_student_id == person.external_id]
    if person.email:
        clauses.append(sa.func.lower(Ticket.reporter_email) == person.email.lower())
    return sa.or_(*clauses)


def export(person: Person, *, by: User) -> dict[str, Any]:
    """Everything Rollcall holds about a person, as one JSON-ready document."""
    if not person.seen_by(by):
        raise Forbidden("That person is not on one of your campuses.")

    def rows(model: Any, *where: Any, order: Any) -> list[Any]:
        return list(db.session.scalars(sa.select(model).where(*where).order_by(order)))

    tickets = rows(Ticket, _reported(person), order=Ticket.id)
    responsible = rows(TicketRepair, TicketRepair.responsible_id == person.id, order=TicketRepair.ticket_id)
    return {
        "format": "rollcall-person-export",
        "exported_at": utcnow().isoformat(),
        "exported_by": by.email,
        "person": {
            **_row(person),
            "campus": person.campus.code if person.campus else None,
            "campuses": sorted(m.campus_id for m in person.memberships),
        },
        "guardians": [_row(g) for g in person.guardians],
        "assignments": [
            _with_tag(a, a.asset) for a in rows(Assignment, Assignment.person_id == person.id, order=Assignment.id)
        ],
        "loans": [_with_tag(loan, loan.asset) for loan in rows(Loan, Loan.person_id == person.id, order=Loan.id)],
        "tickets_reported": [
            {**_with_tag(t, t.asset), "photos": len(t.photos), "comments": [c.body for c in t.comments]}
            for t in tickets
        ],
        "repairs_answerable_for": [{**_row(r), "ticket": r.ticket.number} for r in responsible],
        "loaner_swaps": [_row(s) for s in rows(LoanerSwap, LoanerSwap.person_id == person.id, order=LoanerSwap.id)],
        "fees": [_with_tag(f, f.asset) for f in rows(Fee, Fee.person_id == person.id, order=Fee.id)],
        "activity": [
            {
                "at": a.at.isoformat(),
                "action": a.action,
                "summary": a.summary,
                "via": a.via.value,
                "by": a.user.email if a.user else None,
                "before": a.before,
                "after": a.after,
            }
            for a in rows(Activity, Activity.person_id == person.id, order=Activity.id)
        ],
        "record_views": [
            {"at": v.at.isoformat(), "by": v.user.email, "what": v.what}
            for v in rows(RecordView, RecordView.person_id == person.id, order=RecordView.id)
        ],
    }


def _forget_guardians(person: Person) -> None:
    """The person's guardians are their family's contact details: unlinked, and gone once no student has them."""
    guardians = list(person.guardians)
    person.guardians.clear()
    db.session.flush()
    for guardian in guardians:
        others = sa.select(GuardianLink.person_id).where(GuardianLink.guardian_id == guardian.id).limit(1)
        if db.session.scalar(others) is None:
            db.session.delete(guardian)
    db.session.flush()


def _blockers(person: Person) -> list[str]:
    """What must be settled before a person's data can go: devices they hold and fees they owe."""
    held = db.session.scalars(
        sa.select(Assignment).where(Assignment.person_id == person.id, Assignment.returned_at.is_(None))
    ).all()
    lent = db.session.scalars(sa.select(Loan).where(Loan.person_id == person.id, Loan.returned_at.is_(None))).all()
    owed = db.session.scalar(
        sa.select(sa.func.count()).where(Fee.person_id == person.id, Fee.status == FeeStatus.outstanding)
    )
    out = []
    if held or lent:
        tags = ", ".join(sorted({a.asset.asset_tag for a in held} | {loan.asset.asset_tag for loan in lent}))
        out.append(f"take back the devices they hold ({tags})")
    if owed:
        out.append(f"settle or waive their {owed} outstanding fee{'s' if owed != 1 else ''}")
    return out


# Erasure rewrites every text and JSON column, found from the schema, in which a person's identifiers can be
# written, except what must never change whatever it holds: keys, enums and unique columns (asset tags, serials,
# tag codes, campus and room codes, RMAs, token hashes); the identifiers and secrets that are not unique, named
# here; search_text, which is built from a device's current holder (and the erased person holds no device); and
# the rows of people and staff accounts, which are other people's identities (erase rewrites the erased person's
# own row itself, and someone else of the same name keeps theirs).
NEVER_REWRITTEN_TABLES = frozenset({"people", "users"})
NEVER_REWRITTEN_COLUMNS = frozenset(
    {
        "password_hash",
        "session_token",
        "prefix",
        "digest",
        "tag_code",
        "client_id",
        "event_id",
        "audit_id",
        "google_device_id",
        "annotated_asset_id",
        "search_text",
    }
)
# Stored JSON past either bound is never decoded (a recursive decoder or walk would fail on it, and anything
# Rollcall writes is far inside both); one that mentions the person is replaced whole by a marker.
MAX_JSON_DEPTH = 64
MAX_JSON_CHARS = 16 * 2**20
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}
_UNREADABLE = object()
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _identifiers(person: Person) -> list[str]:
    """The person's name, IDs, email and username, longest first (a shorter one can sit inside a longer one)."""
    texts = (person.name, person.external_id, person.sourced_id, person.email, person.username)
    return sorted({t.strip() for t in texts if t and len(t.strip()) >= 2}, key=len, reverse=True)


def _mentions(identifiers: list[str]) -> re.Pattern[str]:
    """Any of the identifiers as a whole word, in any case (an ID of 1000 is not in the tag LHS-1000)."""
    alternatives = "|".join(re.escape(t) for t in identifiers)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def _needles(identifiers: list[str]) -> set[str]:
    """Substrings that every spelling of each identifier contains, for the database's LIKE to narrow rows by.

    SQLite's LIKE and PostgreSQL's ILIKE (in the C locale) fold the case of ASCII letters only, so an identifier is
    cut at its other cased letters and its longest piece is looked for; one with no piece that long is looked for
    in its usual spellings instead. The regex of `_mentions` then decides on each row found.
    """
    out: set[str] = set()
    for text in identifiers:
        cut = [c for c in text if not c.isascii() and c.lower() != c.upper()]
        pieces = re.split("|".join(map(re.escape, cut)), text) if cut else [text]
        longest = max(pieces, key=len)
        if len(longest.strip()) >= 3 or not cut:
            out.add(longest)
        else:
            out |= {text, text.lower(), text.upper(), text.title()}
    # A needle that holds another one finds no row the other misses (a username inside an email, say).
    kept: list[str] = []
    for needle in sorted(out, key=lambda n: (len(n), n)):
        if not any(k.translate(_ASCII_LOWER) in needle.translate(_ASCII_LOWER) for k in kept):
            kept.append(needle)
    return set(kept)


def _kind(column: sa.Column) -> sa.types.TypeEngine:
    """The column's type as the database holds it (what a TypeDecorator wraps)."""
    return column.type.impl_instance if isinstance(column.type, sa.types.TypeDecorator) else column.type


def _rewritable(table: sa.Table, column: sa.Column) -> bool:
    """Whether erasure may rewrite this column: text or JSON that is not an identifier (see NEVER_REWRITTEN_*)."""
    kind = _kind(column)
    unique = column.unique or any(
        column.name in c.columns
        for c in (*table.constraints, *table.indexes)
        if isinstance(c, sa.UniqueConstraint) or (isinstance(c, sa.Index) and c.unique)
    )
    return (
        isinstance(kind, (sa.String, sa.JSON))
        and not isinstance(kind, sa.Enum)
        and not (column.primary_key or column.foreign_keys or unique)
        and table.name not in NEVER_REWRITTEN_TABLES
        and column.name not in NEVER_REWRITTEN_COLUMNS
    )


def _scrub_json(value: Any, mentions: re.Pattern[str], label: str) -> tuple[Any, bool]:
    """Decoded JSON with the person taken out of every string, keys included, and whether anything changed.

    An explicit stack rather than recursion, so no shape of stored value can exhaust Python's call stack.
    """
    changed = False

    def text(item: str) -> str:
        nonlocal changed
        new = mentions.sub(label, item)
        changed = changed or new != item
        return new

    if isinstance(value, str):
        return text(value), changed
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = text(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
        elif isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for key, item in items:
                item = text(item) if isinstance(item, str) else item
                node[text(key) if isinstance(key, str) else key] = item
                if isinstance(item, (list, dict)):
                    stack.append(item)
    return value, changed


def _decode(raw: str) -> Any:
    """A stored JSON text decoded, or _UNREADABLE when it is past the bounds or not JSON at all."""
    if len(raw) > MAX_JSON_CHARS:
        return _UNREADABLE
    brackets = re.sub(r"[^\[\]{}]", "", _JSON_STRING.sub("", raw))
    if max(itertools.accumulate(map(_NESTING.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH:
        return _UNREADABLE
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return _UNREADABLE


def _mentioned_in(raw: str, mentions: re.Pattern[str]) -> bool:
    """Whether undecodable stored JSON mentions the person: in its text, or in any string once unescaped."""
    if mentions.search(raw):
        return True
    for token in _JSON_STRING.finditer(raw):
        try:
            text = json.loads(token.group())
        except ValueError:
            continue
        if mentions.search(text):
            return True
    return False


def _scrub_stored_json(raw: str, mentions: re.Pattern[str], label: str) -> tuple[Any, bool]:
    """What to store instead of a stored JSON text, and whether that differs from it."""
    value = _decode(raw)
    if value is _UNREADABLE:
        return {"erased": label}, _mentioned_in(raw, mentions)
    return _scrub_json(value, mentions, label)


def _like(expression: sa.ColumnElement[Any], needles: set[str], dialect: str) -> sa.ColumnElement[bool]:
    """The database-side narrowing: the expression contains one of the needles, ASCII case aside."""
    patterns = ["%" + n.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%" for n in sorted(needles)]
    # SQLite's LIKE already ignores ASCII case; its ILIKE would lower() every value first.
    if dialect == "sqlite":
        return sa.or_(*(expression.like(p, escape="/") for p in patterns))
    return sa.or_(*(expression.ilike(p, escape="/") for p in patterns))


def _scrub_everywhere(identifiers: list[str], label: str) -> int:
    """Replace every mention of the identifiers in every rewritable column of every table; returns rows changed.

    Each table is read once, narrowed in the database to rows that may mention the person, so a district's
    200,000 devices are never loaded into Python. JSON is read as its stored text, never through a decoder that
    could fail on what is stored.
    """
    if not identifiers:
        return 0
    mentions = _mentions(identifiers)
    text_needles = _needles(identifiers)
    json_needles = {json.dumps(n)[1:-1] for n in text_needles}
    dialect = db.session.get_bind().dialect.name
    mappers = {m.local_table: m for m in db.Model.registry.mappers}
    changed_rows = 0
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if _rewritable(table, c)]
        if not columns:
            continue
        keys = list(table.primary_key.columns)
        read, where = [], []
        for column in columns:
            is_json = isinstance(_kind(column), sa.JSON)
            expression = sa.cast(column, sa.Text) if is_json else sa.type_coerce(column, sa.Text)
            read.append(expression.label(column.name))
            where.append(_like(expression, json_needles if is_json else text_needles, dialect))
        rows = db.session.execute(sa.select(*keys, *read).where(sa.or_(*where))).all()
        for row in rows:
            changes: dict[str, Any] = {}
            for column in columns:
                stored = row._mapping[column.name]
                if not isinstance(stored, str):
                    continue
                if isinstance(_kind(column), sa.JSON):
                    value, changed = _scrub_stored_json(stored, mentions, label)
                else:
                    value = mentions.sub(label, stored)[: _kind(column).length]
                    changed = value != stored
                if changed:
                    changes[column.name] = value
            if not changes:
                continue
            key = [row._mapping[k.name] for k in keys]
            db.session.execute(table.update().where(*(k == v for k, v in zip(keys, key, strict=True))).values(changes))
            changed_rows += 1
            # An instance already loaded would go on showing what was there before.
            mapper = mappers.get(table)
            loaded = mapper and db.session.identity_map.get(mapper.identity_key_from_primary_key(key))
            if loaded is not None:
                db.session.expire(loaded)
    return changed_rows


def erase(person: Person, *, confirm: str, by: User, via: Via) -> str:
    """Take a person's personal data out of Rollcall (campus admins, for their campuses); returns the new label.

    `confirm` must repeat the person's ID. Refused while they hold devices or owe fees.
    """
    if not person.seen_by(by):
        raise Forbidden("That person is not on one of your campuses.")
    if person.external_id.startswith("erased-"):
        raise Invalid("This person's data has already been erased.", field="confirm")
    if confirm.strip() != person.external_id:
        raise Invalid(f"Type {person.external_id} to confirm.", field="confirm")
    blockers = _blockers(person)
    if blockers:
        raise Invalid("First " + " and ".join(blockers) + ".", field="confirm")
    label = f"Erased person {person.id}"
    _forget_guardians(person)
    for ticket in db.session.scalars(sa.select(Ticket).where(_reported(person))):
        ticket.reporter_name = ticket.reporter_student_id = ticket.reporter_email = None
    db.session.flush()
    rewritten = _scrub_everywhere(_identifiers(person), label)
    person.name = label
    person.external_id = f"erased-{person.id}"
    person.sourced_id = person.email = person.username = person.grade = None
    person.active = False
    db.session.flush()
    activity.record(
        "person.erase",
        f"Erased the personal data of person {person.id}",
        by=by,
        via=via,
        person=person,
        subject=person,
        after={"records_rewritten": rewritten},
    )
    return label
