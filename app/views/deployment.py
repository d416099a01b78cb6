"""Deployment and collection days (/deployment): the deployment station, the collection station (which records
returns through the outbox, so it works offline), receipts with a QR for the family, kits and the agreement."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, request, stream_with_context, url_for
from flask_login import current_user

from app.extensions import db
from app.models import (
    AccessoryKind,
    AccessoryTracking,
    Agreement,
    AgreementAck,
    Asset,
    Campus,
    Collection,
    Condition,
    Deployment,
    Person,
    Via,
)
from app.services import fees, labels
from app.services.assets import find_asset
from app.services.deployment import agreements, collect, deploy, kits
from app.services.deployment import board as board_service
from app.services.deployment.agreements import SignatureTooLarge
from app.services.errors import Invalid
from app.services.loans import local_time
from app.services.people import find_person
from app.views.loans import desk_campus
from app.web import can, committing, note_record_view, permission_required, render, see_other
from app.web.args import choice, whole
from app.web.loaders import visible_campuses
from app.web.offline import offline_page

bp = Blueprint("deployment", __name__)

STATION_MAX = 40


def _visible(record, campus_id: int | None):
    if record is None or not current_user.can_see_campus(campus_id):
        abort(404)
    return record


def _station_name() -> str:
    return (request.form.get("station") or "").strip()[:STATION_MAX]


# The deployment station ---------------------------------------------------------------------------------------


def _deploy_context(campus: Campus, **panel) -> dict:
    agreement = agreements.current()
    return {
        "campus": campus,
        "campuses": visible_campuses(),
        "agreement": agreement,
        "school_year": agreements.school_year(),
        "kinds": kits.kinds(),
        "station": _station_name(),
        "person": None,
        "asset": None,
        "error": None,
        **panel,
    }


def _deploy_panel(campus: Campus, status: int = 200, **panel) -> Response:
    return render(
        "deployment/index.html", "deployment/_deploy_panel.html", status=status, **_deploy_context(campus, **panel)
    )


def _ready(campus: Campus, person: Person, asset, *, kit: list[kits.KitLine], error: str | None = None, status=200):
    """The panel that asks for the kit and the acknowledgement before a device goes out."""
    ack = agreements.ack_of(person, agreements.current())
    return _deploy_panel(
        campus,
        status,
        person=person,
        asset=asset,
        kit={line.kind.id: line.serial or "" for line in kit},
        ack=ack,
        error=error,
    )


@bp.get("/deployment")
@permission_required("desk")
def index():
    campus = desk_campus()
    return render("deployment/index.html", **_deploy_context(campus))


@bp.post("/deployment/scan")
@permission_required("desk")
def scan():
    """One scan or typed entry at a deployment station: a student, a device, or part of a name."""
    campus = desk_campus()
    if request.form.get("action") == "clear":
        return _deploy_panel(campus)
    selected = _selected_person()
    entry = deploy.read_scan(campus, request.form.get("code", "")[:120], selected, by=current_user)
    if entry.kind == "refuse":
        return _deploy_panel(campus, 422, person=entry.person, error=entry.message)
    if entry.kind == "ask":
        return _deploy_panel(campus, person=selected, matches=entry.matches)
    assert entry.person is not None
    with committing():
        note_record_view(entry.person, "desk")
    if entry.kind == "person":
        devices = _devices_of(entry.person)
        held = {d.id for d in devices if collect.held_collection(d) is not None}
        return _deploy_panel(campus, person=entry.person, devices=devices, held=held)
    assert entry.asset is not None
    try:
        deploy.check_deployable(entry.asset, entry.person, by=current_user)
    except Invalid as exc:
        return _deploy_panel(campus, 422, person=entry.person, error=exc.message)
    if entry.kind == "redeploy":
        kit = deploy.redeploy_kit(entry.asset)
        if agreements.ack_of(entry.person, agreements.current()) is not None:
            # Held over the summer and this year's agreement already acknowledged: one scan hands it back.
            return _do_deploy(campus, entry.person, entry.asset, kit)
        return _ready(campus, entry.person, entry.asset, kit=kit)
    return _ready(campus, entry.person, entry.asset, kit=deploy.standard_kit())


def _selected_person() -> Person | None:
    wanted = request.form.get("person", "").strip()
    if not wanted:
        return None
    person = find_person(wanted)
    if person is None or not current_user.can_see_campus(person.campus_id):
        return None
    return person


def _devices_of(person: Person) -> list:
    return list(db.session.scalars(sa.select(Asset).where(Asset.assigned_to_id == person.id).order_by(Asset.asset_tag)))


def _kit_from_form() -> list[kits.KitLine]:
    wanted = {whole(v) for v in request.form.getlist("kit")}
    return [
        kits.KitLine(
            kind, request.form.get(f"serial_{kind.id}", "")[:200] if kind.tracking is AccessoryTracking.serial else None
        )
        for kind in kits.kinds()
        if kind.id in wanted
    ]


@bp.post("/deployment/deploy")
@permission_required("desk")
def deploy_device():
    """Hand the scanned device to the selected student with its kit and the agreement acknowledged."""
    campus = desk_campus()
    person = _selected_person()
    asset = find_asset(request.form.get("asset", "")[:120])
    if person is None or asset is None or not current_user.can_see_campus(asset.campus_id):
        return _deploy_panel(campus, 422, person=person, error="Scan the student's ID, then the device.")
    kit = _kit_from_form()
    signature = None
    drawn = request.form.get("signature", "")
    if drawn:
        try:
            signature = agreements.clean_signature(drawn)
        except SignatureTooLarge as exc:
            return _ready(campus, person, asset, kit=kit, error=exc.message, status=413)
        except Invalid as exc:
            return _ready(campus, person, asset, kit=kit, error=exc.message, status=422)
    return _do_deploy(
        campus, person, asset, kit, signed_name=request.form.get("signed_name", "")[:400], signature=signature
    )


def _do_deploy(campus, person, asset, kit, *, signed_name: str | None = None, signature: bytes | None = None):
    with committing() as done:
        deployment = deploy.deploy(
            asset,
            person,
            kit=kit,
            signed_name=signed_name,
            signature_png=signature,
            by=current_user,
            via=Via.web,
            station=_station_name(),
        )
    if done.refused:
        return _ready(campus, person, asset, kit=kit, error=done.message, status=422)
    return _deploy_panel(campus, deployed=deployment, receipt_url=_public_url(deployment.receipt_token))


def _public_url(token: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for("deployment.public_receipt", token=token)


@bp.get("/deployment/deployments/<int:deployment_id>/receipt")
@permission_required("desk")
def deployment_receipt(deployment_id: int):
    """The printable receipt of a deployment, with the QR that opens its public copy."""
    deployment = db.get_or_404(Deployment, deployment_id)
    _visible(deployment, deployment.campus_id)
    url = _public_url(deployment.receipt_token)
    return render(
        "deployment/receipt.html",
        deployment=deployment,
        items=kits.issued_with(deployment),
        url=url,
        qr=labels.qr_svg(url),
        local=lambda moment: local_time(deployment.asset.campus, moment),
    )


@bp.get("/deployment/acks/<int:ack_id>/signature.png")
@permission_required("desk")
def signature(ack_id: int):
    ack = db.get_or_404(AgreementAck, ack_id)
    _visible(ack, ack.person.campus_id)
    if ack.signature_png is None:
        abort(404)
    resp = Response(ack.signature_png, mimetype="image/png")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/deployment/agreements/<int:agreement_id>")
@permission_required("desk")
def agreement(agreement_id: int):
    """The agreement's text, for the student to read at the station."""
    return render("deployment/agreement.html", agreement=db.get_or_404(Agreement, agreement_id))


