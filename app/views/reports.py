"""The public damage report: no login, the device's tag and model only, a ticket number and a private status link."""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse, parse_many
from werkzeug.exceptions import RequestEntityTooLarge

from app.extensions import limiter
from app.models import Asset, TicketCategory, Via
from app.services import tags as tag_service
from app.services import tickets as ticket_service
from app.services.errors import Invalid
from app.services.photos import MAX_BYTES, PhotoTooBig, PhotoTooLarge, clean_photo
from app.tagcodes import normalise
from app.views.reports_i18n import pick_lang, public_context
from app.web import committing
from app.web.args import choice

bp = Blueprint("reports", __name__)

# Three limits, each changeable in the app's configuration. A school's students often share one public IP, so the
# per-IP limit is generous. One person rarely reports one device twice in an hour, so the limit per reporter and
# device is tight: the reporter is the address plus the student ID or email they give, so one person using it up
# blocks only themselves. All reporters of a device together meet a ceiling against floods from many addresses;
# it sits above what one address may send in an hour or a day, so no single address can reach it.
DEFAULT_IP_LIMIT = "20 per 10 minutes;60 per day"
DEFAULT_REPORTER_LIMIT = "5 per hour;10 per day"
DEFAULT_DEVICE_LIMIT = "100 per hour;200 per day"
REPORTER_FIELDS = ("reporter_name", "reporter_student_id", "reporter_email")


def _ip_limit() -> str:
    return current_app.config.get("REPORT_RATE_LIMIT_IP", DEFAULT_IP_LIMIT)


def _reporter_limit() -> str:
    return current_app.config.get("REPORT_RATE_LIMIT_REPORTER", DEFAULT_REPORTER_LIMIT)


def _device_limit() -> str:
    return current_app.config.get("REPORT_RATE_LIMIT_DEVICE", DEFAULT_DEVICE_LIMIT)


def _code() -> str:
    return normalise((request.view_args or {}).get("code", ""))[:16]


def _reporter_key() -> str:
    """The device and who reports it (address, student ID, email), keyed by an HMAC: the limiter's storage (Redis,
    perhaps shared) never holds a student's ID or email."""
    form = request.form
    who = "\x1f".join(
        (
            get_remote_address() or "",
            form.get("reporter_student_id", "").strip().lower()[:64],
            form.get("reporter_email", "").strip().lower()[:254],
        )
    )
    secret = current_app.config["SECRET_KEY"]
    key = secret.encode() if isinstance(secret, str) else secret
    return f"report-reporter:{_code()}:{hmac.new(key, who.encode(), hashlib.sha256).hexdigest()[:32]}"


def _device_ceiling_retry_after() -> int | None:
    """Count a report against its device's ceiling; None when it fits, else the seconds until it would.

    Checked by hand after the form is valid, rather than by a decorator: Flask-Limiter counts each of a route's
    limits until one refuses, so a person refused by their own limit would still have used up the device's.
    """
    if not limiter.enabled:
        return None
    strategy, key = limiter.limiter, ("report-device", _code())
    items = parse_many(_device_limit())
    for item in items:
        if not strategy.test(item, *key):
            reset = strategy.get_window_stats(item, *key).reset_time
            return max(1, math.ceil(reset - time.time()))
    for item in items:
        strategy.hit(item, *key)
    return None


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
@limiter.limit(_reporter_limit, methods=["POST"], key_func=_reporter_key)
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
    category = choice(values["category"], TicketCategory)
    if category is None:
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
    retry_after = _device_ceiling_retry_after()
    if retry_after is not None:
        return _refused(retry_after)
    reporter = ticket_service.Reporter(
        name=values["reporter_name"], student_id=values["reporter_student_id"], email=values["reporter_email"]
    )
    with committing() as outcome:
        ticket, token = ticket_service.file_student_report(
            asset,
            category=category,
            description=values["description"],
            reporter=reporter,
            photo=photo,
            via=Via.public,
        )
    if outcome.refused:
        errors = {outcome.refused.field or "description": outcome.message}
        return render_report_form(asset, errors=errors, values=values, status=422)
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


# Refusals are counted in the database, a write each; past this rate for one device they are no longer counted,
# so a flood of refused requests cannot turn into a flood of writes.
REFUSALS_COUNTED = "60 per minute"


def _refused(retry_after: int | None = None):
    """429 with the friendly page; the refusal is counted on the device, where staff see it."""
    hit = tag_service.lookup(_code()) if _code() else None
    if (
        hit is not None
        and hit.asset is not None
        and (not limiter.enabled or limiter.limiter.hit(parse(REFUSALS_COUNTED), "report-refusals", _code()))
    ):
        with committing():
            ticket_service.note_refused_report(hit.asset)
    ctx = public_context(pick_lang())
    resp = current_app.make_response((render_template("reports/limited.html", **ctx), 429))
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return _private(resp)


@bp.errorhandler(RateLimitExceeded)
def rate_limited(exc: RateLimitExceeded):
    return _refused()


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    ctx = public_context(pick_lang())
    message = ctx["t"]("err_photo_large", mb=str(MAX_BYTES // (1024 * 1024)))
    code = (request.view_args or {}).get("code")
    back_url = url_for("tags.scan", code=code) if code else None
    body = render_template("reports/too_large.html", message=message, back_url=back_url, **ctx)
    resp = current_app.make_response((body, 413))
    return _private(resp)
