"""Hostile input everywhere: NUL, lone surrogates, 10 MB strings, 1,000-deep JSON, huge and negative integers, the
first and last years, ±25 h offsets, CR/LF and Infinity/NaN thrown at every query argument, path argument, form
field, JSON body and sync event field the app has, as its own pages and spec show them. No answer is a server error,
every refusal says why, and what the storm left behind still backs up, restores into the other kind of database
(where one is at hand) and lets a person be erased.

One storm runs per module (a minute or so); each test below reads its part of what the storm saw.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Asset, AssetStatus, LabelFormat, Person, Role, TicketCategory, User, Vendor, Via
from app.services import labels, warranty
from app.services import loans as loan_service
from app.services import sync as sync_service
from app.services import tickets as ticket_service
from app.services import users as user_service
from app.services.photos import CleanPhoto
from tests import factories
from tests import hostile as h
from tests.servers import fresh_database

SURFACES = ("page", "query", "path", "form", "api", "sync")
ADMIN_EMAIL = "storm.admin@example.org"
ERASE_ID = "LHS100077"

# Path values for GET routes the crawl of a small district does not reach (say, a record it has none of).
EXAMPLES: dict[str, str] = {
    "api.asset": "/api/v1/assets/LHS-1000",
    "api.asset_observations": "/api/v1/assets/LHS-1000/observations",
    "api.audit": "/api/v1/audits/AUDIT-SEED-00001",
    "api.claim": "/api/v1/claims/1",
    "api.person": "/api/v1/people/LHS100001",
    "api.ticket": "/api/v1/tickets/T-000001",
    "assets.by_room": "/assets/room/LHS-101",
    "auth.invite": "/invite/not-an-invite-token",
    "auth.reset": "/password/reset/not-a-reset-token",
    "closet.export": "/closet/unseen.csv",
    "deployment.agreement": "/deployment/agreements/1",
    "disposal.certificate": "/disposal/1/certificate",
    "google_sync.run_page": "/google-sync/runs/1",
    "imports.rejected_csv": "/imports/runs/not-a-run-token/rejected.csv",
    "deployment.collection": "/deployment/collections/1",
    "deployment.deployment_receipt": "/deployment/deployments/1/receipt",
    "deployment.public_receipt": "/receipt/not-a-receipt-token",
    "deployment.signature": "/deployment/acks/1/signature.png",
    "api.job": "/api/v1/jobs/00000000-0000-4000-8000-000000000000",
    "jobs.show": "/jobs/00000000-0000-4000-8000-000000000000",
    "people.roster_run": "/people/import/not-a-roster-token",
    "labels.sheet": "/labels/prints/1",
    "repairs.device_damage": "/repairs/devices/LHS-1000",
    "repairs.vendor_claims_csv": "/repairs/vendors/1/claims.csv",
    "repairs.vendor_door": "/repairs/vendors/1/door",
    "repairs.person_damage": "/repairs/people/LHS100001",
    "sso.start": "/login/oidc/oidc",
    "sso.callback": "/login/oidc/oidc/callback",
    "tickets.photo": "/tickets/T-000001/photos/1.jpg",
    "webhooks.detail": "/webhooks/1",
}
# A valid body per JSON route, so a hostile value in one field reaches the code behind the others.
API_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/loans"): {"asset": "LHS-L1", "person": ERASE_ID, "due": "2026-03-02"},
    ("POST", "/api/v1/loans/checkin"): {"asset": "LHS-L1", "condition": "good", "note": "fine"},
    ("POST", "/api/v1/sync"): {"client_id": "hostile-phone", "events": []},
    ("PATCH", "/api/v1/claims/<int:claim_id>"): {"rma": "RMA-1", "status": "approved", "tracking": "1Z", "notes": "x"},
}
# A valid `data` per sync event type; `after` events follow each hostile one to put things back (a loaner returned).
EVENT_DATA: dict[str, dict[str, Any]] = {
    "scan": {"tag": "LHS-1000", "room": "LHS-101", "condition": "good", "note": "seen", "audit": None},
    "audit.start": {"audit": "AUDIT-HOSTILE-0001", "room": "LHS-101"},
    "audit.close": {"audit": "AUDIT-HOSTILE-0001"},
    "audit.condition": {"audit": "AUDIT-HOSTILE-0001", "tag": "LHS-1000", "condition": "fair"},
    "audit.move": {"audit": "AUDIT-HOSTILE-0001", "tag": "LHS-1001"},
    "loan.checkout": {"asset": "LHS-L2", "person": ERASE_ID, "due": "2026-03-02"},
    "loan.checkin": {"asset": "LHS-L2", "condition": "good", "note": "back"},
    "collect.return": {"asset": "LHS-1000", "condition": "good", "note": "back", "person": ERASE_ID, "station": "Gym"},
    "report.damage": {"tag": "LHS-1000", "category": "other", "description": "It broke", "reporter": "Erin"},
    "claim.receive": {"tag": "LHS-1000", "rma": None},
    "claim.ship": {"tag": "LHS-1000", "rma": None},
    "asset.mark_found": {"tag": "LHS-1000"},
}
# Findings tolerated until fixed, so that anything new still fails here — none today:
# (surface, "METHOD path" pattern, part pattern, value pattern, why).
KNOWN: list[tuple[str, str, str, str, str]] = []
AFTER_EVENT = {"loan.checkout": ("loan.checkin", {"asset": "LHS-L2", "condition": "good"})}


def _app(url: str):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    with app.app_context():
        upgrade()
    return app


def _seed() -> dict[str, Any]:
    """A small district with one of most things: a ticket with a photo and a warranty claim, a student report,
    loans, an audit, an unknown scan, a label print and an API token."""
    world = factories.make_district()
    lhs = world["lhs"]
    admin = factories.make_user(Role.admin, email=ADMIN_EMAIL)
    erin = factories.make_person(lhs, "Erin Erase", external_id=ERASE_ID, email="erin@students.example.org")
    for tag in ("LHS-L1", "LHS-L2", "LHS-L3"):
        factories.make_asset(lhs, world["lhs_store"], asset_tag=tag, serial=f"SN-{tag}", status=AssetStatus.loaner)
    asset = world["lhs_asset"]
    asset.warranty_provider, asset.warranty_start, asset.warranty_end = "Acer Care", date(2024, 1, 1), date(2031, 1, 1)
    photo = CleanPhoto(content=bytes(range(256)) * 8, width=64, height=32)
    ticket = ticket_service.open_ticket(
        asset, category=TicketCategory.other, description="Hinge loose", by=admin, via=Via.web, photos=[photo]
    )
    db.session.add(Vendor(name="Acer Care", ship_to="1 Repair Way"))
    warranty.open_claim(ticket, by=admin, via=Via.web)
    _report, status_token = ticket_service.file_student_report(
        world["jms_asset"], category=TicketCategory.other, description="Keys missing"
    )
    loaner = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-L3"))
    loan_service.check_out(loaner, world["student"], by=admin, due=None, via=Via.web)
    labels.record_print(LabelFormat.avery5160, [asset], by=admin, via=Via.web)
    sync_service.apply_batch(
        [
            h.event("audit.start", {"audit": "AUDIT-SEED-00001", "room": "LHS-101"}),
            h.event("scan", {"tag": "LHS-1000", "room": "LHS-101", "audit": "AUDIT-SEED-00001"}),
            h.event("scan", {"tag": "NOT-A-DEVICE", "room": "LHS-101"}),
        ],
        user=admin,
    )
    token = user_service.issue_token(admin, by=None, via=Via.cli)
    public = [
        f"/t/{world['jms_asset'].tag_code}",
        f"/t/{world['lhs_room'].tag_code}",
        f"/reports/status/{status_token}",
    ]
    return {"admin_id": admin.id, "erin_id": erin.id, "token": token, "public_urls": public}


def _sign_in(app, client, email: str = ADMIN_EMAIL) -> None:
    """Sign the client in as this user with a session of its own (again after a password change ended it)."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        start_session = getattr(user_service, "start_session", None)
        session_id = start_session(user, user_agent="hostile") if start_session else user.get_id()
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