# The collection station ---------------------------------------------------------------------------------------


def _collect_context(campus: Campus) -> dict:
    return {
        "campus": campus,
        "campuses": visible_campuses(),
        "kinds": kits.kinds(),
        "conditions": list(Condition),
    }


@bp.get("/deployment/collect")
@permission_required("desk")
@offline_page
def collect_page():
    """The collection station: it shows no one's data until a device is scanned, so the phone may keep it."""
    return render("deployment/collect.html", **_collect_context(desk_campus()))


@bp.post("/deployment/collect/lookup")
@permission_required("desk")
def collect_lookup():
    """What the station knows about a scanned device: whose it is and what went out with it."""
    campus = desk_campus()
    code = request.form.get("code", "").strip()[:120]
    asset = find_asset(code) if code else None
    ctx = _collect_context(campus)
    if asset is None or not current_user.can_see_campus(asset.campus_id):
        message = f"No device on your campuses matches “{code}”." if code else "Scan a device."
        return render("deployment/collect.html", "deployment/_collect_panel.html", status=422, error=message, **ctx)
    assignment, cycle = collect.pending_cycle(asset)
    earlier = collect.by_cycle(cycle)
    holder = assignment.person if assignment is not None else None
    if holder is not None:
        with committing():
            note_record_view(holder, "desk")
    out = kits.open_accessories(asset)
    expected = {row.kind_id for row in out} or {k.id for k in ctx["kinds"] if k.standard}
    return render(
        "deployment/collect.html",
        "deployment/_collect_panel.html",
        asset=asset,
        holder=holder,
        already=collect.already_words(earlier) if earlier is not None else None,
        expected=expected,
        serials={row.kind_id: row.serial for row in out if row.serial},
        **ctx,
    )


@bp.get("/deployment/collections/<int:collection_id>")
@permission_required("desk")
def collection(collection_id: int):
    """A return: what came back, the ticket damage opened, the fees the schedule suggests, and its receipt."""
    record = db.get_or_404(Collection, collection_id)
    _visible(record, record.campus_id)
    url = _public_url(record.receipt_token)
    return render(
        "deployment/collection.html",
        record=record,
        items=kits.returned_with(record),
        suggested=collect.suggested_fees(record),
        schedule=fees.policy(),
        may_charge=can("repairs.work"),
        url=url,
        qr=labels.qr_svg(url),
        local=lambda moment: local_time(record.asset.campus, moment),
    )


