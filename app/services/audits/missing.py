"""The "missing in audit" mark: devices a closed audit could not find that nobody has seen since."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Asset, Audit, AuditItem, AuditOutcome, Observation, User
from app.services.assets import visible_to


def missing_in_audit_clause() -> Any:
    """Assets marked missing by a closed audit and not seen since (a WHERE clause on Asset)."""
    item, primary, member = aliased(AuditItem), aliased(Audit), aliased(Audit)
    cleared = (
        sa.select(Observation.id)
        .where(
            Observation.asset_id == item.asset_id,
            sa.or_(
                Observation.at > primary.closed_at,
                Observation.audit_id.in_(
                    sa.select(member.uuid).where(sa.or_(member.id == primary.id, member.primary_id == primary.id))
                ),
            ),
        )
        .exists()
    )
    return (
        sa.select(item.id)
        .join(primary, primary.id == item.audit_id)
        .where(item.asset_id == Asset.id, item.outcome == AuditOutcome.missing, ~cleared)
        .exists()
    )


def missing_in_audit(user: User, campus_id: int | None = None, limit: int = 500) -> list[Asset]:
    """Devices on the user's campuses that an audit could not find and nobody has seen since."""
    stmt = sa.select(Asset).where(visible_to(user), missing_in_audit_clause()).order_by(Asset.asset_tag).limit(limit)
    if campus_id:
        stmt = stmt.where(Asset.campus_id == campus_id)
    return list(db.session.scalars(stmt))


def is_missing_in_audit(asset: Asset) -> bool:
    """Whether this device carries a "missing in audit" mark right now."""
    return bool(db.session.scalar(sa.select(sa.literal(True)).where(Asset.id == asset.id, missing_in_audit_clause())))
