"""Vendors: typed vendor names become vendor rows when the database is upgraded, the admin-kept list, claims and
batches that go to a listed vendor, filling a batch by scan, and the sightings that receiving and swaps record."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db
from tests.servers import fresh_database

pytestmark = pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")


def _row(table: sa.Table, counter: list[int], **given: Any) -> dict[str, Any]:
    """Values for every column the table requires (NOT NULL, no default), `given` ones as they are."""
    values = dict(given)
    for col in table.columns:
        if col.name in values or col.nullable or col.server_default is not None or col.primary_key:
            continue
        counter[0] += 1
        try:
            kind = col.type.python_type
        except NotImplementedError:
            kind = str
        if kind is bool:
            values[col.name] = False
        elif kind is int:
            values[col.name] = 0
        elif kind is datetime:
            values[col.name] = datetime(2025, 1, 2, 3, 4, 5)
        elif kind is date:
            values[col.name] = date(2025, 1, 2)
        elif kind is dict or kind is list:
            values[col.name] = {}
        else:
            values[col.name] = f"x{counter[0]}"
    return values


def test_typed_vendor_names_become_vendor_rows_and_stay_on_claims(tmp_path):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = ""

    with fresh_database(tmp_path, "vendors") as target:
        Config.SQLALCHEMY_DATABASE_URI = target
        app = create_app(Config)
        with app.app_context():
            upgrade(revision="0017")
            meta = sa.MetaData()
            meta.reflect(
                db.engine,
                only=["campuses", "device_models", "assets", "tickets", "shipping_batches", "warranty_claims"],
            )
            t = meta.tables
            n = [0]
            with db.engine.begin() as conn:

                def add(table: str, **given: Any) -> int:
                    return conn.execute(t[table].insert().values(**_row(t[table], n, **given))).inserted_primary_key[0]

                campus = add("campuses", code="LHS", name="Lincoln")
                model = add("device_models", manufacturer="Acer", name="C740", category="chromebook")
                tickets = []
                for i in range(5):
                    asset = add(
                        "assets",
                        campus_id=campus,
                        model_id=model,
                        status="deployed",
                        condition="good",
                        asset_tag=f"LHS-{i}",
                        serial=f"SER{i}",
                        tag_code=f"CODE{i:06d}",
                    )
                    ticket = add(
                        "tickets",
                        asset_id=asset,
                        status="warranty_claim",
                        category="other",
                        source="staff",
                    )
                    tickets.append((asset, ticket))
                batch = add("shipping_batches", vendor="ACER CARE", campus_id=campus)
                typed = [" acer care", "Acer Care", "Dell", "", "Acer Care"]
                for (asset, ticket), vendor in zip(tickets, typed, strict=True):
                    add(
                        "warranty_claims",
                        ticket_id=ticket,
                        asset_id=asset,
                        vendor=vendor,
                        status="submitted",
                        batch_id=batch if vendor == "Dell" else None,
                    )
            upgrade()
            with db.engine.connect() as conn:
                vendors = conn.execute(sa.text("SELECT id, name, active FROM vendors ORDER BY lower(name)")).all()
                claims = conn.execute(sa.text("SELECT vendor, vendor_id FROM warranty_claims ORDER BY id")).all()
                batches = conn.execute(sa.text("SELECT vendor, vendor_id, carrier FROM shipping_batches")).all()
            db.engine.dispose()
    # One row per name, whatever its case and spaces, spelt the way most claims and batches spelt it.
    assert [(v.name, bool(v.active)) for v in vendors] == [("Acer Care", True), ("Dell", True)]
    acer, dell = vendors[0].id, vendors[1].id
    # The typed names stay, each claim linked to its vendor; a claim with no name is left unlinked.
    assert [tuple(c) for c in claims] == [
        (" acer care", acer),
        ("Acer Care", acer),
        ("Dell", dell),
        ("", None),
        ("Acer Care", acer),
    ]
    assert [tuple(b) for b in batches] == [("ACER CARE", acer, "")]
