"""The `asset.mark_found` sync event: "Mark found" from a phone, online or offline, through the outbox."""

from __future__ import annotations

from typing import Any

from app.services.assets import find_asset
from app.services.errors import Invalid
from app.services.found import mark_found
from app.services.sync.engine import Context, Rejected, text


def apply_mark_found(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`asset.mark_found` {tag}: a device marked missing is back; its status returns to what it was before."""
    tag = text(data, "tag", max_len=120) or ""
    asset = find_asset(tag)
    if asset is None or not ctx.user.can_see_campus(asset.campus_id):
        raise Rejected(f"No device {tag} on your campuses.")
    try:
        status = mark_found(asset, by=ctx.user, via=ctx.via)
    except Invalid as exc:
        raise Rejected(exc.message) from None
    return {
        "asset": asset.asset_tag,
        "status": status.value,
        "message": f"{asset.asset_tag} marked found; status back to {status.label}.",
    }
