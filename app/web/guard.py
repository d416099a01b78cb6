"""The request guard: query arguments, path values, form fields and JSON bodies that cannot be stored are refused
at the door (see app.inputs), so no view or service ever sees them."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Flask, abort, request
from flask import Request as FlaskRequest
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, UnprocessableEntity

from app import inputs


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with app.inputs.loads, which refuses what cannot be stored (request bodies are read
    through the app's provider)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return inputs.loads(s)


class Request(FlaskRequest):
    """Flask's request, whose JSON and form data are checked as they are parsed (so per-view size limits hold)."""

    def on_json_loading_failed(self, e: ValueError | None) -> NoReturn:
        if isinstance(e, inputs.Unsafe):
            raise BadRequest(e.message)
        raise BadRequest("The body is not valid JSON.")

    def _load_form_data(self) -> None:
        super()._load_form_data()
        try:
            inputs.check_fields(self.form.items(multi=True), "field")
        except inputs.Unsafe as exc:
            # Nobody downstream may read the refused values, even by catching the error.
            self.__dict__["form"] = ImmutableMultiDict()
            raise UnprocessableEntity(exc.message) from None


def _check_arguments() -> None:
    try:
        inputs.check_fields(request.args.items(multi=True), "query argument")
    except inputs.Unsafe as exc:
        abort(400, exc.message)
    # A path value that cannot be stored cannot name anything that exists.
    if request.view_args and any(isinstance(v, str) and inputs.unstorable(v) for v in request.view_args.values()):
        abort(404)


def init_app(app: Flask) -> None:
    """Parse requests with the guard's Request and check arguments before any other before-request hook."""
    app.request_class = Request
    app.json = JSONProvider(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _check_arguments)
