"""Invites and password resets by email, through a real SMTP server (aiosmtpd on a free loopback port): what
arrives, where its link points, that a link works once and expires, and that /password/forgot tells nobody who has
a login."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import EmailLink, Job, LinkPurpose, MailLog, MailStatus, Role, User, utcnow
from tests import factories
from tests.mail_inbox import body, link_in, smtp_inbox

BASE = "http://rollcall.test"


@pytest.fixture
def inbox(app, monkeypatch):
    with smtp_inbox() as handler:
        monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{handler.port}")
        monkeypatch.setitem(app.config, "MAIL_FROM", "Rollcall <rollcall@mvusd.example>")
        monkeypatch.setitem(app.config, "MAIL_RETRY_DELAYS", (0, 0))
        # The browser tests' live server points the session's app at itself; links here come from this address.
        monkeypatch.setitem(app.config, "BASE_URL", BASE)
        yield handler


@pytest.fixture
def staff(app):
    with app.app_context():
        user = factories.make_user(Role.tech, "LHS", email="tech@mvusd.example")
        db.session.commit()
        return user.id


def test_an_invite_arrives_and_its_link_sets_a_password_once(app, client, inbox):
    with app.app_context():
        factories.make_campus("LHS")
        db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["users", "invite", "New.Aide@mvusd.example", "--role", "aide", "--campus", "LHS"]
    )
    assert result.exit_code == 0, result.output
    message = inbox.only()
    assert message["To"] == "new.aide@mvusd.example" and "rollcall@mvusd.example" in message["From"]
    assert "invited" in message["Subject"]
    link = link_in(message)
    assert link.startswith(f"{BASE}/invite/")
    path = link.removeprefix(BASE)
    page = client.get(path)
    assert page.status_code == 200 and "Welcome to Rollcall" in page.get_data(as_text=True)
    short = client.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422
    done = client.post(path, data={"password": "a long new password", "confirm": "a long new password"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/login")
    signed = client.post("/login", data={"email": "new.aide@mvusd.example", "password": "a long new password"})
    assert signed.status_code == 302
    again = app.test_client().get(path)
    assert again.status_code == 410 and "already used or has expired" in again.get_data(as_text=True)
    with app.app_context():
        log = db.session.scalars(sa.select(MailLog)).all()
        assert [(m.to_address, m.kind, m.status) for m in log] == [
            ("new.aide@mvusd.example", "invite", MailStatus.sent)
        ]


def test_inviting_without_mail_set_up_says_so(app):
    result = app.test_cli_runner().invoke(args=["users", "invite", "x@mvusd.example", "--role", "admin"])
    assert result.exit_code == 1 and "ROLLCALL_SMTP_URL" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "x@mvusd.example")) is None


def test_a_reset_link_comes_from_the_base_url_whatever_the_host_header(app, client, inbox, staff):
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    form = client.get("/password/forgot", headers=forged).get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', form).group(1)
    resp = client.post(
        "/password/forgot", data={"email": "TECH@mvusd.example", "csrf_token": token}, headers=forged, csrf=False
    )
    assert resp.status_code == 200 and "a link to choose a new password is on its way" in resp.get_data(as_text=True)
    message = inbox.only()
    link = link_in(message)
    assert link.startswith(f"{BASE}/password/reset/") and "evil" not in body(message)
    assert "60 minutes" in body(message)
    path = link.removeprefix(BASE)
    ok = client.post(path, data={"password": "another long password", "confirm": "another long password"})
    assert ok.status_code == 303
    assert (
        client.post("/login", data={"email": "tech@mvusd.example", "password": factories.PASSWORD}).status_code == 422
    )
    assert client.get(path).status_code == 410
    used = client.post(path, data={"password": "a third long password", "confirm": "a third long password"})
    assert used.status_code == 410
    with app.app_context():
        # The log says to whom, what and when, never the link.
        row = db.session.scalars(sa.select(MailLog)).one()
        token = path.rsplit("/", 1)[1]
        assert token not in f"{row.to_address} {row.kind} {row.subject} {row.error}"


def test_an_expired_reset_link_is_refused(app, client, inbox, staff):
    client.post("/password/forgot", data={"email": "tech@mvusd.example"})
    path = link_in(inbox.only()).removeprefix(BASE)
    with app.app_context():
        link = db.session.scalars(sa.select(EmailLink)).one()
        assert link.purpose is LinkPurpose.reset
        assert timedelta(minutes=59) < link.expires_at - link.created_at <= timedelta(hours=1)
        link.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    resp = client.post(path, data={"password": "another long password", "confirm": "another long password"})
    assert resp.status_code == 410 and "Mail me a new link" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, staff).check_password(factories.PASSWORD)


def test_forgot_answers_alike_for_known_and_unknown_emails(app, client, inbox, staff):
    known = client.post("/password/forgot", data={"email": "tech@mvusd.example"})
    unknown = client.post("/password/forgot", data={"email": "nobody@mvusd.example"})
    assert known.status_code == unknown.status_code == 200

    def strip(resp) -> str:
        """The page less the address typed and the page's CSRF token (signed with the time, so each differs)."""
        page = resp.get_data(as_text=True).replace("tech@mvusd.example", "E").replace("nobody@mvusd.example", "E")
        return re.sub(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{20,}", "CSRF", page)

    assert strip(known) == strip(unknown)
    # The same work behind both: one mail.send job each; only the known address gets mail.
    with app.app_context():
        jobs = db.session.scalars(sa.select(Job).where(Job.kind == "mail.send").order_by(Job.created_at)).all()
        assert [j.params["to"] for j in jobs] == ["tech@mvusd.example", "nobody@mvusd.example"]
        log = {m.to_address: m.status for m in db.session.scalars(sa.select(MailLog))}
        assert log == {"tech@mvusd.example": MailStatus.sent, "nobody@mvusd.example": MailStatus.skipped}
    assert [m["To"] for m in inbox.messages] == ["tech@mvusd.example"]


def test_a_busy_mail_server_is_tried_again(app, client, inbox, staff):
    inbox.refuse = 1
    client.post("/password/forgot", data={"email": "tech@mvusd.example"})
    message = inbox.only()
    with app.app_context():
        row = db.session.scalars(sa.select(MailLog)).one()
        assert (row.status, row.attempts) == (MailStatus.sent, 2)
        # The refused try's link was never mailed and does not work: one link, the mailed one.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailLink)) == 1
    assert client.get(link_in(message).removeprefix(BASE)).status_code == 200


def test_a_mail_server_that_stays_down_fails_the_job_with_the_reason(app, client, inbox, staff):
    inbox.refuse = 5
    client.post("/password/forgot", data={"email": "tech@mvusd.example"})
    assert inbox.messages == []
    with app.app_context():
        job = db.session.scalars(sa.select(Job).where(Job.kind == "mail.send")).one()
        assert job.status.value == "failed" and "answered 451" in job.error
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailLink)) == 0


