"""Factory helpers: small, valid records with overridable fields."""

from __future__ import annotations

import itertools
from datetime import date
from functools import lru_cache

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Campus,
    Condition,
    DeviceModel,
    Person,
    PersonKind,
    Role,
    Room,
    RoomKind,
    User,
)

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@lru_cache(maxsize=16)
def password_hash(password: str) -> str:
    """The hash User.set_password makes (same method, same cost), computed once per password per process: a
    scrypt hash costs a tenth of a second, and the suite makes thousands of users with the same password."""
    probe = User()
    probe.set_password(password)
    return probe.password_hash


def make_campus(code: str = "LHS", name: str | None = None) -> Campus:
    campus = db.session.scalar(sa.select(Campus).where(Campus.code == code))
    if campus is None:
        campus = Campus(code=code, name=name or f"{code} campus")
        db.session.add(campus)
        db.session.flush()
    return campus


def make_room(campus: Campus, code: str | None = None, kind: RoomKind = RoomKind.classroom) -> Room:
    n = next(_seq)
    room = Room(campus=campus, code=code or f"{campus.code}-{100 + n}", name=f"Room {100 + n}", kind=kind)
    db.session.add(room)
    db.session.flush()
    return room


def make_model(manufacturer: str = "Acer", name: str = "Chromebook 311", aue: date | None = date(2029, 6, 1)):
    model = db.session.scalar(
        sa.select(DeviceModel).where(DeviceModel.manufacturer == manufacturer, DeviceModel.name == name)
    )
    if model is None:
        model = DeviceModel(manufacturer=manufacturer, name=name, aue_date=aue)
        db.session.add(model)
        db.session.flush()
    return model


def make_person(campus: Campus, name: str | None = None, kind: PersonKind = PersonKind.student, **fields) -> Person:
    n = next(_seq)
    person = Person(
        external_id=fields.pop("external_id", f"S{campus.code}{10000 + n}"),
        kind=kind,
        name=name or f"Student {n}",
        email=fields.pop("email", f"student{n}@students.example.org"),
        campus=campus,
        **fields,
    )
    db.session.add(person)
    db.session.flush()
    return person


def make_asset(campus: Campus, room: Room | None = None, **fields) -> Asset:
    n = next(_seq)
    model = fields.pop("model", None) or make_model()
    asset = Asset(
        asset_tag=fields.pop("asset_tag", f"{campus.code}-{50000 + n}"),
        serial=fields.pop("serial", f"SN{n:08d}"),
        model=model,
        campus=campus,
        home_room=room,
        status=fields.pop("status", AssetStatus.deployed),
        condition=fields.pop("condition", Condition.good),
        **fields,
    )
    asset.refresh_search_text()
    db.session.add(asset)
    db.session.flush()
    return asset


def make_user(role: Role = Role.admin, *campus_codes: str, email: str | None = None, password: str = PASSWORD) -> User:
    n = next(_seq)
    user = User(
        email=email or f"{role.value}{n}@staff.example.org",
        name=f"{role.value.title()} {n}",
        role=role,
        campuses=[make_campus(code) for code in campus_codes],
    )
    user.password_hash = password_hash(password)
    db.session.add(user)
    db.session.flush()
    return user


def make_district() -> dict:
    """LHS and JMS, two rooms each, a student on each campus, and devices in both."""
    lhs, jms = make_campus("LHS", "Lincoln High"), make_campus("JMS", "Jefferson Middle")
    lhs_room, jms_room = make_room(lhs, "LHS-101"), make_room(jms, "JMS-201")
    lhs_store = make_room(lhs, "LHS-IT", RoomKind.storage)
    student = make_person(lhs, "Zoe Martinez", external_id="LHS100001")
    jms_student = make_person(jms, "Liam Chen", external_id="JMS200001")
    lhs_asset = make_asset(lhs, lhs_room, asset_tag="LHS-1000", serial="MKQQA7MSUA")
    jms_asset = make_asset(jms, jms_room, asset_tag="JMS-2000", serial="WJ8D51111G")
    spare = make_asset(lhs, lhs_store, asset_tag="LHS-1001", serial="SPARE00001", status=AssetStatus.in_stock)
    return {
        "lhs": lhs,
        "jms": jms,
        "lhs_room": lhs_room,
        "jms_room": jms_room,
        "lhs_store": lhs_store,
        "student": student,
        "jms_student": jms_student,
        "lhs_asset": lhs_asset,
        "jms_asset": jms_asset,
        "spare": spare,
    }