@bp.post("/deployment/collections/<int:collection_id>/fees")
@permission_required("repairs.work")
def charge(collection_id: int):
    record = db.get_or_404(Collection, collection_id)
    _visible(record, record.campus_id)
    with committing() as done:
        collect.charge(record, request.form.get("reason", "").strip()[:200], by=current_user, via=Via.web)
    if done.refused:
        abort(422, done.message)
    return see_other(url_for("deployment.collection", collection_id=record.id))


# Receipts the family opens from the QR: the device and what went with it, never anyone's name.


@bp.get("/receipt/<token>")
def public_receipt(token: str):
    token = token[:64]
    deployment = db.session.scalar(sa.select(Deployment).where(Deployment.receipt_token == token))
    record = None if deployment else db.session.scalar(sa.select(Collection).where(Collection.receipt_token == token))
    if deployment is None and record is None:
        abort(404)
    asset = (deployment or record).asset  # type: ignore[union-attr]
    items = kits.issued_with(deployment) if deployment else kits.returned_with(record)  # type: ignore[arg-type]
    resp = render(
        "deployment/public_receipt.html",
        deployment=deployment,
        record=record,
        asset=asset,
        items=items,
        public_page=True,
        local=lambda moment: local_time(asset.campus, moment),
    )
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


# Setup: accessory kinds and the agreement ---------------------------------------------------------------------


def _setup(status: int = 200, errors: dict | None = None, form: dict | None = None) -> Response:
    return render(
        "deployment/setup.html",
        status=status,
        kinds=kits.kinds(active_only=False),
        versions=agreements.versions(),
        schedule=fees.policy(),
        trackings=list(AccessoryTracking),
        school_year=agreements.school_year(),
        errors=errors or {},
        form=form or {},
    )


@bp.get("/deployment/setup")
@permission_required("device_models.edit")
def setup():
    return _setup()


@bp.post("/deployment/setup/kinds")
@permission_required("device_models.edit")
def add_kind():
    tracking = choice(request.form.get("tracking"), AccessoryTracking, AccessoryTracking.issued)
    assert tracking is not None
    with committing() as done:
        kits.add_kind(
            request.form.get("name", "")[:200],
            tracking=tracking,
            fee_reason=request.form.get("fee_reason", "")[:200],
            standard=request.form.get("standard") == "1",
            by=current_user,
            via=Via.web,
        )
    if done.refused:
        assert done.refused is not None
        return _setup(422, {done.refused.field or "name": done.message}, dict(request.form))
    return see_other(url_for("deployment.setup"))


@bp.post("/deployment/setup/kinds/<int:kind_id>/active")
@permission_required("device_models.edit")
def kind_active(kind_id: int):
    kind = db.get_or_404(AccessoryKind, kind_id)
    with committing():
        kits.set_kind_active(kind, request.form.get("active") == "1", by=current_user, via=Via.web)
    return see_other(url_for("deployment.setup"))


@bp.post("/deployment/setup/agreements")
@permission_required("device_models.edit")
def publish_agreement():
    with committing() as done:
        agreements.publish(
            request.form.get("school_year", "")[:20],
            request.form.get("title", "")[:400],
            request.form.get("body", "")[:60_000],
            by=current_user,
            via=Via.web,
        )
    if done.refused:
        assert done.refused is not None
        return _setup(422, {done.refused.field or "body": done.message}, dict(request.form))
    return see_other(url_for("deployment.setup"))


# The live board -----------------------------------------------------------------------------------------------


def _board_campus() -> Campus | None:
    code = (request.args.get("campus") or "").strip().upper()
    if not code:
        return None
    found = next((c for c in visible_campuses() if c.code == code), None)
    if found is None:
        abort(404)
    return found


@bp.get("/deployment/board")
@permission_required("people.read")
def board():
    """Returned and not yet returned by campus and grade; the fragment polls while stations work."""
    campus = _board_campus()
    lines = board_service.rows(current_user, campus.id if campus else None)
    return render(
        "deployment/board.html",
        "deployment/_board.html",
        rows=lines,
        total=board_service.totals(lines),
        campus=campus,
        campuses=visible_campuses(),
        school_year=agreements.school_year(),
    )


@bp.get("/deployment/board/not-returned.csv")
@permission_required("people.read")
def not_returned_csv():
    campus = _board_campus()
    resp = Response(
        stream_with_context(board_service.not_returned_csv(current_user, campus.id if campus else None)),
        mimetype="text/csv",
    )
    resp.headers["Content-Disposition"] = f'attachment; filename="not-returned-{date.today().isoformat()}.csv"'
    return resp
