"""The emails' HTML part in Chromium at phone (360 px) and desktop-mail (600 px) widths: nothing overflows
sideways and axe-core finds no serious or critical violation. Screenshots are kept for people to look at:
the folder is printed (run with ``-s``) and lives under pytest's temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from practiceweek.artifacts import RenderContext
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.browser import AXE
from tests.browser import axe as _axe
from tests.render_support import EVENTS_SEED, hostile, write

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

JOIN = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_test"


@pytest.fixture(scope="module")
def emails(tmp_path_factory):
    """Every email of the seed week with an event and of the hostile week, as HTML files."""
    folder = tmp_path_factory.mktemp("emails")
    out: dict[str, Path] = {}
    for loaded in (load(EVENTS_SEED), load(write(folder / "hostile-src", hostile()))):
        ctx = RenderContext(join_urls={e.id: JOIN for e in loaded.model.events})
        for pub in plan(loaded.model):
            if pub.channel == "email" and pub.day in ("mon", "wed"):
                name = f"{loaded.id}-{pub.day}-{pub.slot}"
                path = folder / f"{name}.html"
                path.write_text(render(loaded, pub, ctx).html or "", encoding="utf-8")
                out[name] = path
    print(f"\nemail screenshots: {folder}")
    return out


@pytest.mark.parametrize("width", [360, 600])
def test_email_fits_the_width_and_passes_axe(emails, browser, width):
    if not AXE.exists():
        pytest.skip("axe-core missing: run bash .ci/system-deps")
    assert len(emails) >= 5
    context = browser.new_context(viewport={"width": width, "height": 800}, java_script_enabled=True)
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    try:
        for name, path in emails.items():
            page.goto(path.as_uri())
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} is {overflow}px wider than {width}px"
            page.screenshot(path=str(path.with_name(f"{name}-{width}.png")), full_page=True)
            assert _axe(page) == [], name
            assert page.evaluate("typeof window.__pwned") == "undefined"
        assert external == []  # no web fonts or trackers fetched
    finally:
        context.close()
