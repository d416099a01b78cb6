"""The Google sync page (district-wide admins): the connection test in plain words, "Sync now" with its progress,
how often the schedule runs, and the last runs with what each found."""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask_login import current_user

from app.extensions import db
from app.jobs import google_sync as sync_jobs
from app.jobs import latest
from app.models import GoogleSyncRun
from app.permissions import allows
from app.services import google_sync, google_write_back
from app.views.jobs import progress_context
from app.web import committing, permission_required, render, see_other

bp = Blueprint("google_sync", __name__, url_prefix="/google-sync")


def _district_admin() -> None:
    """The sync acts for the whole district: campus admins get 403 like any other role without it."""
    if not current_user.district_wide:
        abort(403)


@bp.app_template_global("google_sync_failing")
def failing_for_dashboard():
    """The sync's state when it is failing and the signed-in user can act on it (else None), for the dashboard."""
    if not getattr(current_user, "is_authenticated", False) or not current_user.district_wide:
        return None
    if not allows(current_user, "imports.run"):
        return None
    return google_sync.failing()


def _page(status: int = 200, **extra):
    st = google_sync.state()
    job = latest(sync_jobs.SUBJECT)
    # A sync waiting or running: the page shows the jobs' progress fragment (it polls itself) instead of the button.
    live = progress_context(job) if job is not None and not job.finished else {}
    ctx = {
        "conf": google_sync.settings(),
        "st": st,
        "runs": google_sync.recent_runs(),
        "intervals": google_sync.INTERVALS,
        "check": None,
        "errors": {},
        **live,
        "progress": bool(live),
        **extra,
    }
    return render("google_sync/index.html", None, status=status, **ctx)


@bp.get("")
@permission_required("imports.run")
def index():
    _district_admin()
    return _page()


@bp.post("/test")
@permission_required("imports.run")
def test():
    """Test the connection now; htmx swaps in the answer, a plain form gets the page with it."""
    _district_admin()
    result = google_sync.test_connection()
    db.session.rollback()
    if request.headers.get("HX-Request") == "true":
        return render("google_sync/_check.html", None, check=result)
    return _page(check=result)


@bp.post("/run")
@permission_required("imports.run")
def run_now():
    """Sync now: queue a run (full when asked) and come back to the page, which shows its progress."""
    _district_admin()
    if not google_sync.settings().configured:
        return _page(422, errors={"run": google_sync.test_connection().message})
    if google_sync.busy():
        return _page(409, errors={"run": "A Google sync is running; wait for it to finish."})
    with committing():
        sync_jobs.submit_sync(by=current_user, full=bool(request.form.get("full")), trigger="manual")
    return see_other(url_for("google_sync.index"))


@bp.post("/interval")
@permission_required("imports.run")
def interval():
    _district_admin()
    text = request.form.get("interval", "")
    minutes = int(text) if text.isdigit() and len(text) < 6 else -1
    with committing() as outcome:
        google_sync.set_interval(minutes, by=current_user)
    if outcome.refused:
        return _page(422, errors={"interval": outcome.message})
    return see_other(url_for("google_sync.index"))


@bp.get("/runs/<int:run_id>")
@permission_required("imports.run")
def run_page(run_id: int):
    """One run: its counts, the devices Google no longer has, bad records and notes."""
    _district_admin()
    record = db.get_or_404(GoogleSyncRun, run_id)
    return render("google_sync/run.html", None, run=record, report=record.report or {})


@bp.get("/write-back")
@permission_required("imports.run")
def write_back():
    """The write-back preview (every change it would send now) and the queue of changes waiting for Google."""
    _district_admin()
    return _write_back_page()


def _write_back_page(status: int = 200, errors: dict[str, str] | None = None):
    return render(
        "google_sync/write_back.html",
        None,
        status=status,
        st=google_sync.state(),
        preview=google_write_back.preview(),
        waiting=google_write_back.pending(),
        recent=google_write_back.recent(),
        ou_table=google_write_back.ou_table_text(),
        errors=errors or {},
    )


@bp.post("/write-back")
@permission_required("imports.run")
def write_back_switch():
    """Turn write-back on (after reading the preview) or off."""
    _district_admin()
    on = request.form.get("on") == "1"
    with committing() as outcome:
        google_write_back.set_switch(on, by=current_user)
    if outcome.refused:
        return _write_back_page(422, {"write_back": outcome.message})
    return see_other(url_for("google_sync.write_back"))


@bp.post("/write-back/send")
@permission_required("imports.run")
def write_back_send():
    """Send the waiting changes now (on the queue); nothing is sent while write-back is off."""
    _district_admin()
    if not google_sync.state().write_back:
        abort(409)
    with committing():
        sync_jobs.submit_write_back(by=current_user)
    return see_other(url_for("google_sync.write_back"))


@bp.post("/write-back/org-units")
@permission_required("imports.run")
def write_back_org_units():
    """Save the org unit for each status (write-back moves devices there)."""
    _district_admin()
    with committing() as outcome:
        google_write_back.set_ou_table(request.form.get("ou_table", "")[:4000], by=current_user)
    if outcome.refused:
        return _write_back_page(422, {"ou_table": outcome.message})
    return see_other(url_for("google_sync.write_back"))
