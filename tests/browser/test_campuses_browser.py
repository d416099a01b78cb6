"""Setting up a campus on a phone: add it, add its rooms one and many at a time, take a room out of use."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_phone_admin_sets_up_a_campus_and_its_rooms(phone, district, staff_user):
    email, password = staff_user("admin")
    sign_in(phone, email, password)
    phone.get_by_label("Account").click()
    phone.get_by_role("link", name="Campuses and rooms").click()
    expect(phone.locator("#campuses")).to_contain_text("Lincoln High")
    phone.get_by_role("link", name="Add a campus").click()

    phone.get_by_label("Code").fill("elm-k8")
    phone.get_by_label("Name").fill("Elm K-8")
    phone.get_by_label("Time zone").select_option("America/Chicago")
    phone.get_by_label("School day ends").fill("14:45")
    phone.get_by_label("Loaners are due after (days)").fill("-2")
    phone.get_by_role("button", name="Add campus").click()
    expect(phone.locator("#loan_days-error")).to_have_text("Enter 0 to 365 days.")
    expect(phone.get_by_label("Name")).to_have_value("Elm K-8")  # nothing typed is lost
    phone.get_by_label("Loaners are due after (days)").fill("1")
    phone.get_by_role("button", name="Add campus").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Elm K-8")
    expect(phone.locator(".flash")).to_contain_text("Now add its rooms.")
    expect(phone.get_by_label("Time zone")).to_have_value("America/Chicago")

    # One room: the section updates in place (htmx), and the code takes the campus prefix.
    campus_url = phone.url
    rooms = phone.locator("#rooms")
    rooms.get_by_label("Code").fill("117")
    rooms.get_by_label("Name").fill("Science lab")
    rooms.get_by_role("button", name="Add room").click()
    expect(rooms.get_by_role("status")).to_have_text("Added ELM-K8-117.")
    expect(phone.locator("#room-list")).to_contain_text("Science lab")
    assert phone.url == campus_url
    expect(rooms.get_by_label("Code")).to_have_value("")

    # Many at once: a bad line is named, nothing is added, and the text stays to be fixed.
    rooms.get_by_text("Add many rooms at once").click()
    lines = rooms.get_by_label("Rooms, one per line")
    lines.fill("LIB, Library, library\nGYM, Gym, gymnasium")
    rooms.get_by_role("button", name="Add these rooms").click()
    expect(phone.locator("#lines-error")).to_contain_text("Line 2: 'gymnasium' is not a kind of room")
    expect(phone.locator("#room-list .asset-row")).to_have_count(1)
    expect(rooms.get_by_label("Rooms, one per line")).to_have_value("LIB, Library, library\nGYM, Gym, gymnasium")
    rooms.get_by_label("Rooms, one per line").fill("LIB, Library, library\nGYM, Gym, office")
    rooms.get_by_role("button", name="Add these rooms").click()
    expect(rooms.get_by_role("status")).to_have_text("Added 2 rooms.")
    expect(phone.locator("#room-list .asset-row")).to_have_count(3)

    phone.get_by_role("link", name="ELM-K8-GYM").click()
    phone.get_by_label("In use (shown on the scan page, in audits and on labels)").uncheck()
    phone.get_by_role("button", name="Save").click()
    expect(phone.locator("#room-ELM-K8-GYM")).to_contain_text("not in use")
    expect(phone.locator(".flash")).to_have_text("Saved ELM-K8-GYM.")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
