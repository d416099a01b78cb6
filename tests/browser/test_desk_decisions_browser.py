"""The desk's decisions on the phone: static/js/desk.js runs every case of tests/cases/desk_decisions.json over the
desk pack the server serves, and must say what the server says (tests/test_desk_decisions.py)."""

from __future__ import annotations

import json

import pytest

from app.extensions import db
from tests import desk_world
from tests.browser.conftest import sign_in

STATE = desk_world.CASES["state"]
CASES = desk_world.CASES["cases"]

# In the page: the desk's module, the rules the page is served and the pack of its campus; each case decided.
# A device of another campus reaches the phone only through a kept offline pack: it is passed as `elsewhere`.
RUN = """async ({cases, others}) => {
  const desk = await import('/static/js/desk.js');
  const rules = await desk.loadRules(document.getElementById('desk-form').dataset.rulesUrl);
  const pack = await (await fetch(document.getElementById('desk-form').dataset.packUrl)).json();
  return cases.map((c) => {
    const elsewhere = desk.findDevice(others, c.code);
    const entry = {code: c.code, picked: !!c.picked, selected: c.selected || ''};
    const outcome = desk.decideScan(rules, pack, entry, elsewhere);
    return {name: c.name, rule: outcome.rule, got: {kind: outcome.kind, message: outcome.message}};
  });
}"""


@pytest.fixture
def world(app):
    with app.app_context():
        desk_world.seed()
        db.session.commit()


def test_the_phone_decides_every_case_like_the_server(phone, world, staff_user):
    email, password = staff_user("librarian", STATE["campus"])
    sign_in(phone, email, password, next_path=f"/loans?campus={STATE['campus']}")
    others = [d for d in STATE["devices"] if d["campus"] != STATE["campus"]]
    results = phone.evaluate(RUN, {"cases": CASES, "others": others})
    wrong = [
        {"case": r["name"], "got": r["got"], "expected": c["expect"]}
        for r, c in zip(results, CASES, strict=True)
        if r["got"] != c["expect"]
    ]
    assert not wrong, json.dumps(wrong, indent=1, ensure_ascii=False)
    rules = json.loads((desk_world.Path(desk_world.__file__).parent.parent / "static" / "desk-rules.json").read_text())
    assert {r["rule"] for r in results} == {r["id"] for r in rules["rules"]}, "every rule is reached on the phone too"
