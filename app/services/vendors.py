"""The district's warranty vendors: adding, editing, retiring them, and finding the one a claim or batch names."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import ApiToken, Role, ShippingBatch, User, Vendor, VendorAccount, Via, WarrantyClaim, utcnow
from app.services import activity
from app.services.errors import Invalid

FIELDS = ("name", "contact", "portal_url", "ship_to")
LIMITS = {"name": 80, "contact": 200, "portal_url": 300, "ship_to": 1000}


def vendors(*, active_only: bool = False) -> list[Vendor]:
    """Every vendor by name (active ones first when all are listed)."""
    stmt = sa.select(Vendor)
    if active_only:
        stmt = stmt.where(Vendor.active.is_(True))
    return list(db.session.scalars(stmt.order_by(Vendor.active.desc(), sa.func.lower(Vendor.name))))


def named(name: str) -> Vendor | None:
    """The vendor of that name, whatever its case and surrounding spaces."""
    name = (name or "").strip()
    if not name:
        return None
    return db.session.scalar(sa.select(Vendor).where(sa.func.lower(Vendor.name) == name.lower()))


def chosen(value: str | int | Vendor | None) -> Vendor | None:
    """The active vendor a form chose, by id or by name; None when there is none."""
    if isinstance(value, Vendor):
        return value if value.active else None
    raw = str(value or "").strip()
    vendor = db.session.get(Vendor, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    vendor = vendor or named(raw)
    return vendor if vendor is not None and vendor.active else None


def _clean(values: dict[str, Any]) -> dict[str, str]:
    clean = {k: str(values.get(k) or "").strip() for k in FIELDS}
    clean["ship_to"] = "\n".join(line.strip() for line in clean["ship_to"].splitlines() if line.strip())
    if not clean["name"]:
        raise Invalid("Enter the vendor's name.", field="name")
    for key, limit in LIMITS.items():
        if len(clean[key]) > limit:
            raise Invalid(f"At most {limit} characters.", field=key)
    url = clean["portal_url"]
    if url and not url.lower().startswith(("https://", "http://")):
        raise Invalid("Enter the portal's address starting with https://.", field="portal_url")
    return clean


def _name_free(name: str, vendor: Vendor | None = None) -> None:
    other = named(name)
    if other is not None and other is not vendor:
        raise Invalid(f"{other.name} is already on the list.", field="name")


def create(values: dict[str, Any], *, by: User, via: Via) -> Vendor:
    """Add a vendor to the district's list."""
    clean = _clean(values)
    _name_free(clean["name"])
    vendor = Vendor(**clean, active=True)
    db.session.add(vendor)
    db.session.flush()
    activity.record("vendor.create", f"Added vendor {vendor.name}", by=by, via=via, subject=vendor, after=dict(clean))
    return vendor


def update(vendor: Vendor, values: dict[str, Any], *, by: User, via: Via) -> Vendor:
    """Change a vendor's details; a new name is carried onto its claims and batches, which show it."""
    clean = _clean(values)
    _name_free(clean["name"], vendor)
    old_name = vendor.name
    before, after = activity.apply(vendor, clean, FIELDS)
    if not after:
        return vendor
    if vendor.name != old_name:
        login = account(vendor)
        if login is not None:
            login.name = account_name(vendor)
        for model in (WarrantyClaim, ShippingBatch):
            db.session.execute(
                sa.update(model)
                .where(model.vendor_id == vendor.id)
                .values(vendor=vendor.name)
                .execution_options(synchronize_session="fetch")
            )
    db.session.flush()
    activity.record(
        "vendor.update", f"Changed vendor {vendor.name}", by=by, via=via, subject=vendor, before=before, after=after
    )
    return vendor


def set_active(vendor: Vendor, active: bool, *, by: User, via: Via) -> Vendor:
    """Retire a vendor (kept on its claims, offered for no new one) or bring it back."""
    if vendor.active == active:
        return vendor
    vendor.active = active
    login = account(vendor)
    if not active and login is not None:
        _revoke(login)
    db.session.flush()
    activity.record(
        "vendor.activate" if active else "vendor.deactivate",
        f"{'Reactivated' if active else 'Deactivated'} vendor {vendor.name}",
        by=by,
        via=via,
        subject=vendor,
        before={"active": not active},
        after={"active": active},
    )
    return vendor


# --- the vendor door: a vendor's own login and API token ------------------------------------------------------


def account(vendor: Vendor, *, create: bool = False) -> User | None:
    """The login a vendor's token belongs to (made on first use when `create`): named for the vendor, so what the
    vendor changes reads as theirs in every history; no password, no campus, and only /api/v1/claims opens to it."""
    row = db.session.get(VendorAccount, vendor.id)
    if row is not None or not create:
        return row.user if row is not None else None
    user = User(email=f"vendor-{vendor.id}@vendors.invalid", name=account_name(vendor), role=Role.viewer, active=True)
    db.session.add(user)
    db.session.flush()
    db.session.add(VendorAccount(vendor_id=vendor.id, user_id=user.id))
    db.session.flush()
    return user


def account_name(vendor: Vendor) -> str:
    return f"{vendor.name} (vendor)"


def vendor_of(user: User | None) -> Vendor | None:
    """The vendor whose login this is, or None for staff."""
    if user is None or getattr(user, "id", None) is None or user.role is not Role.viewer:
        return None
    row = db.session.scalar(sa.select(VendorAccount).where(VendorAccount.user_id == user.id))
    return row.vendor if row is not None else None


def live_token(vendor: Vendor) -> ApiToken | None:
    """The vendor's token that works now, if any (its prefix, when made, when last used)."""
    user = account(vendor)
    if user is None:
        return None
    return db.session.scalar(
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .limit(1)
    )


def issue_token(vendor: Vendor, *, by: User, via: Via) -> str:
    """A new API token for the vendor's claims, returned once (only its hash is kept); any earlier one stops."""
    if not vendor.active:
        raise Invalid(f"{vendor.name} is not in use; offer it again first.", field="token")
    user = account(vendor, create=True)
    assert user is not None
    revoked = _revoke(user)
    token, raw = ApiToken.issue(user, f"Vendor door: {vendor.name}"[:80])
    db.session.add(token)
    db.session.flush()
    activity.record(
        "vendor.token",
        f"Issued an API token for {vendor.name}'s claims" + (" (the earlier one stops working)" if revoked else ""),
        by=by,
        via=via,
        subject=vendor,
        after={"prefix": token.prefix, "revoked": revoked},
    )
    return raw


def revoke_token(vendor: Vendor, *, by: User, via: Via) -> int:
    """Stop the vendor's token; how many stopped."""
    user = account(vendor)
    revoked = _revoke(user) if user is not None else 0
    if revoked:
        activity.record(
            "vendor.token_revoke", f"Revoked {vendor.name}'s API token", by=by, via=via, subject=vendor, after={}
        )
    return revoked


def _revoke(user: User) -> int:
    live = list(
        db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    )
    now = utcnow()
    for token in live:
        token.revoked_at = now
    db.session.flush()
    return len(live)
