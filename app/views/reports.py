"""The public damage report: no login, the device's tag and model only, a ticket number and a private status link."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from app.extensions import db, limiter
from app.models import Asset, TicketCategory, Via
from app.services import tags as tag_service
from app.services import tickets as ticket_service
from app.services.errors import Invalid
from app.services.photos import MAX_BYTES, PhotoTooBig, PhotoTooLarge, clean_photo
from app.tagcodes import normalise
from app.views.reports_i18n import pick_lang, public_context

bp = Blueprint("reports", __name__)

# A school's students often share one public IP, so the per-IP limit is generous; one device rarely breaks
# twice in an hour, so its limit is tight. Both can be changed in the app's configuration.
DEFAULT_IP_LIMIT = "20 per 10 minutes;60 per day"
DEFAULT_DEVICE_LIMIT = "5 per hour;10 per day"
REPORTER_FIELDS = ("reporter_name", "reporter_student_id", "reporter_email")


def _ip_limit() -> str:
    return current_app.config.get("REPORT_RATE_LIMIT_IP", DEFAULT_IP_LIMIT)


def _device_limit() -> str:
    return current_app.config.get("REPORT_RATE_LIMIT_DEVICE", DEFAULT_DEVICE_LIMIT)


def _device_key() -> str:
    return "report-device:" + normalise((request.view_args or {}).get("code", ""))[:16]


def _private(resp):
    """Public pages about one ticket or device: never cached by anyone, never indexed, no referrer leaks."""
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def render_report_form(
    asset: Asset, *, errors: dict | None = None, values: dict | None = None, status: int = 200, lang: str | None = None
):
    """The report form for a device: its asset tag and model, and nothing about any person."""
    lang = lang or pick_lang()
    staff_campus = None
    if current_user.is_authenticated and not current_user.can_see_campus(asset.campus_id):
        # Staff from another campus learn where the device belongs, and nothing more.
        staff_campus = asset.campus.name
    resp = current_app.make_response(
        (
            render_template(
                "reports/form.html",
                asset_tag=asset.asset_tag,
                model_name=str(asset.model),
                code=asset.tag_code,
                categories=list(TicketCategory),
                errors=errors or {},
                values=values or {},
                staff_campus=staff_campus,
                max_mb=MAX_BYTES // (1024 * 1024),
                **public_context(lang),
            ),
            status,
        )
    )
    return _private(resp)


@bp.post("/t/<code>/report")
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit(_device_limit, methods=["POST"], key_func=_device_key)
def submit(code: str):
    lang = pick_lang()
    hit = tag_service.lookup(code)
    if hit is None or hit.asset is None:
        return redirect(url_for("tags.scan", code=code), 303)
    asset = hit.asset
    form = request.form
    values = {k: form.get(k, "")[:300] for k in ("category", "description", *REPORTER_FIELDS)}
    values["description"] = form.get("description", "")[:5000]
    if form.get("website"):
        # Only bots fill the field people cannot see: thank them and keep nothing.
        return _private(
            current_app.make_response(
                render_template("reports/done.html", number=None, status_url=None, **public_context(lang))
            )
        )
    t = public_context(lang)["t"]
    errors: dict[str, str] = {}
    category = values["category"]
    if category not in TicketCategory._value2member_map_:
        errors["category"] = t("err_category")
    if not values["description"].strip():
        errors["description"] = t("err_description")
    photo = None
    upload = request.files.get("photo")
    if upload is not None and upload.filename:
        data = upload.stream.read(MAX_BYTES + 1)
        try:
            photo = clean_photo(data)
        except PhotoTooLarge:
            errors["photo"] = t("err_photo_large", mb=str(MAX_BYTES // (1024 * 1024)))
            return render_report_form(asset, errors=errors, values=values, status=413, lang=lang)
        except PhotoTooBig:
            errors["photo"] = t("err_photo_big")
        except Invalid:
            errors["photo"] = t("err_photo_bad")
    if errors:
        return render_report_form(asset, errors=errors, values=values, status=422, lang=lang)
    reporter = ticket_service.Reporter(
        name=values["reporter_name"], student_id=values["reporter_student_id"], email=values["reporter_email"]
    )
    try:
        ticket, token = ticket_service.file_student_report(
            asset,
            category=TicketCategory(category),
            description=values["description"],
            reporter=reporter,
            photo=photo,
            via=Via.public,
        )
    except Invalid as exc:
        db.session.rollback()
        return render_report_form(asset, errors={exc.field or "description": exc.message}, values=values, status=422)
    db.session.commit()
    # The raw token lives only in the student's own signed session cookie and in the link they are shown.
    session["report_done"] = {"number": ticket.number, "token": token}
    return redirect(url_for("reports.done"), 303)


@bp.get("/reports/done")
def done():
    lang = pick_lang()
    info = session.get("report_done")
    if not info:
        return redirect(url_for("tags.type_code"))
    status_url = current_app.config["BASE_URL"] + url_for("reports.status", token=info["token"])
    return _private(
        current_app.make_response(
            render_template("reports/done.html", number=info["number"], status_url=status_url, **public_context(lang))
        )
    )


@bp.get("/reports/status/<token>")
def status(token: str):
    lang = pick_lang()
    ticket = ticket_service.find_by_status_token(token)
    if ticket is None:
        ctx = public_context(lang)
        body = render_template("tags/unknown.html", errors={}, typed="", status_page=True, **ctx)
        return _private(current_app.make_response((body, 404)))
    return _private(
        current_app.make_response(
            render_template("reports/status.html", ticket_status=ticket.status, token=token, **public_context(lang))
        )
    )


@bp.errorhandler(RateLimitExceeded)
def rate_limited(exc: RateLimitExceeded):
    ctx = public_context(pick_lang())
    resp = current_app.make_response((render_template("reports/limited.html", **ctx), 429))
    return _private(resp)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    ctx = public_context(pick_lang())
    message = ctx["t"]("err_photo_large", mb=str(MAX_BYTES // (1024 * 1024)))
    code = (request.view_args or {}).get("code")
    back_url = url_for("tags.scan", code=code) if code else None
    body = render_template("reports/too_large.html", message=message, back_url=back_url, **ctx)
    resp = current_app.make_response((body, 413))
    return _private(resp)
