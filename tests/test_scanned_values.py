"""One meaning for a scanned value: app.tagcodes.scanned_value against the shared table, and the lookups built on it."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, Room
from app.services import sync as sync_service
from app.services.assets import find_asset
from app.services.sync import find_room, find_scanned_asset
from app.services.tags import code_from_text, lookup
from app.tagcodes import looks_like_code, normalise, scanned_value

TABLE = json.loads((Path(__file__).parent / "cases" / "scanned_values.json").read_text())
CASES = [pytest.param(case["input"], case["value"], id=repr(case["input"])) for case in TABLE["cases"]]


@pytest.mark.parametrize(("text", "value"), CASES)
def test_scanned_value_follows_the_shared_table(text, value):
    assert scanned_value(text) == value


@pytest.mark.parametrize(("text", "value"), CASES)
def test_code_from_text_is_the_scanned_value_folded_or_none(text, value):
    expected = normalise(value) if value and looks_like_code(value) else None
    assert code_from_text(text) == expected


def _urls(code: str) -> list[str]:
    """The ways a sticker's address reaches a scan field: with a query, a fragment, a trailing slash or path."""
    return [
        f"https://rollcall.example.org/t/{code}#report",
        f"https://rollcall.example.org/t/{code}?src=label#y",
        f"https://rollcall.example.org/t/{code}/",
        f"https://rollcall.example.org/t/{code}/report",
        f"  rollcall.example.org/t/{code.lower()}  ",
    ]


def test_every_lookup_reads_a_sticker_url_the_same_way(app, district):
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        room = db.session.scalar(sa.select(Room).where(Room.code == "LHS-101"))
        for url in _urls(asset.tag_code):
            assert find_asset(url) == asset, url
            assert lookup(url).asset == asset, url
            db.session.info.pop("sync.assets", None)
            assert find_scanned_asset(url).id == asset.id, url
        for url in _urls(room.tag_code):
            db.session.info.pop("sync.rooms", None)
            assert find_room(url) == room, url
            assert lookup(url).room == room, url


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
def test_a_scan_of_a_sticker_url_with_a_fragment_finds_the_device(app, client, aide_token, monkeypatch, bulk):
    if not bulk:
        one_by_one = dataclasses.replace(sync_service.HANDLERS["scan"], bulk=None)
        monkeypatch.setitem(sync_service.HANDLERS, "scan", one_by_one)
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        room = db.session.scalar(sa.select(Room).where(Room.code == "LHS-101"))
        tag = f"https://rollcall.example.org/t/{asset.tag_code}#report"
        room_url = f"https://rollcall.example.org/t/{room.tag_code}#x"
    events = [
        {
            "id": str(uuid.uuid4()),
            "type": "scan",
            "at": datetime.now(UTC).isoformat(),
            "data": {"tag": tag, "room": room_url},
        }
    ]
    resp = client.post("/api/v1/sync", json={"events": events}, headers={"Authorization": f"Bearer {aide_token}"})
    [result] = resp.get_json()["results"]
    assert result["status"] == "applied", result
    assert result["info"]["asset"]["asset_tag"] == "LHS-1000", result
    assert result["info"]["room"] == "LHS-101"
