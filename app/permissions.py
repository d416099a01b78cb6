"""What each role may do: one table of capabilities that the pages, the JSON API and the sync handlers all read.

A page and its API twin name the same capability, so a role is either allowed both or refused both. The roles
follow the product: aides scan and audit; librarians run the loaner desk; techs repair, edit assets and print
labels; admins do everything, imports and reports included; viewers read dashboards and lists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import sqlalchemy as sa

from app.extensions import db
from app.models import Campus, Role, User, VendorAccount


def district_wide(user: User) -> bool:
    """An admin with no campus of their own."""
    return user.district_wide


def serves_whole_district(user: User) -> bool:
    """A district-wide admin, or staff whose campuses are every campus of the district (the district's own techs)."""
    if user.district_wide:
        return True
    mine = {c.id for c in user.campuses}
    if not mine:
        return False
    return db.session.scalar(sa.select(sa.func.count()).select_from(Campus).where(Campus.id.not_in(mine))) == 0


def tokens_allowed(user: User) -> bool:
    """An admin switched on API tokens on this user's page."""
    return bool(user.api_tokens_allowed)


def vendor_login(user: User) -> bool:
    """The login of a warranty vendor's API token (app.services.vendors.account)."""
    found = db.session.scalar(sa.select(VendorAccount.vendor_id).where(VendorAccount.user_id == user.id))
    return found is not None


@dataclass(frozen=True)
class Rule:
    """Roles that hold a capability outright, and roles that hold it only when a check on the user passes."""

    roles: frozenset[Role]
    only_if: Mapping[Role, Callable[[User], bool]] = field(default_factory=dict)

    def allows(self, user: User) -> bool:
        if user.role in self.roles:
            return True
        check = self.only_if.get(user.role) if user.role is not None else None
        return check is not None and check(user)

    @property
    def possible_roles(self) -> frozenset[Role]:
        """Every role that can hold the capability (some only under a condition)."""
        return self.roles | frozenset(self.only_if)


def allow(*roles: Role, **only_if: Callable[[User], bool]) -> Rule:
    """A rule: these roles always; `role=check` roles only when check(user) is true."""
    return Rule(frozenset(roles), MappingProxyType({Role(name): check for name, check in only_if.items()}))


ADMIN, TECH, LIBRARIAN, AIDE, VIEWER = Role.admin, Role.tech, Role.librarian, Role.aide, Role.viewer
STAFF = tuple(Role)
HANDS = (ADMIN, TECH, LIBRARIAN, AIDE)  # staff who handle devices in rooms
DESK = (ADMIN, TECH, LIBRARIAN)
TECHS = (ADMIN, TECH)

CAPABILITIES: Mapping[str, Rule] = MappingProxyType(
    {
        # The dashboard and the closet finder, with their CSVs.
        "dashboard": allow(*STAFF),
        # The inventory list, an asset's page and its sightings; /api/v1/assets.
        "assets.read": allow(*STAFF),
        # Add and edit devices, change their status, reissue tag codes.
        "assets.edit": allow(*TECHS),
        # The whole inventory as one CSV (/imports/export/assets.csv): the district's records, an admin's report.
        "assets.export": allow(ADMIN),
        "labels.print": allow(*TECHS),
        "device_models.read": allow(*TECHS),
        # Device models are one list for the whole district, so only those who answer for the whole district change it.
        "device_models.edit": allow(ADMIN, tech=serves_whole_district),
        # Students' and staff's names, IDs, emails and grades: /people and /api/v1/people.
        "people.read": allow(ADMIN, TECH, LIBRARIAN, VIEWER),
        # Who opened a person's record, their data export, and erasure.
        "people.privacy": allow(ADMIN),
        # The loaner desk and its lists, handing out and taking back 1:1 devices; /api/v1/loans; loan.* events.
        "desk": allow(*DESK),
        # The scan page, a campus's offline pack, and scan events.
        "scan": allow(*HANDS),
        # Scanned codes that matched no device.
        "scan.review": allow(*TECHS),
        "audits.read": allow(*STAFF),
        # Start, join and close room audits (audit.* events) and move unexpected devices into the audited room.
        "audits.run": allow(*HANDS),
        "tickets.read": allow(*STAFF),
        # Open a ticket about a device and comment on one.
        "tickets.work": allow(*HANDS),
        # The repair desk: ticket status and assignee, repairs, parts, claims (claim.* events), swaps, fees.
        # Holders of it are the people a ticket can be assigned to.
        "repairs.work": allow(*TECHS),
        "repairs.plan": allow(ADMIN, TECH, VIEWER),
        "fees.schedule": allow(admin=district_wide),
        # The district's vendor list that claims and batches go to: techs read it, admins keep it.
        "vendors.manage": allow(ADMIN),
        # Disposal batches of retired devices for a recycler, their manifests and certificates (campus admins: theirs).
        "disposal.manage": allow(ADMIN),
        # The vendor door (/api/v1/claims): a vendor's own token, for the claims sent to that vendor only.
        "claims.vendor": allow(viewer=vendor_login),
        # Webhook endpoints and chat notices hear every campus's events: district-wide admins keep them.
        "webhooks.manage": allow(admin=district_wide),
        "activity.read": allow(*TECHS),
        # Google Admin, Snipe-IT and OneRoster imports, and the Google mismatch list (names and emails of assignees).
        "imports.run": allow(ADMIN),
        "users.manage": allow(ADMIN),
        "campuses.manage": allow(ADMIN),
        "campuses.create": allow(admin=district_wide),
        # A token reads everything its user may read, in bulk; viewers get one only when an admin allows it.
        "tokens.create": allow(*HANDS, viewer=tokens_allowed),
        # A job's progress page and /api/v1/jobs/<id>; which jobs is app.jobs.can_see (who asked, and admins).
        "jobs.read": allow(*STAFF),
        # The outbox's door; each event type names its own capability.
        "sync": allow(*STAFF),
    }
)


def rule(capability: str) -> Rule:
    """The rule for a capability; an unknown name is a programming error, never a silent refusal."""
    try:
        return CAPABILITIES[capability]
    except KeyError:
        raise KeyError(f"No capability {capability!r} in app.permissions.CAPABILITIES") from None


def allows(user: User | None, *capabilities: str) -> bool:
    """Whether a signed-in user holds any of these capabilities."""
    rules = [rule(c) for c in capabilities]
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return any(r.allows(user) for r in rules)


def roles_for(capability: str) -> frozenset[Role]:
    """Roles that can hold the capability (some only under a condition), for lists such as who tickets go to."""
    return rule(capability).possible_roles
