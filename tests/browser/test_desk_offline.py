"""The loaner desk on a 390 px phone, on and off line: it decides like the server, and says loudly, with the
student's name, what the server refused once the signal is back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Asset, AssetStatus, Campus, Loan, Person, Role, Via
from app.services import loans
from tests import factories
from tests.browser.conftest import sign_in, wait_until
from tests.browser.test_loans_browser import PEOPLE_CACHED, open_loans, wait_for

# How many desk events wait in this phone's outbox.
WAITING = """async () => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open('rollcall');
    r.onsuccess = () => ok(r.result);
    r.onerror = no;
  });
  return await new Promise((ok) => {
    const r = db.transaction('outbox').objectStore('outbox').count();
    r.onsuccess = () => ok(r.result);
  });
}"""


@pytest.fixture
def desk(app, district):
    """LHS's pool: two loaners and a missing device; Zoe Martinez (from the district), Ana Ruiz and Ben Okafor."""
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        factories.make_asset(lhs, asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner)
        factories.make_asset(lhs, asset_tag="LHS-L02", serial="LOANER0002", status=AssetStatus.loaner)
        factories.make_asset(lhs, asset_tag="LHS-L09", serial="LOANER0009", status=AssetStatus.missing)
        factories.make_person(lhs, "Ana Ruiz", external_id="LHS100007")
        factories.make_person(lhs, "Ben Okafor", external_id="LHS100008")
        db.session.commit()
    return district


def lend_online(app, asset_tag: str, external_id: str) -> None:
    """Another desk lends a loaner on the server."""
    with app.app_context():
        by = factories.make_user(Role.librarian, "LHS")
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == asset_tag))
        person = db.session.scalar(sa.select(Person).where(Person.external_id == external_id))
        loans.check_out(asset, person, by=by, due=None, via=Via.web)
        db.session.commit()


def open_desk(phone, staff_user, role: str = "librarian"):
    email, password = staff_user(role, "LHS")
    sign_in(phone, email, password, next_path="/loans")
    wait_until(phone, PEOPLE_CACHED)
    return phone.locator("#desk-code"), phone.locator("#desk-panel")


def enter(field, code: str) -> None:
    field.fill(code)
    field.press("Enter")


def test_offline_checkout_of_a_lent_loaner_is_refused_with_the_name(app, phone, phone_context, desk, staff_user):
    lend_online(app, "LHS-L01", "LHS100001")
    field, panel = open_desk(phone, staff_user)
    phone_context.set_offline(True)
    enter(field, "LHS100007")
    expect(panel).to_contain_text("Now scan the loaner for Ana Ruiz.")
    enter(field, "LOANER0001")
    expect(phone.locator("#desk-error")).to_have_text("LHS-L01 is already on loan to Zoe Martinez; check it in first.")
    assert phone.evaluate(WAITING) == 0, "nothing the server would refuse is saved to send"
    # The free one is lent, and the phone then knows it is out: lending it again is refused too.
    enter(field, "LHS-L02")
    expect(panel).to_have_text("Lend LHS-L02 to Ana Ruiz. Saved on this phone — sends when online.")
    enter(field, "LHS100008")
    enter(field, "loaner0002")
    expect(phone.locator("#desk-error")).to_have_text("LHS-L02 is already on loan to Ana Ruiz; check it in first.")
    assert phone.evaluate(WAITING) == 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_second_id_switches_and_lower_case_ids_match(app, phone, phone_context, desk, staff_user, offline):
    field, panel = open_desk(phone, staff_user)
    phone_context.set_offline(offline)
    enter(field, "lhs100001")
    expect(panel).to_contain_text("Now scan the loaner for Zoe")
    expect(phone.locator("#desk-person")).to_have_value("LHS100001")
    enter(field, "lhs100007")
    expect(panel).to_contain_text("Switched to Ana Ruiz. Now scan the loaner.")
    expect(phone.locator("#desk-person")).to_have_value("LHS100007")
    enter(field, "LOANER0001")
    expect(panel).to_contain_text("LHS-L01 to Ana Ruiz")
    if offline:
        expect(panel).to_contain_text("Saved on this phone — sends when online.")
        expect(panel).not_to_contain_text("Recorded")
        phone_context.set_offline(False)
        phone.evaluate("window.dispatchEvent(new Event('online'))")
    wait_for(lambda: open_loans(app) == [("LHS-L01", "LHS100007")])


