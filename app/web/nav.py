"""Where each role goes: the places of the navigation, the role's main ones (a phone's tab bar) and its home page.

One table decides it, so the header, the phone's tab bar, its "More" menu and `/` never disagree. Which user may
open a place is not decided here: it is the capability its view demands (`permission_required`, read off the view
function), so a link is shown exactly when following it would not be refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from app import permissions
from app.models import Role, User

HOME_ENDPOINT = "dashboard.index"  # `/`: each role's home page


@dataclass(frozen=True, eq=False)  # each place is one object: compared by identity, never by its (lazy) words
class Place:
    """A page the navigation leads to, and the pages that count as being there (for aria-current)."""

    key: str
    label: LazyString  # the words people read, in the page's language (Flask-Babel)
    endpoint: str
    # Endpoints that are this place exactly, and blueprints whose every page is it unless another place names them.
    endpoints: tuple[str, ...] = ()
    blueprints: tuple[str, ...] = ()
    # Shown only to roles that have it among their main places (a second door into a page another place opens).
    main_only: bool = False


@dataclass(frozen=True)
class Link:
    """A place as one user sees it: where it goes and whether it is the page at hand."""

    place: Place
    href: str
    current: bool

    @property
    def key(self) -> str:
        return self.place.key

    @property
    def label(self) -> str:
        return str(self.place.label)


@dataclass(frozen=True)
class Nav:
    """One user's navigation: the main places (the tab bar), the rest ("More"), and the account's own pages."""

    main: tuple[Link, ...]
    more: tuple[Link, ...]
    account: tuple[Link, ...]

    @property
    def places(self) -> tuple[Link, ...]:
        """Every place, main ones first: the header's navigation on a wide screen."""
        return self.main + self.more

    @property
    def more_current(self) -> bool:
        """The page at hand is one the "More" menu leads to (so the menu's tab shows it)."""
        return any(link.current for link in self.more + self.account)


HOME = Place("home", _l("Home"), HOME_ENDPOINT, main_only=True)
DASHBOARD = Place("dashboard", _l("Dashboard"), "dashboard.board", endpoints=("dashboard.board",))
DEVICES = Place("devices", _l("Devices"), "assets.index", blueprints=("assets", "tags"))
SCAN = Place("scan", _l("Scan"), "scan.index", blueprints=("scan",))
TICKETS = Place("tickets", _l("Tickets"), "tickets.index", blueprints=("tickets",))
LABELS = Place("labels", _l("Labels"), "labels.index", blueprints=("labels",))
AUDITS = Place("audits", _l("Audits"), "audits.index", blueprints=("audits",))
PEOPLE = Place("people", _l("People"), "people.index", blueprints=("people",))
DESK = Place("desk", _l("Desk"), "loans.index", blueprints=("loans",))
LOANS_OUT = Place("loans_out", _l("Loans out"), "loans.out", endpoints=("loans.out", "loans.overdue"), main_only=True)
DEPLOYMENT = Place("deployment", _l("Deploy and collect"), "deployment.index", blueprints=("deployment",))
CLOSET = Place("closet", _l("Closet"), "closet.index", blueprints=("closet",))
IMPORTS = Place("imports", _l("Imports"), "imports.index", blueprints=("imports",))
REPAIRS = Place("repairs", _l("Repairs"), "repairs.index", blueprints=("repairs",))
DISPOSAL = Place("disposal", _l("Disposal"), "disposal.index", blueprints=("disposal",))
ACTIVITY = Place("activity", _l("Activity"), "activity.index", blueprints=("activity",))

# Every place, in the order the header and the "More" menu list them.
PLACES: tuple[Place, ...] = (
    HOME,
    DASHBOARD,
    DEVICES,
    SCAN,
    TICKETS,
    LABELS,
    AUDITS,
    PEOPLE,
    DESK,
    LOANS_OUT,
    DEPLOYMENT,
    CLOSET,
    IMPORTS,
    REPAIRS,
    DISPOSAL,
    ACTIVITY,
)

# The account menu's pages (sign-out is a form beside them).
ACCOUNT: tuple[Place, ...] = (
    Place("account", _l("Your account"), "auth.account", endpoints=("auth.account",)),
    Place("password", _l("Change password"), "auth.password", endpoints=("auth.password",)),
    Place("tokens", _l("API tokens"), "users.tokens", endpoints=("users.tokens", "users.revoke")),
    Place(
        "users", _l("Users"), "users.index", endpoints=("users.index", "users.new", "users.edit", "users.set_active")
    ),
    Place("campuses", _l("Campuses and rooms"), "campuses.index", blueprints=("campuses",)),
    Place("device_models", _l("Device models"), "device_models.index", blueprints=("device_models",)),
    Place("webhooks", _l("Webhooks and chat"), "webhooks.index", blueprints=("webhooks",)),
    Place("google_org_units", _l("Google org units"), "google.org_units", endpoints=("google.org_units",)),
)

# Each role's main places, the first of them its home (what `/` shows or leads to): an aide walks rooms, a
# librarian keeps the loaner desk, a tech works the ticket queue, admins and viewers read the dashboard.
MAIN: Mapping[Role, tuple[Place, ...]] = MappingProxyType(
    {
        Role.aide: (HOME, SCAN, AUDITS, DEVICES),
        Role.librarian: (DESK, LOANS_OUT, DEVICES, TICKETS),
        Role.tech: (TICKETS, SCAN, DEVICES, REPAIRS),
        Role.admin: (DASHBOARD, DEVICES, TICKETS, AUDITS),
        Role.viewer: (DASHBOARD, DEVICES, TICKETS, AUDITS),
    }
)


def may_open(user: User, place: Place) -> bool:
    """Whether the place's page would let this user in: the capability its view checks, if it checks one."""
    view = current_app.view_functions.get(place.endpoint)
    if view is None:
        return False
    capability = getattr(view, "capability", None)
    return capability is None or permissions.allows(user, capability)


def main_places(user: User) -> tuple[Place, ...]:
    """The role's main places this user may open, in the role's order."""
    places = MAIN.get(user.role, ()) if user.role is not None else ()
    return tuple(p for p in places if may_open(user, p))


def home_place(user: User) -> Place:
    """The place `/` is for this user: the first of their main places, or the dashboard."""
    main = main_places(user)
    return main[0] if main else DASHBOARD


def _is_current(place: Place, endpoint: str | None, blueprint: str | None, named: set[str], home: Place) -> bool:
    if endpoint == HOME_ENDPOINT:
        return place == home
    if endpoint in place.endpoints:
        return True
    return endpoint not in named and blueprint in place.blueprints


def _href(place: Place, home: Place) -> str:
    return url_for(HOME_ENDPOINT if place == home else place.endpoint)


def nav_places(user: User, endpoint: str | None = None, blueprint: str | None = None) -> Nav:
    """The navigation for a signed-in user, with the place of the page at endpoint (in blueprint) marked current."""
    main = main_places(user)
    home = main[0] if main else DASHBOARD
    more = tuple(p for p in PLACES if p not in main and not p.main_only and may_open(user, p))
    account = tuple(p for p in ACCOUNT if may_open(user, p))
    named = {e for p in (*main, *more, *account) for e in p.endpoints}

    def links(places: tuple[Place, ...]) -> tuple[Link, ...]:
        return tuple(Link(p, _href(p, home), _is_current(p, endpoint, blueprint, named, home)) for p in places)

    return Nav(links(main), links(more), links(account))


def request_nav(user: User) -> Nav:
    """The navigation for the page being rendered."""
    return nav_places(user, request.endpoint, request.blueprint)
