"""The OpenAPI 3.1 description of /api/v1, kept beside the routes it describes."""

from __future__ import annotations

from typing import Any

from flask import current_app

ERROR = {"$ref": "#/components/schemas/Error"}


def json_response(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    """A response whose JSON body has this schema."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_response(description: str) -> dict[str, Any]:
    """An `{"error": …}` response, described in the route's own words."""
    return json_response(ERROR, description)


def errors(*codes: int) -> dict[str, Any]:
    """The usual error responses for these status codes."""
    text = {
        401: "Not signed in or bad token",
        403: "Role not allowed",
        404: "Not found or not on your campuses",
        413: "Request too large",
        422: "Invalid input",
    }
    return {str(c): error_response(text[c]) for c in codes}


def query_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An optional query-string parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


PAGING = [
    query_param("page", "Page number, from 1", {"type": "integer", "minimum": 1}),
    query_param("per_page", "Items per page (at most 200)", {"type": "integer", "minimum": 1, "maximum": 200}),
]


def page_of(ref: str) -> dict[str, Any]:
    """A page of items (see app.views.api.common.paged) whose schema is at ref."""
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": ref}},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


ROOM = {
    "type": ["object", "null"],
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "kind": {"type": "string"},
        "campus": {"type": "string"},
    },
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
    "Campus": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
    "Room": ROOM,
    "Person": {
        "type": "object",
        "properties": {
            "external_id": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": ["student", "staff"]},
            "grade": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "campus": {"type": ["string", "null"]},
            "active": {"type": "boolean"},
        },
    },
    "Asset": {
        "type": "object",
        "required": ["asset_tag", "tag_code", "status", "condition", "campus"],
        "properties": {
            "asset_tag": {"type": "string"},
            "serial": {"type": "string"},
            "tag_code": {"type": "string"},
            "model": {"type": "object"},
            "status": {"type": "string", "enum": ["deployed", "in_stock", "loaner", "in_repair", "missing", "retired"]},
            "condition": {"type": "string", "enum": ["good", "fair", "damaged", "broken"]},
            "campus": {"$ref": "#/components/schemas/Campus"},
            "home_room": ROOM,
            "current_room": ROOM,
            "last_seen": {
                "type": ["object", "null"],
                "properties": {
                    "at": {"type": "string", "format": "date-time"},
                    "room": {"type": ["string", "null"]},
                    "by": {"type": ["string", "null"]},
                },
            },
            "assigned_to": {"oneOf": [{"$ref": "#/components/schemas/Person"}, {"type": "null"}]},
            "aue_date": {"type": ["string", "null"], "format": "date"},
            "warranty": {"type": "object"},
        },
    },
}

# Filled by each API route module as it is imported (app.views.api imports them all).
PATHS: dict[str, Any] = {}
# What Rollcall posts to the endpoints admins register (app.views.webhooks): the spec's `webhooks`.
WEBHOOKS: dict[str, Any] = {}


def request_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A required JSON object body with these properties."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def register_webhooks(webhooks: dict[str, Any]) -> None:
    """Add the events Rollcall posts out, each a path item whose POST body is the event's payload."""
    WEBHOOKS.update(webhooks)


def register_paths(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Add a feature's routes (and schemas) to the spec; called at import by the module that serves them."""
    PATHS.update(paths)
    SCHEMAS.update(schemas or {})


# The request guard (app.web.guard) answers 400 on every route before the route itself sees the request.
UNREADABLE = error_response(
    "Input that cannot be stored: a NUL or broken character, JSON nested too deep, or a number too large"
)


def _paths() -> dict[str, Any]:
    """PATHS with the guard's 400 on each operation (an operation's own 400 description is kept)."""
    return {
        path: {method: {**op, "responses": {"400": UNREADABLE, **op["responses"]}} for method, op in ops.items()}
        for path, ops in PATHS.items()
    }


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rollcall API",
            "version": "1",
            "description": "Device inventory, observations and offline sync for a school district.",
        },
        "servers": [{"url": current_app.config["BASE_URL"]}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": _paths(),
        "webhooks": WEBHOOKS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `rollcall tokens create EMAIL`.",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "A signed-in browser session; unsafe methods also need X-CSRFToken.",
                },
            },
        },
    }
