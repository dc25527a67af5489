"""Headless Chromium helpers shared by the browser tests: where Chromium and axe-core are, an axe run
that keeps the serious and critical violations, and the Prefect UI's Resume form of a paused run (the
approval tests)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers import ROOT

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"


def axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.2 AA violations on ``page`` (a Playwright page)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
                                       nodes: v.nodes.map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


# --- the Resume form of a paused Prefect run (the approval tests) ------------------------------------------


def open_resume_form(page: Any, api: str, name: str, classic: bool) -> Any:
    """Find the paused run ``name`` in the Prefect UI's runs list and open its Resume form (a dialog): the
    new UI hides Resume in the ⋮ menu at the top right, the classic UI shows a Resume button there."""
    page.goto(f"{api.removesuffix('/api')}{'' if classic else '/v2'}/runs")
    page.get_by_role("link", name=re.compile("^" + re.escape(name))).first.click()
    if classic:
        page.get_by_role("button", name="Resume").first.click()
    else:
        page.get_by_role("button", name="Open menu").first.click()
        page.get_by_role("menuitem", name="Resume").click()
    return page.get_by_role("dialog")


def form_field(dialog: Any, label: str, classic: bool) -> Any:
    """A text field of the Resume form, by its label."""
    if classic:  # the classic form's labels are not tied to their inputs
        return dialog.locator(".schema-form-property").filter(has_text=label).locator("textarea")
    return dialog.get_by_label(label)


def choose_decision(page: Any, dialog: Any, decision: str, classic: bool) -> None:
    """Pick ``decision`` (Approve or Reject) in the form's Decision select."""
    if classic:  # its select opens from the keyboard
        dialog.locator(".schema-form-property").filter(has_text="Decision").locator("button").last.focus()
        page.keyboard.press("ArrowDown")
    else:
        dialog.get_by_role("button", name="Select Decision").click()
    page.get_by_role("option", name=decision).click()


def submit_until_resumed(page: Any, dialog: Any, classic: bool, paused: Callable[[], object],
                         shot: Path) -> None:
    """Submit the filled form until the run is no longer ``paused()``: a busy SQLite-backed server may
    answer 503, and the form then stays open (three submissions at most). Then leave the Prefect UI for a
    blank page: a run's page left open keeps redrawing (its run graph) and polling, which cost this suite
    more than a core for as long as a test then waited for the week to go out."""
    submit = dialog.get_by_role("button", name="Submit" if classic else "Resume")
    page.screenshot(path=str(shot))
    for _ in range(3):
        submit.click()
        deadline = time.time() + 30
        while time.time() < deadline and paused():
            time.sleep(0.5)
        if not paused():
            page.goto("about:blank")
            return
        page.screenshot(path=str(shot.with_suffix(".retry.png")))
    raise AssertionError(f"the run is still paused after three submissions of its form (see {shot})")
