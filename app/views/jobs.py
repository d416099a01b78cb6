"""Jobs: a job's progress page and the fragment htmx polls (rows done, rows a second, time left, the result),
and trying a failed job again."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import jobs
from app.extensions import db
from app.models import ImportKind, ImportRun, Job, JobStatus
from app.web import committing, is_htmx, permission_required, render, see_other

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

KIND_LABELS = {
    "import.check": _l("Checking the file"),
    "import.apply": _l("Applying the file"),
    "google.sync": _l("Syncing with Google"),
    "roster.check": _l("Checking the roster"),
    "roster.apply": _l("Importing the roster"),
}


def job_or_404(job_id: str) -> Job:
    """A job for the person who asked for it, or an admin who may see it (app.jobs.can_see); 404 otherwise."""
    job = db.session.get(Job, job_id) if len(job_id) <= 36 else None
    if job is None or not jobs.can_see(current_user, job):
        abort(404)
    return job


def result_url(job: Job) -> str | None:
    """The page that shows what a job is about (an import run's dry run or result)."""
    if job.subject == "google_sync":
        return url_for("google_sync.index")
    kind, _, ident = (job.subject or "").partition(":")
    if kind == "import_run" and ident.isdigit():
        run = db.session.get(ImportRun, int(ident))
        if run is not None and run.kind is ImportKind.oneroster:
            return url_for("people.roster_run", token=run.token)
        return url_for("imports.run", token=run.token) if run is not None else None
    return None


def progress_context(job: Job) -> dict[str, Any]:
    """What the progress fragment shows: the live snapshot and the numbers worked out from it."""
    snap = jobs.live(job)
    return {
        "job": job,
        "snap": snap,
        "label": KIND_LABELS.get(job.kind, job.kind),
        "rate": snap.rate,
        "left": snap.seconds_left,
        "percent": 100 if job.status is JobStatus.done else snap.percent,
        "result_url": result_url(job),
        "seconds": (job.result or {}).get("seconds"),
    }


@bp.get("/<job_id>")
@permission_required("jobs.read")
def show(job_id: str):
    job = job_or_404(job_id)
    ctx = progress_context(job)
    resp = render("jobs/show.html", "jobs/_progress.html", **ctx)
    if job.finished and is_htmx() and ctx["result_url"]:
        # The page polling is the result's own page (an import run): reload it to show what the job found.
        current = urlsplit(request.headers.get("HX-Current-URL", "")).path
        if current == ctx["result_url"]:
            resp.headers["HX-Refresh"] = "true"
    return resp


@bp.post("/<job_id>/retry")
@permission_required("jobs.read")
def retry(job_id: str):
    """Queue a failed job again; its work was rolled back when it failed, so running it again is safe."""
    job = job_or_404(job_id)
    with committing() as outcome:
        jobs.retry(job)
    if outcome.refused:
        return render("jobs/show.html", "jobs/_progress.html", status=409, **progress_context(job_or_404(job_id)))
    return see_other(result_url(job) or url_for("jobs.show", job_id=job.id))
