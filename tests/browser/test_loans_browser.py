"""The loaner desk in a real browser: a keyboard-wedge scanner at a desktop, and a phone that loses its signal."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Activity, AssetStatus, Campus, Loan, Person, Role, Via
from app.services import loans
from tests import factories
from tests.browser.conftest import sign_in, wait_for, wait_until


@pytest.fixture
def pool(app, district):
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        factories.make_asset(lhs, asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner)
        factories.make_asset(lhs, asset_tag="LHS-L02", serial="LOANER0002", status=AssetStatus.loaner)
        factories.make_person(lhs, "Ada Byron", external_id="LHS100009")
        db.session.commit()
    return district


def wedge(page, code: str) -> None:
    """What a barcode scanner does: type the code fast into whatever has focus, then Enter."""
    page.keyboard.type(code, delay=4)
    page.keyboard.press("Enter")


def open_loans(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Loan).where(Loan.returned_at.is_(None)).order_by(Loan.id)).all()
        out = [(loan.asset.asset_tag, loan.person.external_id) for loan in rows]
        db.session.remove()
        return out


def test_wedge_scanner_checkout_and_checkin(desktop, app, pool, staff_user):
    email, password = staff_user("librarian", "LHS")
    sign_in(desktop, email, password, next_path="/loans")
    field = desktop.locator("#desk-code")
    expect(field).to_be_focused()
    panel = desktop.locator("#desk-panel")

    # A student ID, then at once the loaner: the second scan waits its turn and goes out with the picked person.
    wedge(desktop, "LHS100001")
    wedge(desktop, "LOANER0001")
    expect(panel).to_contain_text("Lent LHS-L01 to Zoe Martinez, due")
    expect(desktop.locator("#loan-results")).to_contain_text("LHS-L01")
    expect(field).to_be_focused()
    expect(field).to_have_value("")
    assert open_loans(app) == [("LHS-L01", "LHS100001")]

    # A refusal is said on the desk, and the cursor is back for the next scan.
    wedge(desktop, "LHS100009")
    expect(panel).to_contain_text("Now scan the loaner for Ada")
    wedge(desktop, "LHS-L01")
    expect(desktop.locator("#desk-error")).to_have_text(
        "LHS-L01 is already on loan to Zoe Martinez; check it in first."
    )
    expect(field).to_be_focused()
    desktop.get_by_role("button", name="Cancel").click()
    expect(panel).to_contain_text("Ready.")

    # Check-in by scanning the device alone, with the condition picked first; the cursor returns to the field.
    desktop.get_by_label("damaged").check()
    expect(field).to_be_focused()
    wedge(desktop, "loaner0001")
    expect(panel).to_contain_text("Zoe Martinez returned LHS-L01 (damaged)")
    expect(desktop.get_by_label("good")).to_be_checked()
    expect(desktop.locator("#loan-results")).to_contain_text("No loaners are out.")
    assert open_loans(app) == []

    # The receipt of the loan prints from its own page.
    with app.app_context():
        loan_id = db.session.scalar(sa.select(Loan.id))
    desktop.goto(f"/loans/{loan_id}/receipt")
    expect(desktop.get_by_role("heading", name="Loaner receipt")).to_be_visible()
    expect(desktop.locator("#receipt")).to_contain_text("LOANER0001")


# True once the desk has stored its campus's pack and app.js the signed-in user, in the outbox's database.
PEOPLE_CACHED = """async () => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open('rollcall');
    r.onsuccess = () => ok(r.result);
    r.onerror = no;
  });
  const read = (key) => new Promise((ok) => {
    const r = db.transaction('meta').objectStore('meta').get(key);
    r.onsuccess = () => ok(r.result);
  });
  const cached = await read('desk-pack:LHS');
  return !!(cached && cached.pack && cached.pack.people.length && await read('user'));
}"""


def test_phone_offline_checkout_syncs_once(phone, phone_context, app, pool, staff_user):
    email, password = staff_user("librarian", "LHS")
    with app.app_context():
        # Another desk lent LHS-L02 a moment ago; this phone does not know.
        by = factories.make_user(Role.librarian, "LHS")
        asset = db.session.scalar(sa.select(loans.Asset).where(loans.Asset.asset_tag == "LHS-L02"))
        ada = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100009"))
        db.session.commit()
    with phone.expect_response(lambda r: "/loans/pack.json" in r.url and r.ok):
        sign_in(phone, email, password, next_path="/loans")
    # The people list is on the phone before the signal goes.
    wait_until(phone, PEOPLE_CACHED)
    with app.app_context():
        loans.check_out(db.session.merge(asset), db.session.merge(ada), by=db.session.merge(by), due=None, via=Via.web)
        db.session.commit()

    phone_context.set_offline(True)
    field = phone.locator("#desk-code")
    panel = phone.locator("#desk-panel")
    field.fill("zoe")
    field.press("Enter")
    expect(panel).to_contain_text("Now scan the loaner for Zoe")
    field.fill("LOANER0001")
    field.press("Enter")
    expect(panel).to_contain_text("Lend LHS-L01 to Zoe Martinez. Saved on this phone — sends when online.")
    field.fill("LHS100001")
    field.press("Enter")
    field.fill("LHS-L02")
    field.press("Enter")
    offline = phone.locator("#desk-offline")
    expect(offline).to_be_visible()
    expect(phone.locator("#desk-offline-list li")).to_have_count(2)
    expect(phone.locator("#pending-badge")).to_have_text("2")
    assert open_loans(app) == [("LHS-L02", "LHS100009")], "nothing reaches the server without a signal"

    phone_context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    wait_for(lambda: ("LHS-L01", "LHS100001") in open_loans(app))
    # The refused one comes back with its reason, on the desk.
    expect(phone.locator(".offline-event.rejected")).to_contain_text(
        "Lend LHS-L02 to Zoe Martinez (LHS100001) — not recorded: "
        "LHS-L02 is already on loan to Ada Byron; check it in first."
    )
    expect(phone.locator("#pending-badge")).to_be_hidden()
    # Reloading flushes again: still exactly one loan from this phone.
    phone.reload()
    expect(phone.locator("#desk-code")).to_be_focused()
    assert open_loans(app) == [("LHS-L02", "LHS100009"), ("LHS-L01", "LHS100001")]
    with app.app_context():
        synced = db.session.scalars(
            sa.select(Activity).where(Activity.action == "loan.checkout", Activity.via == Via.sync)
        ).all()
        assert len(synced) == 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
