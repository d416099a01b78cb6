"""`/`, each role's home (app.web.nav decides which), and the dashboard: honest numbers about the devices on the
user's campuses, each a link to its list."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, redirect, url_for
from flask_login import current_user

from app.models import AssetStatus
from app.services import audits as audit_service
from app.services import closet, dashboard
from app.services.dashboard import Bar
from app.web import can, nav, permission_required, render
from app.web.offline import offline_page

bp = Blueprint("dashboard", __name__)

HOME_ROOMS_DUE = 20  # rooms listed on an aide's home; the rest are one link away


@bp.app_context_processor
def inject_nav():
    def site_nav() -> nav.Nav:
        """The signed-in user's navigation for this page (base.html and the tab bar), built once per request."""
        if "site_nav" not in g:
            g.site_nav = nav.request_nav(current_user)
        return g.site_nav

    return {"nav": site_nav}


def _link(endpoint: str, **args: Any) -> str | None:
    """A URL when that page exists (features arrive one by one), otherwise None."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **args)


def _with_links(bars: list[Bar]) -> list[Bar]:
    for bar in bars:
        bar.href = url_for("assets.index", **bar.args) if bar.args else None
    return bars


@bp.get("/")
@permission_required("dashboard")
@offline_page  # rooms and counts, no one's personal data; the installed app opens here
def index():
    """The role's home: an aide's rooms due for audit, the dashboard, or a redirect to the desk or the queue."""
    home = nav.home_place(current_user)
    if home is nav.HOME:
        due = audit_service.rooms_due(current_user)
        return render(
            "home/aide.html",
            due=due[:HOME_ROOMS_DUE],
            due_total=len(due),
            open_audits=audit_service.open_audits(current_user),
        )
    if home is not nav.DASHBOARD:
        return redirect(url_for(home.endpoint))
    return _dashboard()


@bp.get("/dashboard")
@permission_required("dashboard")
@offline_page  # counts and charts, no one's personal data
def board():
    """The dashboard, for every role (it is `/` itself for admins and viewers)."""
    return _dashboard()


def _dashboard():
    summary = dashboard.fleet(current_user, unseen_days=closet.DEFAULT_DAYS)
    sbc = dashboard.status_by_campus(current_user, summary)
    rows = [
        {
            "label": c.code,
            "total": sbc.campus_total(c.id),
            "href": url_for("assets.index", campus=c.id),
            "segments": [
                Bar(
                    s.label,
                    sbc.counts.get((c.id, s), 0),
                    css=f"st-{s.value}",
                    href=url_for("assets.index", campus=c.id, status=s.value),
                )
                for s in AssetStatus
            ],
        }
        for c in sbc.campuses
    ]
    legend = [
        Bar(s.label, sbc.status_total(s), css=f"st-{s.value}", href=url_for("assets.index", status=s.value))
        for s in AssetStatus
    ]
    warranty = _with_links(dashboard.warranty_by_month(current_user))
    loaners = dashboard.loaners(current_user)
    categories, ages = dashboard.tickets_open(current_user)
    for bar in categories:
        bar.href = url_for("tickets.index", **bar.args)
    for bar in ages:
        bar.href = url_for("tickets.index", **bar.args)
    coverage = dashboard.audit_coverage(current_user)
    audited = [
        Bar(
            f"{c.campus.code} · {c.audited:,} of {c.rooms:,} rooms in {c.days} days",
            c.audited,
            css="warn" if c.due else "",
            href=url_for("audits.index", campus=c.campus.code),
        )
        for c in coverage
    ]
    desk = can("desk")
    return render(
        "dashboard/index.html",
        sbc=sbc,
        statuses=list(AssetStatus),
        status_rows=rows,
        legend=legend,
        aue=_with_links(dashboard.aue_cliff(current_user, summary=summary)),
        warranty=warranty,
        warranty_expired=summary.warranty_expired,
        loaners=loaners,
        swaps_to_reverse=dashboard.swaps_to_reverse(current_user),
        loans_href=_link("loans.out") if desk else None,
        overdue_href=_link("loans.overdue") if desk else None,
        ticket_categories=categories,
        ticket_ages=ages,
        tickets_open=sum(b.value for b in ages),
        audited=audited,
        rooms_due=sum(c.due for c in coverage),
        unseen=summary.unseen,
        closet_days=closet.DEFAULT_DAYS,
    )
