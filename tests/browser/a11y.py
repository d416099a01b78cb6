"""axe-core in the page under test: run it, keep the serious and critical violations, say them readably."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.conftest import wait_until

AXE_VERSION = "4.14.1"
AXE = Path(__file__).parent / "vendor" / f"axe-core-{AXE_VERSION}.min.js"
# What fails a test; A11Y_IMPACTS=minor,moderate,serious,critical shows everything axe finds, for a look around.
BLOCKING = tuple(os.environ.get("A11Y_IMPACTS", "serious,critical").split(","))

# WCAG 2.0-2.2 A and AA (2.2 adds the 24 px target size), and axe's best practices (landmarks, headings).
RUN_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}
}


def inject_axe(page: Page) -> None:
    """Load axe into the page once.

    The source goes in through page.evaluate, which the DevTools protocol runs outside the page's CSP, so the
    page is tested under the very policy it is served with (an injected <script> would need bypass_csp).
    """
    if page.evaluate("typeof window.axe !== 'undefined'"):
        return
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    assert page.evaluate("typeof window.axe.run") == "function"


def violations(page: Page, include: str | None = None) -> list[dict]:
    """axe's serious and critical violations of the page as it is now (or only of the `include` selector)."""
    inject_axe(page)
    found = page.evaluate(
        "async ([include, options]) => (await axe.run(include || document, options)).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,"
        " nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))}))",
        [include, RUN_OPTIONS],
    )
    return [v for v in found if v["impact"] in BLOCKING]


def describe(found: list[dict]) -> str:
    """One paragraph per violation: id, impact, help, then each offending element and why."""
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:10]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"  {' > '.join(map(str, node['target']))}: {summary[:300]}")
    return "\n".join(lines)


def assert_no_serious_violations(page: Page, where: str = "") -> None:
    """Fail with the ids, targets and help of every serious or critical axe violation on the page."""
    # Content htmx is fetching or swapping is dimmed on purpose (.htmx-request .results): judge it settled.
    wait_until(page, "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
    found = violations(page)
    label = where or page.url
    assert not found, f"axe found serious or critical violations on {label}:\n{describe(found)}"
