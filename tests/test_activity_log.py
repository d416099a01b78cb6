"""The activity log's filters: by action kind, a date range checked on its fields (422, never a silent empty
list), and the filtered log as CSV within the reader's campuses."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Role, Via
from app.services import activity
from tests import factories
from tests.conftest import hx


@pytest.fixture
def log(app, district):
    """Entries of three kinds on two campuses, on known days, one with a summary a spreadsheet would run."""
    with app.app_context():
        admin = factories.make_user(Role.admin, email="boss@example.org")
        lhs = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        jms = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "JMS-2000"))
        made = [
            ("asset.update", "Changed LHS-1000", lhs, datetime(2026, 3, 2, 15, tzinfo=UTC), {"status": "deployed"}),
            ("asset.status", "=HYPERLINK(1) LHS-1000", lhs, datetime(2026, 3, 9, 15, tzinfo=UTC), None),
            ("labels.print", "Printed 1 device label", lhs, datetime(2026, 4, 1, 15, tzinfo=UTC), None),
            ("asset.update", "Changed JMS-2000", jms, datetime(2026, 3, 3, 15, tzinfo=UTC), None),
        ]
        for action, summary, asset, at, after in made:
            entry = activity.record(action, summary, by=admin, via=Via.web, asset=asset, after=after)
            entry.at = at
        db.session.commit()


def _csv(resp) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_filter_by_action_kind(client, log, login_as):
    login_as("tech", "LHS")
    html = client.get("/activity").get_data(as_text=True)
    for action in ("asset.update", "asset.status", "labels.print"):
        assert f'<option value="{action}"' in html
    html = client.get("/activity?action=asset.update").get_data(as_text=True)
    assert "Changed LHS-1000" in html and "Printed 1 device label" not in html
    assert "Changed JMS-2000" not in html, "another campus's entries stay out"
    assert '<option value="asset.update" selected>' in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "from=2026-04-01&to=2026-03-01",
            "to",
            "The range ends before it starts: choose a day on or after 2026-04-01.",
        ),
        ("from=2026-02-30", "from", "Enter a date written YYYY-MM-DD."),
        ("to=yesterday", "to", "Enter a date written YYYY-MM-DD."),
        ("from=0999-01-01", "from", "Enter a date between 1900 and 2999."),
        ("action=no.such", "action", "Choose an action from the list."),
    ],
)
def test_bad_filters_are_422_on_their_field(client, log, login_as, query, field, message):
    login_as("tech", "LHS")
    resp = client.get(f"/activity?{query}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f'id="activity-{field}-error">{message}</p>' in html
    assert f'aria-describedby="activity-{field}-error"' in html and "No activity matches" not in html
    resp = client.get(f"/activity?{query}", headers=hx())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and html.lstrip().startswith('<section id="activity-rows">')
    assert 'id="activity-fields" hx-swap-oob="true"' in html and message in html
    assert client.get(f"/activity/export.csv?{query}").status_code == 422


def test_a_one_day_range_and_a_good_range_list_their_entries(client, log, login_as):
    login_as("tech", "LHS")
    html = client.get("/activity?from=2026-03-02&to=2026-03-02").get_data(as_text=True)
    assert "Changed LHS-1000" in html and "HYPERLINK" not in html
    resp = client.get("/activity?from=2026-03-01&to=2026-03-31", headers=hx())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "HYPERLINK" in html and "Printed 1" not in html
    assert 'id="activity-fields" hx-swap-oob="true"' in html and "has-error" not in html, "old errors are cleared"


def test_csv_of_the_filtered_log(client, log, login_as):
    login_as("tech", "LHS")
    html = client.get("/activity?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    assert 'href="/activity/export.csv?from=2026-03-01&amp;to=2026-03-31"' in html
    resp = client.get("/activity/export.csv?from=2026-03-01&to=2026-03-31")
    assert resp.status_code == 200 and resp.mimetype == "text/csv" and resp.is_streamed
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = _csv(resp)
    assert [r["summary"] for r in rows] == ["'=HYPERLINK(1) LHS-1000", "Changed LHS-1000"], "newest first, guarded"
    assert rows[1] == {
        "at": "2026-03-02T15:00:00+00:00",
        "action": "asset.update",
        "summary": "Changed LHS-1000",
        "by": "boss@example.org",
        "via": "web",
        "asset_tag": "LHS-1000",
        "campus": "LHS",
        "before": "",
        "after": '{"status": "deployed"}',
    }
    assert [r["action"] for r in _csv(client.get("/activity/export.csv?action=labels.print"))] == ["labels.print"]


def test_admins_export_every_campus_and_others_cannot_export(client, log, login_as):
    login_as("admin")
    rows = _csv(client.get("/activity/export.csv?action=asset.update"))
    assert {r["asset_tag"] for r in rows} == {"LHS-1000", "JMS-2000"}
    login_as("viewer", "LHS")
    assert client.get("/activity/export.csv").status_code == 403


def test_export_needs_a_sign_in(client, log):
    resp = client.get("/activity/export.csv")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    with client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) >= 4
