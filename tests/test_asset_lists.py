"""The dashboard's planning lists (AUE by school year, warranty by month): the active filter as a chip that can be
removed, the date each device is listed for, and the same list as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, AssetStatus, utcnow
from app.services import asset_lists
from app.services.dashboard import school_year_of, school_year_range
from tests import factories
from tests.conftest import hx


@pytest.fixture
def planning_world(app, district):
    """Devices whose own AUE falls this school year (one retired), one later, and warranties ending in a month."""
    this_year = school_year_of(utcnow().date())
    start, _ = school_year_range(this_year)
    with app.app_context():
        lhs = factories.make_campus("LHS")
        factories.make_asset(lhs, asset_tag="LHS-AUE1", google_aue_date=date(this_year + 1, 6, 1))
        factories.make_asset(lhs, asset_tag="=LHS-AUE2", google_aue_date=start)
        factories.make_asset(lhs, asset_tag="LHS-OLD", google_aue_date=start, status=AssetStatus.retired)
        factories.make_asset(lhs, asset_tag="LHS-LATER", google_aue_date=date(this_year + 3, 1, 1))
        factories.make_asset(lhs, asset_tag="LHS-WAR1", warranty_provider="Acer", warranty_end=date(2027, 6, 30))
        for tag in ("LHS-1000", "LHS-1001"):
            db.session.scalar(sa.select(Asset).where(Asset.asset_tag == tag)).google_aue_date = date(2040, 1, 1)
        db.session.commit()
    return this_year


def _csv(resp) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_aue_list_shows_its_filter_the_date_and_a_csv(client, login_as, planning_world):
    login_as("viewer", "LHS")
    year = planning_world
    label = f"{year}–{(year + 1) % 100:02d}"
    html = client.get(f"/assets?aue_year={year}&active=1").get_data(as_text=True)
    assert f'<span class="chip">AUE in the {label} school year (this school year)</span>' in html
    assert '<span class="chip">In use (not retired)</span>' in html
    assert '<a class="chip-remove" href="/assets" ' in html and "Remove this filter</a>" in html
    assert f'<time datetime="{year + 1}-06-01">{year + 1}-06-01</time>' in html
    assert "LHS-AUE1" in html and "LHS-OLD" not in html and "LHS-LATER" not in html
    assert f'href="/assets/list.csv?aue_year={year}&amp;active=1"' in html
    resp = client.get(f"/assets/list.csv?aue_year={year}&active=1")
    assert resp.status_code == 200 and resp.mimetype == "text/csv" and resp.is_streamed
    rows = _csv(resp)
    assert [r["asset_tag"] for r in rows] == ["'=LHS-AUE2", "LHS-AUE1"], "formula-guarded, in the list's order"
    assert rows[1]["aue_date"] == f"{year + 1}-06-01" and rows[1]["campus"] == "LHS"
    assert set(rows[0]) == set(asset_lists.CSV_HEADER)


def test_warranty_list_shows_its_filter_and_the_end_date(client, login_as, planning_world):
    login_as("tech", "LHS")
    resp = client.get("/assets?warranty_month=2027-06&active=1&status=deployed", headers=hx())
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="asset-results"')
    assert '<span class="chip">Warranty ends in Jun 2027</span>' in html
    assert 'Warranty ends</span> <time datetime="2027-06-30">2027-06-30</time>' in html
    assert '<a class="chip-remove" href="/assets?status=deployed"' in html, "removing the chip keeps the other filters"
    rows = _csv(client.get("/assets/list.csv?warranty_month=2027-06&active=1"))
    assert [(r["asset_tag"], r["warranty_provider"], r["warranty_end"]) for r in rows] == [
        ("LHS-WAR1", "Acer", "2027-06-30")
    ]


def test_plain_lists_show_no_chip_and_no_date(client, login_as, planning_world):
    login_as("tech", "LHS")
    html = client.get("/assets?aue_year=nonsense").get_data(as_text=True)
    assert 'class="chip"' not in html and 'class="date"' not in html


def test_the_csv_stays_on_the_readers_campuses(client, login_as, planning_world):
    login_as("tech", "JMS")
    assert {r["asset_tag"] for r in _csv(client.get("/assets/list.csv"))} == {"JMS-2000"}


def test_the_csv_needs_a_sign_in(client, district):
    resp = client.get("/assets/list.csv")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize(
    ("args", "chips"),
    [
        ({"aue_year": "expired"}, ["AUE already passed"]),
        ({"aue_year": "later", "active": "1"}, ["AUE in 2031–32 or later", "In use (not retired)"]),
        ({"aue_year": "2027"}, ["AUE in the 2027–28 school year"]),
        ({"warranty": "expired"}, ["Warranty already ended"]),
        ({"warranty_month": "2026-13"}, None),
        ({"q": "acer"}, None),
    ],
)
def test_planning_chips_in_words(args, chips):
    found = asset_lists.planning_list(args, today=date(2026, 9, 1))
    assert (found.chips if found else None) == chips
