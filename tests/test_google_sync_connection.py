"""The Google connection: the real client libraries against the fake Directory API, each failure in plain words,
`rollcall google test`, and the admin page's connection test."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from app.extensions import db
from app.integrations import google_directory as gd
from app.models import GoogleSyncState, Role
from app.services import google_sync
from tests.conftest import hx
from tests.fake_directory import READ, device
from tests.google_world import ADMIN, Google, running_google

pytestmark = pytest.mark.usefixtures("google")


@pytest.fixture
def google(app, tmp_path, monkeypatch) -> Iterator[Google]:
    with running_google(app, tmp_path, monkeypatch) as world:
        yield world


def _settings(google, **changes) -> gd.Settings:
    base = {
        "credentials": str(google.key_file),
        "admin_email": ADMIN,
        "api_endpoint": google.fake.url,
        "backoff": 0.01,
    }
    return gd.Settings(**{**base, **changes})


def test_connected_reads_through_the_token_endpoint_with_a_signed_jwt(google):
    google.fake.add_devices([device(1)])
    result = gd.check(_settings(google))
    assert result.ok, result.message
    assert "Connected" in result.message and ADMIN in result.message
    grant = google.fake.token_grants[-1]
    # The assertion the fake verified: signed with the key file's key (its id in the header), for the admin.
    assert grant["header"]["kid"] == google.account.key_id
    assert grant["iss"] == google.account.email and grant["sub"] == ADMIN and grant["scope"] == READ
    listed = google.fake.lists()[-1].query
    assert listed["projection"] == "FULL" and listed["maxResults"] == "1"
    assert listed["fields"] == gd.LIST_FIELDS


def test_missing_settings_say_which(google):
    result = gd.check(gd.Settings(credentials="", admin_email=""))
    assert not result.ok and result.kind == gd.Problem.NOT_CONFIGURED
    assert "ROLLCALL_GOOGLE_CREDENTIALS and ROLLCALL_GOOGLE_ADMIN_EMAIL" in result.message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot be read"),
        ("not json {", "is not JSON"),
        (json.dumps({"installed": {"client_id": "x"}}), "not a service account key"),
        (json.dumps({"type": "service_account", "client_email": "a@b"}), "lacks private_key, token_uri"),
    ],
)
def test_unreadable_key_files(google, tmp_path, content, words):
    path = tmp_path / "bad-key.json"
    if content is not None:
        path.write_text(content)
    result = gd.check(_settings(google, credentials=str(path)))
    assert not result.ok and result.kind == gd.Problem.KEY
    assert words in result.message and str(path) in result.message


def test_a_key_google_does_not_know(google, tmp_path):
    # A key made for the same account but not the one Google holds: its signature does not verify.
    other = type(google.account).generate()
    info = json.loads(google.key_file.read_text())
    info["private_key"] = other.private_pem
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(info))
    result = gd.check(_settings(google, credentials=str(forged)))
    assert not result.ok and result.kind == gd.Problem.KEY
    assert "create a new key" in result.message and "Invalid JWT Signature" in result.google


def test_delegation_refused(google):
    google.fake.delegation[google.account.client_id] = set()
    result = gd.check(_settings(google))
    assert not result.ok and result.kind == gd.Problem.DELEGATION
    assert google.account.client_id in result.message and "domain-wide delegation" in result.message
    assert "unauthorized_client" in result.google


def test_write_scope_missing_when_write_back_is_on(google):
    google.fake.delegation[google.account.client_id] = {READ}
    assert gd.check(_settings(google)).ok
    result = gd.check(_settings(google), write=True)
    assert not result.ok and result.kind == gd.Problem.SCOPE and result.write_ok is False
    assert "Reading works" in result.message and gd.WRITE_SCOPE in result.message


def test_api_disabled(google):
    google.fake.api_enabled = False
    result = gd.check(_settings(google))
    assert not result.ok and result.kind == gd.Problem.API_DISABLED
    assert "Admin SDK API is turned off" in result.message and "rollcall-test" in result.message
    assert "has not been used in project" in result.google


def test_admin_unknown_and_not_an_admin(google):
    unknown = gd.check(_settings(google, admin_email="nobody@mvusd.example"))
    assert unknown.kind == gd.Problem.ADMIN and "does not know nobody@mvusd.example" in unknown.message
    google.fake.users.add("teacher@mvusd.example")
    teacher = gd.check(_settings(google, admin_email="teacher@mvusd.example"))
    assert teacher.kind == gd.Problem.ADMIN and "must be an administrator" in teacher.message


def test_google_unreachable(google):
    from tests.servers import free_port

    result = gd.check(_settings(google, api_endpoint=f"http://127.0.0.1:{free_port()}", retries=1))
    # The token endpoint (the key file's) answers; the API's address does not.
    assert not result.ok and result.kind == gd.Problem.UNREACHABLE
    assert "could not be reached" in result.message


def test_429_and_500_are_tried_again_with_backoff(google):
    google.fake.add_devices(device(n) for n in range(5))
    google.fake.fail_next(429)
    google.fake.fail_next(500)
    client = gd.Directory(_settings(google))
    assert len(list(client.devices())) == 5
    assert client.retried == 2 and len(google.fake.lists()) == 3


def test_errors_that_persist_fail_with_googles_words(google):
    google.fake.fail_next(503, times=4)
    client = gd.Directory(_settings(google, retries=3))
    with pytest.raises(gd.GoogleError) as caught:
        client.page()
    assert caught.value.kind == gd.Problem.UNREACHABLE and caught.value.google == "Injected failure."
    assert len(google.fake.lists()) == 4


# --- the command line ----------------------------------------------------------------------------------------


def test_cli_google_test_ok_and_failing(app, google):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["google", "test"])
    assert ok.exit_code == 0, ok.output
    assert "Connected" in ok.output
    google.fake.api_enabled = False
    bad = runner.invoke(args=["google", "test"])
    assert bad.exit_code == 1
    assert "Admin SDK API is turned off" in bad.output and "Google said:" in bad.output


def test_cli_google_test_checks_the_write_scope_once_write_back_is_on(app, google):
    google.fake.delegation[google.account.client_id] = {READ}
    with app.app_context():
        google_sync.state().write_back = True
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["google", "test"])
    assert result.exit_code == 1 and "write-back is switched on" in result.output


# --- the admin page ------------------------------------------------------------------------------------------


def test_page_shows_the_settings_and_tests_the_connection(client, login_as, google):
    login_as(Role.admin)
    page = client.get("/google-sync")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert str(google.key_file) in html and ADMIN in html and "Test the connection" in html
    fragment = client.post("/google-sync/test", headers=hx())
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and body.lstrip().startswith('<div id="google-check"')
    assert "data-check-ok" in body
    google.fake.api_enabled = False
    plain = client.post("/google-sync/test")
    html = plain.get_data(as_text=True)
    assert plain.status_code == 200 and "<h1>" in html
    assert 'data-check-kind="api_disabled"' in html and "Admin SDK API is turned off" in html


@pytest.mark.parametrize("role", [Role.tech, Role.librarian, Role.aide, Role.viewer])
def test_page_is_for_admins_only(client, login_as, role):
    login_as(role, "LHS")
    assert client.get("/google-sync").status_code == 403
    assert client.post("/google-sync/test").status_code == 403
    assert client.post("/google-sync/run").status_code == 403
    assert client.post("/google-sync/interval", data={"interval": "30"}).status_code == 403


def test_campus_admins_may_not_sync_the_district(client, login_as):
    login_as(Role.admin, "LHS")
    assert client.get("/google-sync").status_code == 403
    assert client.post("/google-sync/run").status_code == 403
    assert client.get("/google-sync/runs/1").status_code == 403


def test_signed_out_goes_to_sign_in(client):
    assert client.get("/google-sync").status_code in (302, 303)


def test_interval_is_saved_and_checked(app, client, login_as):
    login_as(Role.admin)
    assert client.post("/google-sync/interval", data={"interval": "30"}).status_code == 303
    with app.app_context():
        assert db.session.get(GoogleSyncState, google_sync.STATE_ID).interval_minutes == 30
    bad = client.post("/google-sync/interval", data={"interval": "7"})
    assert bad.status_code == 422 and "Choose one of the intervals" in bad.get_data(as_text=True)
