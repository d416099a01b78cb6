"""/api/v1/jobs/<id>: a queued job's status and progress, for the person who asked for it and admins."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user

from app import jobs as job_queue
from app.extensions import db
from app.models import Job, JobStatus
from app.views.api.blueprint import bp
from app.views.openapi import errors, json_response, register_paths
from app.web import permission_required


def job_json(job: Job) -> dict:
    snap = job_queue.live(job)
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status.value,
        "done": snap.done if job.status is JobStatus.running else job.done,
        "total": snap.total if job.status is JobStatus.running else job.total,
        "phase": snap.phase or None,
        "rate": round(snap.rate, 1) if job.status is JobStatus.running and snap.rate else None,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "requested_by": job.requested_by.email if job.requested_by else None,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


@bp.get("/api/v1/jobs/<job_id>")
@permission_required("jobs.read")
def job(job_id: str):
    found = db.session.get(Job, job_id) if len(job_id) <= 36 else None
    if found is None or not job_queue.can_see(current_user, found):
        abort(404, "No such job of yours.")
    return jsonify(job_json(found))


TIME = {"type": ["string", "null"], "format": "date-time"}

register_paths(
    {
        "/api/v1/jobs/{job_id}": {
            "get": {
                "summary": "A queued job (an import's dry run or apply, …): status, rows done of total, result",
                "operationId": "getJob",
                "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": json_response({"$ref": "#/components/schemas/Job"}), **errors(401, 404)},
            }
        }
    },
    {
        "Job": {
            "type": "object",
            "required": ["id", "kind", "status", "done", "total", "result"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "kind": {"type": "string"},
                "status": {"type": "string", "enum": [s.value for s in JobStatus]},
                "done": {"type": "integer", "description": "Rows (or items) done so far"},
                "total": {"type": ["integer", "null"], "description": "Rows in all, once the job knows"},
                "phase": {"type": ["string", "null"]},
                "rate": {"type": ["number", "null"], "description": "Rows a second while it runs"},
                "result": {"type": ["object", "null"], "description": "What the job did, once done"},
                "error": {"type": ["string", "null"], "description": "Why it failed"},
                "attempts": {"type": "integer"},
                "requested_by": {"type": ["string", "null"]},
                "created_at": {"type": "string", "format": "date-time"},
                "started_at": TIME,
                "finished_at": TIME,
            },
        }
    },
)