@dataclass
class Storm:
    kind: str
    findings: list[h.Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    def note(self, surface: str, where: str, part: str, value: str, problem: str | None) -> None:
        self.counts[surface] += 1
        if problem:
            self.findings.append(h.Finding(surface, where, part, value, problem))

    def of(self, surface: str, guarded: bool) -> list[h.Finding]:
        """The findings of a surface not listed in KNOWN, of the guard's classes of value or of the others."""
        return [
            f
            for f in self.findings
            if f.surface == surface and (f.value in h.GUARDED) == guarded and not _known(f) and f.value != "-"
        ]


def _known(f: h.Finding) -> bool:
    return any(
        f.surface == surface
        and re.fullmatch(where, f.where)
        and re.fullmatch(part, f.part)
        and re.fullmatch(value, f.value)
        for surface, where, part, value, _why in KNOWN
    )


def _skip(url: str) -> bool:
    return url.startswith(("/static/", "/logout"))


class Runner:
    """Sends the storm through real requests, signed in as a district-wide admin (or as nobody, for public pages)."""

    def __init__(self, app, world: dict[str, Any], result: Storm):
        self.app = app
        self.world = world
        self.result = result
        self.admin = app.test_client()
        self.public = app.test_client()
        _sign_in(app, self.admin)
        self.token = world["token"]
        self.found = h.Crawl()
        self.public_endpoints: set[str] = set()
        self.public_forms: set[tuple] = set()
        self._csrf: dict[Any, str] = {}
        self.landed: list[str] = []  # where baseline submissions redirected to

    # Finding the targets ----------------------------------------------------------------------------------------

    def discover(self) -> None:
        app = self.app
        # Upload forms get the app's own asset export, which its Snipe-IT import reads back.
        self.export = self.admin.get("/imports/export/assets.csv").get_data()
        seeds = {
            "admin": ["/", *(r.rule for r in h.get_rules(app) if not r.arguments)],
            "public": ["/login", "/r", *self.world["public_urls"]],
        }
        crawls: dict[str, list[h.Crawl]] = {}
        for who, client in (("admin", self.admin), ("public", self.public)):
            first = h.crawl(app, client, seeds[who], skip=_skip, note=self.page)
            # Submitting every form once, as a person would, makes records (claims, batches, import runs...) whose
            # pages a second crawl then reaches from where the submissions landed.
            self.landed = []
            for form in list(first.forms.values()):
                self.submit(form, None, None, client=client)
            again = h.crawl(
                app, client, seeds[who] + list(first.urls.values()) + self.landed, skip=_skip, note=self.page
            )
            crawls[who] = [first, again]
            _sign_in(app, self.admin)
        for who in ("admin", "public"):
            for crawl in crawls[who]:
                for endpoint, url in crawl.urls.items():
                    if endpoint not in self.found.urls and who == "public":
                        self.public_endpoints.add(endpoint)
                    self.found.urls.setdefault(endpoint, url)
                for endpoint, names in crawl.args.items():
                    self.found.args.setdefault(endpoint, set()).update(names)
                for key, form in crawl.forms.items():
                    if key not in self.found.forms and who == "public":
                        self.public_forms.add(key)
                    self.found.forms.setdefault(key, form)
        self.found.urls.update({k: v for k, v in EXAMPLES.items() if k not in self.found.urls})

    def page(self, url: str, problem: str | None) -> None:
        self.result.note("page", f"GET {url}", "-", "none", problem)

    def client_for(self, endpoint: str):
        return self.public if endpoint in self.public_endpoints else self.admin

    # Query and path arguments -----------------------------------------------------------------------------------

    def query_storm(self) -> None:
        long = h.VALUES["long"]
        blueprints: set[str] = set()
        for endpoint, url in sorted(self.found.urls.items()):
            client = self.client_for(endpoint)
            names = sorted(self.found.args.get(endpoint, set())) or ["q"]
            for name in names:
                for value in h.text_values(h.REPRESENTATIVE):
                    self.get(client, endpoint, url, [(name, value.text)], name, value.name)
            # 10 MB through a URL costs a second or more: one route of each blueprint takes it.
            if endpoint.split(".")[0] not in blueprints:
                blueprints.add(endpoint.split(".")[0])
                self.get(client, endpoint, url, [(names[0], long.text)], names[0], long.name)

    def get(self, client, endpoint: str, url: str, pairs, part: str, value: str) -> None:
        query = h.urlencode(pairs)
        resp, problem = h.judge(lambda: client.get(url, query_string=query))
        self.result.note("query", f"GET {url}", part, value, problem)
        if resp is not None and resp.status_code in (302, 401) and "/login" in resp.headers.get("Location", ""):
            _sign_in(self.app, self.admin)

    def path_storm(self) -> None:
        adapter = self.app.url_map.bind("rollcall.test")
        for rule in h.get_rules(self.app):
            url = self.found.urls.get(rule.endpoint)
            if not rule.arguments or url is None:
                continue
            _rule, args = adapter.match(url, method="GET", return_rule=True)
            client = self.client_for(rule.endpoint)
            for name in sorted(rule.arguments):
                for value in h.text_values(["nul", "surrogate", "int_2_63", "int_1e30", "int_neg", "crlf"]):
                    path = rule.rule
                    for other, given in args.items():
                        shown = h.as_bytes(value.text) if other == name else h.as_bytes(str(given))
                        path = _replace_argument(path, other, h.quote_from_bytes(shown, safe=""))
                    _resp, problem = h.judge(lambda p=path, c=client: c.get(p))
                    self.result.note("path", f"GET {rule.rule}", name, value.name, problem)

    # Forms ------------------------------------------------------------------------------------------------------

    def form_storm(self) -> None:
        for key, form in self.found.forms.items():
            if _dangerous(form, self.world):
                continue
            client = self.public if key in self.public_forms else self.admin
            targets = [f for f in form.fields if f.name != "csrf_token" and f.kind != "button"]
            long_sent = False
            for target in targets:
                full = target.feeds_database or target.kind in ("file", "textarea")
                values = h.text_values(list(h.VALUES) if full else h.REPRESENTATIVE)
                for value in values:
                    if value.name == "long":
                        if long_sent:
                            continue
                        long_sent = True
                    self.submit(form, target, value, client=client)
                _sign_in(self.app, self.admin)

    def submit(self, form: h.Form, target: h.Field | None, value: h.Value | None, client=None) -> None:
        client = client or self.admin
        pairs = h.form_values(form, h.plausible)
        files = [(f.name, "assets.csv", self.export) for f in form.fields if f.kind == "file"]
        if target is not None and value is not None:
            if target.kind == "file":
                files = [(n, fn, h.as_bytes(value.text) if n == target.name else c) for n, fn, c in files]
            else:
                pairs = [(n, value.text if n == target.name else v) for n, v in pairs]
        headers = {"X-CSRFToken": self.csrf(client)}
        if form.multipart or files:
            body, content_type = h.multipart(pairs, files)
        else:
            body, content_type = h.urlencode(pairs).encode(), "application/x-www-form-urlencoded"
        resp, problem = h.judge(lambda: client.post(form.action, data=body, content_type=content_type, headers=headers))
        part, name = (target.name, value.name) if target and value else ("*", "baseline")
        self.result.note("form", f"POST {form.action}", part, name, problem)
        location = resp.headers.get("Location", "") if resp is not None else ""
        if resp is not None and resp.status_code in (302, 303) and "/login" in location:
            _sign_in(self.app, self.admin)
        elif location and value is None:
            self.landed.append(h.urlsplit(location).path)

    def csrf(self, client) -> str:
        """The session's CSRF token (the same for every form of the session), read from a page once."""
        if client in self._csrf:
            return self._csrf[client]
        page = h.parse(
            "/login", client.get("/login" if client is self.public else "/account/password").get_data(as_text=True)
        )
        token = next((f.value for form in page.forms for f in form.fields if f.name == "csrf_token"), None)
        self._csrf[client] = token or page.csrf or ""
        return self._csrf[client]

    # JSON bodies --------------------------------------------------------------------------------------------------

    def fresh_token(self) -> str:
        """A new API token for the storm admin (a password the form storm changed may have ended the old ones)."""
        with self.app.app_context():
            admin = db.session.get(User, self.world["admin_id"])
            self.token = user_service.issue_token(admin, by=None, via=Via.cli)
            db.session.commit()
        return self.token

    def api_storm(self, spec: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.fresh_token()}"}
        for rule in self.app.url_map.iter_rules():
            if not rule.rule.startswith("/api/v1/"):
                continue
            for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
                where = f"{method} {rule.rule}"
                base = API_BODIES.get((method, rule.rule))
                fields = _body_fields(spec, rule.rule, method)
                if base is None or fields is None:
                    self.result.note(
                        "api", where, "*", "-", "no example body in API_BODIES or no requestBody in the spec"
                    )
                    continue
                for value in h.json_values():
                    body = value.json
                    self.post_json(where, rule.rule, method, body, headers, "(body)", value.name)
                    for name in sorted(fields | set(base)):
                        body = h.with_hostile(json.loads(json.dumps(base)), (name,), value.json)
                        self.post_json(where, rule.rule, method, body, headers, name, value.name)
                        if rule.rule == "/api/v1/loans":
                            self.admin.post("/api/v1/loans/checkin", json={"asset": "LHS-L1"}, headers=headers)

    def post_json(self, where, path, method, body: str, headers, part: str, value: str) -> None:
        _resp, problem = h.judge(
            lambda: self.admin.open(path, method=method, data=body, content_type="application/json", headers=headers)
        )
        self.result.note("api", where, part, value, problem)

    # Sync events ----------------------------------------------------------------------------------------------------

    def sync_storm(self) -> None:
        import inspect

        headers = {"Authorization": f"Bearer {self.fresh_token()}"}
        for event_type, reg in sorted(sync_service.HANDLERS.items()):
            where = f"sync {event_type}"
            base = EVENT_DATA.get(event_type)
            if base is None:
                self.result.note("sync", where, "*", "-", "no example data in EVENT_DATA")
                continue
            fields = h.event_fields(inspect.getsource(inspect.getmodule(reg.handler))) | set(base)
            parts = [("data", name) for name in sorted(fields)] + [("at",), ("id",), ("type",), ("data",)]
            for part in parts:
                for value in h.json_values():
                    ev = h.event(event_type, {k: v for k, v in base.items() if v is not None})
                    raw = h.with_hostile(ev, part, value.json)
                    events = [raw]
                    if event_type in AFTER_EVENT:
                        follow_type, follow_data = AFTER_EVENT[event_type]
                        events.append(json.dumps(h.event(follow_type, follow_data)))
                    body = '{"client_id": "hostile-phone", "events": [' + ", ".join(events) + "]}"
                    resp, problem = h.judge(
                        lambda b=body: self.admin.post(
                            "/api/v1/sync", data=b, content_type="application/json", headers=headers
                        )
                    )
                    if problem is None and resp.status_code == 200:
                        for answer in h.body_json(resp)["results"]:
                            if "could not apply" in (answer.get("reason") or ""):
                                problem = f"an event failed inside the server: {answer['reason']}"
                    self.result.note("sync", where, ".".join(part), value.name, problem)


def _replace_argument(rule: str, name: str, value: str) -> str:
    return re.sub(rf"<(?:[^:<>]+:)?{name}>", lambda _m: value, rule)


def _dangerous(form: h.Form, world: dict[str, Any]) -> bool:
    """Forms that would end the storm itself: signing out, or the storm admin's own account and token."""
    own = f"/users/{world['admin_id']}"
    return (
        form.action.startswith("/logout")
        or form.action.startswith((own + "/", own + "?"))
        or form.action == own
        or ("/account/tokens/" in form.action)
    )


def _body_fields(spec: dict[str, Any], path: str, method: str) -> set[str] | None:
    """The top-level properties of an operation's JSON body in the spec (None when it describes none)."""
    openapi_path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)  # /claims/<int:claim_id> → /claims/{claim_id}
    op = spec["paths"].get(openapi_path, {}).get(method.lower())
    if not op or "requestBody" not in op:
        return None
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