def test_forgot_is_rate_limited_per_address(app, client, inbox, staff):
    statuses = [client.post("/password/forgot", data={"email": "tech@mvusd.example"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(inbox.messages) == 3


def test_a_disabled_login_gets_no_reset_mail(app, client, inbox, staff):
    with app.app_context():
        db.session.get(User, staff).active = False
        db.session.commit()
    assert client.post("/password/forgot", data={"email": "tech@mvusd.example"}).status_code == 200
    assert inbox.messages == []


@pytest.mark.parametrize("path", ["/password/reset/nope", "/invite/nope", "/password/reset/" + "x" * 300])
def test_a_made_up_link_is_refused(client, path):
    assert client.get(path).status_code == 410


def test_the_forgot_form_needs_an_email(client, inbox):
    resp = client.post("/password/forgot", data={"email": ""})
    assert resp.status_code == 422 and "Enter your email." in resp.get_data(as_text=True)


def test_the_sign_in_page_links_to_forgot_only_when_mail_is_set_up(app, client, monkeypatch):
    assert "Forgot your password?" not in client.get("/login").get_data(as_text=True)
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://127.0.0.1:25")
    assert "Forgot your password?" in client.get("/login").get_data(as_text=True)


def test_smtp_urls_are_read_as_documented():
    from app.integrations.mail import parse_smtp_url

    plain = parse_smtp_url("smtp://mailer:p%40ss@mail.mvusd.example:2525")
    assert (plain.host, plain.port, plain.username, plain.password) == ("mail.mvusd.example", 2525, "mailer", "p@ss")
    assert not plain.use_ssl and not plain.use_tls
    assert parse_smtp_url("smtps://mail.mvusd.example").port == 465 and parse_smtp_url("smtps://m.example").use_ssl
    assert parse_smtp_url("smtp://m.example:587?starttls=1").use_tls
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.example")
