"""People in the JSON API: students and staff on the caller's campuses (for those who may read /people)."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_login import current_user

from app.models import PersonKind
from app.services.people import search_people
from app.views.api.blueprint import bp
from app.views.api.common import campus_id_arg, paged
from app.views.api.serialize import person_json
from app.views.openapi import PAGING, errors, json_response, page_of, query_param, register_paths
from app.web import note_record_view, permission_required
from app.web.loaders import get_person_or_404


@bp.get("/api/v1/people")
@permission_required("people.read")
def people():
    kind = request.args.get("kind", "")
    if kind and kind not in PersonKind._value2member_map_:
        abort(422, f"Unknown kind {kind!r}.")
    stmt = search_people(
        current_user, request.args.get("q", "")[:100], campus_id_arg(), PersonKind(kind) if kind else None
    )
    return jsonify(paged(stmt, person_json, people_of=lambda person: [person]))


@bp.get("/api/v1/people/<external_id>")
@permission_required("people.read")
def person(external_id: str):
    """One student or staff member by their ID; the opening is logged like the person's page."""
    found = get_person_or_404(external_id)
    note_record_view(found, "api")
    return jsonify(person_json(found))


register_paths(
    {
        "/api/v1/people": {
            "get": {
                "summary": "Students and staff on your campuses",
                "operationId": "listPeople",
                "parameters": [
                    query_param("q", "Name, ID or email"),
                    query_param("campus", "Campus code"),
                    query_param("kind", "student or staff"),
                    *PAGING,
                ],
                "responses": {
                    "200": json_response(page_of("#/components/schemas/Person")),
                    **errors(401, 403, 404, 422),
                },
            }
        },
        "/api/v1/people/{external_id}": {
            "get": {
                "summary": "One student or staff member on your campuses, by their ID (the opening is logged)",
                "operationId": "getPerson",
                "parameters": [{"name": "external_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": json_response({"$ref": "#/components/schemas/Person"}), **errors(401, 403, 404)},
            }
        },
    }
)
