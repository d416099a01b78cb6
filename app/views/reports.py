"""The public damage report: no login, the device's tag and model only, a ticket number and a private status link."""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse, parse_many
from werkzeug.exceptions import RequestEntityTooLarge

from app.extensions import limiter
from app.i18n import campus_zone
from app.models import Asset, Ticket, TicketCategory, TicketStatus, Via
from app.services import tags as tag_service
from app.services import tickets as ticket_service
from app.services.errors import Invalid
from app.services.photos import HEIC_READABLE, MAX_BYTES, PhotoTooBig, PhotoTooLarge, clean_photo
from app.tagcodes import normalise
from app.views.reports_i18n import language_switch
from app.web import committing
from app.web.args import choice

bp = Blueprint("reports", __name__)
bp.context_processor(language_switch)

# What a student reads about their report, in their language (lazy: the language is the request's).
CATEGORY_NAMES = {
    TicketCategory.cracked_screen: _l("Cracked screen"),
    TicketCategory.keyboard_trackpad: _l("Keyboard or trackpad"),
    TicketCategory.wont_charge: _l("Won't charge"),
    TicketCategory.wont_turn_on: _l("Won't turn on"),
    TicketCategory.liquid: _l("Liquid spilled on it"),
    TicketCategory.missing_keys: _l("Missing keys"),
    TicketCategory.camera_sound: _l("Camera or sound"),
    TicketCategory.other: _l("Something else"),
}
STATUS_NAMES = {
    TicketStatus.new: _l("Received: waiting for a technician"),
    TicketStatus.triaged: _l("Looked at: a technician has checked the report"),
    TicketStatus.in_repair: _l("Being repaired"),
    TicketStatus.waiting_parts: _l("Waiting for parts"),
    TicketStatus.warranty_claim: _l("Sent for warranty repair"),
    TicketStatus.resolved: _l("Fixed"),
    TicketStatus.closed: _l("Closed"),
}
# What the student does next, for each status: the loaner desk is the library's.
NEXT_STEPS = {
    TicketStatus.new: _l(
        "A technician will look at your report soon. If you can't use the device, bring it to the library for a loaner."
    ),
    TicketStatus.triaged: _l("Bring the device to the library for a loaner while it is repaired."),
    TicketStatus.in_repair: _l("This page will say when it is fixed. Until then, use a loaner from the library."),
    TicketStatus.waiting_parts: _l("A part has been ordered. This page will say when it is fixed."),
    TicketStatus.warranty_claim: _l(
        "The maker is repairing it, which can take a few weeks. This page will say when it is back."
    ),
    TicketStatus.resolved: _l("Pick it up at the library, and bring back your loaner if you have one."),
    TicketStatus.closed: _l("Nothing more to do. If something is still wrong, report it again."),
}

# Three limits, each changeable in the app's configuration. A school's students often share one public IP, so the
# per-IP limit is generous. One person rarely reports one device twice in an hour, so the limit per reporter and
# device is tight: the reporter is the address plus the student ID or email they give, so one person using it up
# blocks only themselves. All reporters of a device together meet a ceiling against floods from many addresses;
# it sits above what one address may send in an hour or a day, so no single address can reach it.
DEFAULT_IP_LIMIT = "20 per 10 minutes;60 per day"
DEFAULT_REPORTER_LIMIT = "5 per hour;10 per day"
DEFAULT_DEVICE_LIMIT = "100 per hour;200 per day"
REPORTER_FIELDS = ("reporter_name", "reporter_student_id", "reporter_email")
# The ticket service's refusals of a student's fields (app.services.tickets), as the student reads them.
REFUSED_FIELDS = {
    "description": _l("Keep the description under %(limit)s characters.", limit=ticket_service.MAX_DESCRIPTION),
    "reporter_name": _l("That name is too long."),
    "reporter_student_id": _l("That student ID is too long."),
    "reporter_email": _l("That email address does not look right."),
}


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


def photo_unreadable_message() -> str:
    """The message for a file that is no photo we read; it offers HEIC only where HEIC photos are read."""
    if HEIC_READABLE:
        return _("That file is not a photo we can read. Use a JPEG, PNG, WebP or HEIC picture.")
    return _("That file is not a photo we can read. Use a JPEG, PNG or WebP picture.")