def test_offline_conflict_is_refused_loudly_with_the_students_name(app, phone, phone_context, desk, staff_user):
    field, panel = open_desk(phone, staff_user)
    phone_context.set_offline(True)
    enter(field, "LHS100007")
    enter(field, "LHS-L02")
    expect(panel).to_have_text("Lend LHS-L02 to Ana Ruiz. Saved on this phone — sends when online.")
    expect(panel).to_have_class("desk-panel is-done")
    # Meanwhile the same loaner is lent on the server, to Zoe.
    lend_online(app, "LHS-L02", "LHS100001")

    phone_context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    alert = phone.locator("#desk-alert")
    expect(alert).to_contain_text("Not lent: LHS-L02 to Ana Ruiz")
    expect(alert).to_contain_text("LHS-L02 is already on loan to Zoe Martinez; check it in first.")
    expect(alert).to_contain_text("Take the loaner back from Ana Ruiz and lend another.")
    expect(alert).to_have_attribute("role", "alert")
    expect(panel).to_have_class("desk-panel is-alert")
    expect(panel).not_to_contain_text("Saved on this phone")
    expect(panel).to_have_attribute("data-sound", "played")
    expect(phone.locator(".offline-event.rejected")).to_contain_text("Lend LHS-L02 to Ana Ruiz (LHS100007)")
    assert open_loans(app) == [("LHS-L02", "LHS100001")]
    # Said loudly once: a reload lists it, without raising the alarm again.
    phone.reload()
    expect(phone.locator(".offline-event.rejected")).to_contain_text("Lend LHS-L02 to Ana Ruiz (LHS100007)")
    expect(phone.locator("#desk-alert")).to_have_count(0)


def test_two_phones_lending_one_loaner_offline(app, browser, live_server, phone, phone_context, desk, staff_user):
    field, panel = open_desk(phone, staff_user)
    other_context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    try:
        other = other_context.new_page()
        other_field, other_panel = open_desk(other, staff_user)
        phone_context.set_offline(True)
        other_context.set_offline(True)
        enter(field, "LHS100007")
        enter(field, "LHS-L01")
        expect(panel).to_contain_text("Saved on this phone")
        enter(other_field, "LHS100008")
        enter(other_field, "LHS-L01")
        expect(other_panel).to_contain_text("Saved on this phone")
        phone_context.set_offline(False)
        phone.evaluate("window.dispatchEvent(new Event('online'))")
        wait_for(lambda: open_loans(app) == [("LHS-L01", "LHS100007")])
        other_context.set_offline(False)
        other.evaluate("window.dispatchEvent(new Event('online'))")
        expect(other.locator("#desk-alert")).to_contain_text("Take the loaner back from Ben Okafor and lend another.")
        expect(other.locator("#desk-alert")).to_contain_text("already on loan to Ana Ruiz")
    finally:
        other_context.close()


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_missing_device_at_the_desk_is_loud(app, phone, phone_context, desk, staff_user, offline):
    field, panel = open_desk(phone, staff_user, role="tech")
    phone_context.set_offline(offline)
    enter(field, "LHS100001")
    enter(field, "loaner0009")
    alert = phone.locator("#desk-alert")
    expect(alert).to_contain_text("LHS-L09 was reported missing — found here")
    expect(alert).to_contain_text("It cannot be lent while it is marked missing.")
    expect(panel).to_have_attribute("data-sound", "played")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Loan)) == 0
    phone_context.set_offline(False)
    alert.get_by_role("button", name="Mark found").click()

    def found() -> bool:
        with app.app_context():
            status = db.session.scalar(sa.select(Asset.status).where(Asset.asset_tag == "LHS-L09"))
            db.session.remove()
            return status is not AssetStatus.missing

    wait_for(found)
