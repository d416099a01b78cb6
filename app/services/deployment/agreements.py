"""The acceptable-use agreement: one text per school year (newer versions replace older ones), and each student's
acknowledgement of the version in force, by typed name or by a signature drawn on the screen (kept as a PNG)."""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from datetime import date, datetime

import sqlalchemy as sa
from PIL import Image, UnidentifiedImageError

from app.extensions import db
from app.models import Agreement, AgreementAck, Person, User, Via, utcnow
from app.services import activity
from app.services.errors import DomainError, Invalid

# A drawn signature arrives as a PNG data URL; a phone's canvas makes one of a few tens of kilobytes.
MAX_SIGNATURE_BYTES = 256 * 1024
MAX_SIGNATURE_SIDE = 2000
PNG_PREFIX = "data:image/png;base64,"
# The school year starts on the first of July: June's collection day still belongs to the year before.
YEAR_STARTS_MONTH = 7


class SignatureTooLarge(DomainError):
    """A drawn signature over MAX_SIGNATURE_BYTES (413)."""

    status = 413
    code = "too_large"


def school_year(day: date | datetime | None = None) -> str:
    """The school year a day falls in, as "2026-27"."""
    day = day or utcnow()
    start = day.year if day.month >= YEAR_STARTS_MONTH else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def current(year: str | None = None) -> Agreement | None:
    """The agreement in force for a school year (this one by default): its newest version."""
    return db.session.scalar(
        sa.select(Agreement)
        .where(Agreement.school_year == (year or school_year()))
        .order_by(Agreement.version.desc())
        .limit(1)
    )


def versions() -> list[Agreement]:
    """Every version, newest school year and version first."""
    return list(
        db.session.scalars(sa.select(Agreement).order_by(Agreement.school_year.desc(), Agreement.version.desc()))
    )


def publish(year: str, title: str, body: str, *, by: User, via: Via) -> Agreement:
    """A new version of a school year's agreement; students acknowledge it at their next deployment."""
    year = (year or "").strip()
    if len(year) != 7 or not (year[:4].isdigit() and year[4] == "-" and year[5:].isdigit()):
        raise Invalid("Write the school year as 2026-27.", field="school_year")
    if int(year[5:]) != (int(year[:4]) + 1) % 100:
        raise Invalid("A school year runs from one year into the next, as 2026-27.", field="school_year")
    title = " ".join((title or "").split())
    body = (body or "").strip()
    if not title or len(title) > 160:
        raise Invalid("Give the agreement a title under 160 characters.", field="title")
    if not body:
        raise Invalid("Paste the agreement's text.", field="body")
    if len(body) > 50_000:
        raise Invalid("Keep the agreement under 50,000 characters.", field="body")
    latest = db.session.scalar(sa.select(sa.func.max(Agreement.version)).where(Agreement.school_year == year))
    agreement = Agreement(school_year=year, version=(latest or 0) + 1, title=title, body=body, created_by_id=by.id)
    db.session.add(agreement)
    db.session.flush()
    activity.record(
        "agreement.publish",
        f"Published the acceptable-use agreement {agreement.label}",
        by=by,
        via=via,
        subject=agreement,
        after={"school_year": year, "version": agreement.version, "title": title},
    )
    return agreement


def ack_of(person: Person, agreement: Agreement | None) -> AgreementAck | None:
    """The person's acknowledgement of that version, if they gave one."""
    if agreement is None:
        return None
    return db.session.scalar(
        sa.select(AgreementAck).where(AgreementAck.agreement_id == agreement.id, AgreementAck.person_id == person.id)
    )


def clean_signature(data_url: str) -> bytes:
    """A drawn signature (a PNG data URL from the canvas) checked by its content and saved again without metadata."""
    data_url = (data_url or "").strip()
    if not data_url.startswith(PNG_PREFIX):
        raise Invalid("Draw the signature again; it did not arrive as a picture.", field="signature")
    encoded = data_url[len(PNG_PREFIX) :]
    if len(encoded) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise SignatureTooLarge("That signature is too large; clear it and sign again.", field="signature")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid("Draw the signature again; it did not arrive as a picture.", field="signature") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw), formats=["PNG"])
            if im.width > MAX_SIGNATURE_SIDE or im.height > MAX_SIGNATURE_SIDE:
                raise Invalid("That signature is too big; clear it and sign again.", field="signature")
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, UnidentifiedImageError, OSError) as exc:
        raise Invalid("Draw the signature again; it did not arrive as a picture.", field="signature") from exc
    rgba = im.convert("RGBA")
    if rgba.getchannel("A").getbbox() is None:
        raise Invalid("The signature box is empty; sign it, or type the name instead.", field="signature")
    out = io.BytesIO()
    clean = Image.new("RGBA", rgba.size)
    clean.paste(rgba)
    clean.save(out, "PNG", optimize=True)
    return out.getvalue()


def acknowledge(
    person: Person,
    agreement: Agreement,
    *,
    signed_name: str | None,
    signature_png: bytes | None,
    by: User,
    via: Via,
    at: datetime | None = None,
) -> AgreementAck:
    """Record that a person acknowledged this version: a typed name, a drawn signature, or both."""
    name = " ".join((signed_name or "").split()) or None
    if name is not None and len(name) > 160:
        raise Invalid("Keep the typed name under 160 characters.", field="signed_name")
    if name is None and signature_png is None:
        raise Invalid("Type the student's name or have them sign to acknowledge the agreement.", field="signed_name")
    existing = ack_of(person, agreement)
    if existing is not None:
        return existing
    ack = AgreementAck(
        agreement=agreement,
        person=person,
        at=at or utcnow(),
        by_id=by.id,
        signed_name=name,
        signature_png=signature_png,
    )
    db.session.add(ack)
    db.session.flush()
    how = "signed" if signature_png is not None else "typed their name"
    activity.record(
        "agreement.acknowledge",
        f"{person.name} {how} for the acceptable-use agreement {agreement.label}",
        by=by,
        via=via,
        person=person,
        campus_id=person.campus_id,
        subject=ack,
        after={"agreement": agreement.label, "method": "drawn" if signature_png is not None else "typed"},
    )
    return ack