def photo_too_large_message() -> str:
    return _("That photo is too large; the limit is %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024))


def render_report_form(asset: Asset, *, errors: dict | None = None, values: dict | None = None, status: int = 200):
    """The report form for a device: its asset tag and model, and nothing about any person."""
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
                category_names=CATEGORY_NAMES,
                errors=errors or {},
                values=values or {},
                staff_campus=staff_campus,
                max_mb=MAX_BYTES // (1024 * 1024),
                heic=HEIC_READABLE,
            ),
            status,
        )
    )
    return _private(resp)


@bp.post("/t/<code>/report")
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit(_reporter_limit, methods=["POST"], key_func=_reporter_key)
def submit(code: str):
    hit = tag_service.lookup(code)
    if hit is None or hit.asset is None:
        return redirect(url_for("tags.scan", code=code), 303)
    asset = hit.asset
    form = request.form
    values = {k: form.get(k, "")[:300] for k in ("category", "description", *REPORTER_FIELDS)}
    values["description"] = form.get("description", "")[:5000]
    if form.get("website"):
        # Only bots fill the field people cannot see: thank them and keep nothing.
        return _private(current_app.make_response(render_template("reports/done.html", number=None, status_url=None)))
    errors: dict[str, str] = {}
    category = choice(values["category"], TicketCategory)
    if category is None:
        errors["category"] = _("Choose what is wrong.")
    if not values["description"].strip():
        errors["description"] = _("Describe what is wrong.")
    photo = None
    upload = request.files.get("photo")
    if upload is not None and upload.filename:
        data = upload.stream.read(MAX_BYTES + 1)
        try:
            photo = clean_photo(data)
        except PhotoTooLarge:
            errors["photo"] = photo_too_large_message()
            return render_report_form(asset, errors=errors, values=values, status=413)
        except PhotoTooBig:
            errors["photo"] = _(
                "That picture is too big for us to open. Take a new photo with the camera, or send the report "
                "without one."
            )
        except Invalid:
            errors["photo"] = photo_unreadable_message()
    if errors:
        return render_report_form(asset, errors=errors, values=values, status=422)
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
        field = outcome.refused.field or "description"
        errors = {field: str(REFUSED_FIELDS.get(field, outcome.message))}
        return render_report_form(asset, errors=errors, values=values, status=422)
    # The raw token lives only in the student's own signed session cookie and in the link they are shown.
    session["report_done"] = {"number": ticket.number, "token": token}
    return redirect(url_for("reports.done"), 303)


@bp.get("/reports/done")
def done():
    info = session.get("report_done")
    if not info:
        return redirect(url_for("tags.type_code"))
    status_url = current_app.config["BASE_URL"] + url_for("reports.status", token=info["token"])
    return _private(
        current_app.make_response(render_template("reports/done.html", number=info["number"], status_url=status_url))
    )


def reported_on(ticket: Ticket):
    """The day the ticket was filed, in its campus's zone: a student in Honolulu reporting at 7 pm filed it that
    day, not the next day in UTC."""
    return ticket.created_at.astimezone(campus_zone(ticket.asset.campus)).date()


@bp.get("/reports/status/<token>")
def status(token: str):
    ticket = ticket_service.find_by_status_token(token)
    if ticket is None:
        body = render_template("tags/unknown.html", errors={}, typed="", status_page=True)
        return _private(current_app.make_response((body, 404)))
    day = reported_on(ticket)
    return _private(
        current_app.make_response(
            render_template(
                "reports/status.html",
                number=ticket.number,
                asset_tag=ticket.asset.asset_tag,
                reported_iso=day.isoformat(),
                reported=format_date(day, "long"),
                ticket_status=ticket.status,
                status_name=STATUS_NAMES[ticket.status],
                next_step=NEXT_STEPS[ticket.status],
                token=token,
            )
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
    resp = current_app.make_response((render_template("reports/limited.html"), 429))
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return _private(resp)


@bp.errorhandler(RateLimitExceeded)
def rate_limited(exc: RateLimitExceeded):
    return _refused()


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    code = (request.view_args or {}).get("code")
    back_url = url_for("tags.scan", code=code) if code else None
    body = render_template("reports/too_large.html", message=photo_too_large_message(), back_url=back_url)
    resp = current_app.make_response((body, 413))
    return _private(resp)