def _contents(app) -> dict[str, list[tuple]]:
    with app.app_context():
        return {
            t.name: [tuple(r) for r in db.session.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in db.metadata.sorted_tables
        }


def _other_kind(kind: str) -> str | None:
    """The kind of database to restore into: SQLite is always at hand, PostgreSQL when the run has a server."""
    if kind == "postgresql":
        return "sqlite"
    return "postgresql" if os.environ.get("TEST_DATABASE_URL") else None


@contextmanager
def _database(folder: Path, label: str, kind: str):
    if kind == "sqlite":
        saved = os.environ.pop("TEST_DATABASE_URL", None)
        try:
            with fresh_database(folder, label) as url:
                yield url
        finally:
            if saved is not None:
                os.environ["TEST_DATABASE_URL"] = saved
    else:
        with fresh_database(folder, label) as url:
            yield url


def _aftermath(app, result: Storm, runner: Runner, folder: Path) -> None:
    """Erase a person the storm lent to, back up, restore into a fresh database of the other kind and back."""
    headers = {"Authorization": f"Bearer {runner.fresh_token()}"}
    for tag in ("LHS-L1", "LHS-L2"):
        runner.admin.post("/api/v1/loans/checkin", json={"asset": tag}, headers=headers)
    _sign_in(app, runner.admin)
    resp = runner.admin.post(
        f"/people/{ERASE_ID}/erase", data={"confirm": ERASE_ID}, headers={"X-CSRFToken": runner.csrf(runner.admin)}
    )
    with app.app_context():
        erin = db.session.get(Person, runner.world["erin_id"])
        result.after["erase"] = (resp.status_code, erin.external_id, erin.name)
    cli = app.test_cli_runner()
    path = folder / "storm.rollcall.gz"
    out = cli.invoke(args=["backup", str(path)])
    result.after["backup"] = (out.exit_code, out.output, repr(out.exception) if out.exception else None)
    if out.exit_code != 0:
        return
    held = _contents(app)
    other = _other_kind(result.kind)
    result.after["other_kind"] = other
    kinds = [other or result.kind, result.kind]
    source = path
    for step, kind in enumerate(kinds):
        with _database(folder, f"restored{step}", kind) as url:
            target = _app(url)
            tcli = target.test_cli_runner()
            out = tcli.invoke(args=["restore", str(source)])
            result.after[f"restore{step}"] = (kind, out.exit_code, out.output[-500:])
            if out.exit_code == 0:
                result.after[f"same{step}"] = _contents(target) == held
                source = folder / f"again{step}.rollcall.gz"
                out = tcli.invoke(args=["backup", str(source)])
                result.after[f"backup{step}"] = (out.exit_code, out.output[-500:])
            with target.app_context():
                db.session.remove()
                db.engine.dispose()
            if result.after[f"restore{step}"][1] != 0:
                return


@pytest.fixture(scope="module")
def storm(tmp_path_factory) -> Storm:
    folder = tmp_path_factory.mktemp("hostile")
    with fresh_database(folder, "hostile") as url:
        app = _app(url)
        with app.app_context():
            world = _seed()
            db.session.commit()
            spec = app.test_client().get("/api/openapi.json").get_json()
        result = Storm("postgresql" if url.startswith("postgresql") else "sqlite")
        runner = Runner(app, world, result)
        for step in ("discover", "query_storm", "path_storm", "form_storm", "api_storm", "sync_storm"):
            started = time.monotonic()
            method = getattr(runner, step)
            method(spec) if step == "api_storm" else method()
            result.seconds[step] = round(time.monotonic() - started, 1)
        result.after["found"] = runner.found
        result.after["endpoints"] = [r.endpoint for r in h.get_rules(app)]
        started = time.monotonic()
        _aftermath(app, result, runner, folder)
        result.seconds["aftermath"] = round(time.monotonic() - started, 1)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        yield result


def test_every_get_route_is_reached(storm):
    """Each GET route was fetched by the crawl or has a path in EXAMPLES, so none escapes the storm."""
    found = storm.after["found"]
    missing = [e for e in storm.after["endpoints"] if e not in found.urls]
    assert not missing, f"no URL for {missing}: add one to EXAMPLES (or seed what its page needs)"


def test_every_body_route_and_event_type_has_an_example(storm):
    gaps = [str(f) for f in storm.findings if f.value == "-"]
    assert not gaps, gaps


@pytest.mark.parametrize("guarded", [False, True], ids=["other", "guarded"])
@pytest.mark.parametrize("surface", SURFACES)
def test_no_server_error_and_every_refusal_says_why(storm, surface, guarded):
    """No 5xx (nor a sync event failing inside the server), and every 4xx carries a message.

    `guarded` are the classes the request guard refuses at the door (NUL, lone surrogates, deep JSON, Infinity/NaN).
    """
    assert storm.counts[surface], f"the storm sent nothing through {surface}"
    found = [str(f) for f in storm.of(surface, guarded)]
    assert not found, f"{len(found)} of {storm.counts[surface]} requests:\n" + "\n".join(found[:60])


def test_erasing_a_person_after_the_storm(storm):
    status, external_id, name = storm.after["erase"]
    assert status == 303 and external_id.startswith("erased-") and name.startswith("Erased person")


def test_the_storm_backs_up_and_restores_into_the_other_kind_and_back(storm):
    code, output, exc = storm.after["backup"]
    assert code == 0, (output, exc)
    for step in (0, 1):
        kind, code, output = storm.after[f"restore{step}"]
        assert code == 0, f"restore into {kind}: {output}"
        assert storm.after[f"same{step}"], f"the {kind} copy differs from what was backed up"
        assert storm.after[f"backup{step}"][0] == 0, storm.after[f"backup{step}"]


def test_the_storm_took_a_sane_time(storm):
    """How long each part took and how many requests it sent (shown with -s); the whole storm stays in minutes."""
    print(f"\nhostile storm on {storm.kind}: {dict(storm.seconds)} s, {dict(storm.counts)} requests")
    assert sum(storm.seconds.values()) < 600
