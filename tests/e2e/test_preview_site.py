"""The week preview in Chromium: offline, accessible (axe-core), contrast toggle, no campaign script runs."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import re
import threading

import pytest
from icalendar import Calendar

from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import preview
from tests.browser import AXE
from tests.browser import axe as _axe
from tests.helpers import ROOT
from tests.render_support import EVENTS_SEED, hostile, write

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    base = tmp_path_factory.mktemp("preview")
    seed = load(EVENTS_SEED)
    bad = load(write(base / "hostile-src", hostile()))
    out = {"seed": (seed, base / "seed"), "hostile": (bad, base / "hostile")}
    for loaded, folder in out.values():
        preview(loaded, folder)
    return out


@pytest.fixture(scope="module")
def server(sites):
    root = next(iter(sites.values()))[1].parent
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture()
def page(browser):
    # bypass_csp: the pages' own CSP would also stop injected script; the tests prove escaping alone
    # keeps campaign text inert, and it lets axe-core be injected.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    external: list[str] = []
    pg.on("request", lambda r: external.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:"))
          else None)
    pg.external_requests = external  # type: ignore[attr-defined]
    yield pg
    context.close()


def test_folder_holds_every_exact_artifact(sites):
    loaded, folder = sites["seed"]
    pubs = plan(loaded.model)
    for p in pubs:
        stem = folder / "files" / p.day / f"{p.channel}-{p.slot}"
        if p.channel == "email":
            assert stem.with_suffix(".eml").stat().st_size > 1000
        elif p.channel == "poster":  # the day's poster, or the whole week's (week.pdf) for an announcement
            name = "week" if p.day not in ("mon", "tue", "wed", "thu", "fri") else p.day
            assert (stem / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
            assert (stem / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        elif p.channel == "teams_event":
            Calendar.from_ical(stem.with_suffix(".ics").read_bytes())
            assert json.loads(stem.with_suffix(".json").read_text())["isOnlineMeeting"] is True
        elif p.channel in ("x", "bluesky", "mastodon"):
            posts = json.loads(stem.with_suffix(".json").read_text())
            assert posts and all(post["length"] <= post["limit"] for post in posts)
            assert posts[0]["image"]["alt"]
        elif p.channel == "teams_channel":
            assert json.loads(stem.with_suffix(".json").read_text())["type"] == "message"
        elif p.channel == "web_page":
            assert (stem / "index.html").exists()
    pages = {f.name for f in folder.glob("*.html")}
    assert {f"{k}.html" for k in ("mon", "tue", "wed", "thu", "fri")} <= pages
    html = (folder / "index.html").read_text()
    assert "cdn" not in html.lower() and "https://" not in html.split("<main", 1)[0]


def test_calendar_and_table_show_every_date_in_time_order(sites):
    loaded, folder = sites["seed"]
    html = (folder / "index.html").read_text()
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    when = re.findall(r"<tr><td>([^<]+)</td>", table)
    assert {w.rsplit(" ", 1)[1] for w in when} == {"GMT"}  # November: every time is on GMT, and says so
    shown = [dt.datetime.strptime(f"2024 {w.rsplit(' ', 1)[0]}", "%Y %a %d %b %H:%M") for w in when]
    pubs = plan(loaded.model)
    assert len(shown) == len(pubs) and shown == sorted(shown)
    assert shown[0] == dt.datetime(2024, 11, 20, 10, 0)  # the Teams meeting created a week ahead comes first
    calendar = html.split('class="calendar"', 1)[1].split("</ul>", 1)[0]
    pages = re.findall(r'<h3><a href="([^"]+)"', calendar)
    assert pages == ["wed-20-nov.html", "fri-22-nov.html", "mon.html", "tue.html", "wed.html", "thu.html",
                     "fri.html"]
    assert "Save the date" in (folder / "wed-20-nov.html").read_text()
    wednesday = calendar.split('href="wed.html"', 1)[1].split("<h3>", 1)[0]  # the session, on its own day
    session = "An introduction to the impact of domestic abuse on children and young people"
    assert f"Webinar: {session}</strong>, 1:30pm to 3pm GMT" in wednesday


PAGES = ["index.html", "wed.html", "mon.html", "files/mon/web_page-daily/index.html",
         "files/mon/email-daily.html", "files/wed/email-daily.html"]


@pytest.mark.parametrize("rel", PAGES)
def test_no_campaign_script_runs(server, page, rel):
    page.goto(f"{server}/hostile/{rel}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(50)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # emails are shown in iframes with sandbox="" (no scripts at all); their files are checked directly
    assert all(f.get_attribute("sandbox") == "" for f in page.locator("iframe").element_handles())
    assert "<script>window.__pwned=1</script>" in page.inner_text("body")  # shown as text


@pytest.mark.parametrize("site", ["seed", "hostile"])
@pytest.mark.parametrize("rel", ["index.html", "wed.html", "files/wed/web_page-daily/index.html"])
def test_axe_finds_no_serious_violations(server, page, site, rel):
    if not AXE.exists():
        pytest.skip("axe-core missing: run bash .ci/system-deps")
    page.goto(f"{server}/{site}/{rel}")
    assert _axe(page) == []
    page.click("[data-contrast-toggle]")
    assert _axe(page) == []  # high contrast too


def test_contrast_toggle_changes_colours_and_persists(server, page):
    page.goto(f"{server}/seed/index.html")
    button = page.locator("[data-contrast-toggle]")
    assert button.get_attribute("aria-pressed") == "false"
    colours = "() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
    before = page.evaluate(colours)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "preview-index.png"), full_page=True)
    button.click()
    after = page.evaluate(colours)
    assert button.get_attribute("aria-pressed") == "true"
    assert after != before and after[0] == "rgb(0, 0, 0)"
    page.screenshot(path=str(ARTIFACTS / "preview-index-high-contrast.png"), full_page=True)
    page.goto(f"{server}/seed/wed.html")  # persisted across pages
    assert page.locator("[data-contrast-toggle]").get_attribute("aria-pressed") == "true"
    assert page.evaluate(colours) == after
    page.locator("[data-contrast-toggle]").click()
    assert page.evaluate(colours) == before


def test_keyboard_reaches_skip_link_toggle_and_calendar(server, page):
    page.goto(f"{server}/seed/index.html")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.contrastToggle") == ""
    page.keyboard.press("Enter")
    assert page.locator("[data-contrast-toggle]").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.calendar') !== null")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("wed-20-nov.html")  # the calendar starts with the first date something goes out


def test_print_stylesheet_hides_controls_and_works_offline(server, page):
    page.goto(f"{server}/seed/wed.html")
    page.emulate_media(media="print")
    assert page.locator("[data-contrast-toggle]").is_hidden()
    pdf = page.pdf(format="A4")
    assert pdf[:5] == b"%PDF-"
    assert page.external_requests == []  # type: ignore[attr-defined]


# --- a joint week: one section per partner, and each date's versions side by side -------------------------

SCW = ROOT / "campaigns" / "safeguarding-children-week-2023.yaml"


@pytest.fixture(scope="module")
def joint(sites):
    """The joint SCW 2023 seed's preview, served with the others (under joint/)."""
    loaded = load(SCW)
    folder = next(iter(sites.values()))[1].parent / "joint"
    preview(loaded, folder)
    return loaded, folder


@pytest.mark.parametrize("rel", ["index.html", "isle-of-wight/index.html"])
def test_axe_finds_no_serious_violations_in_a_joint_week(server, joint, page, rel):
    if not AXE.exists():
        pytest.skip("axe-core missing: run bash .ci/system-deps")
    page.goto(f"{server}/joint/{rel}")
    assert _axe(page) == []
    page.click("[data-contrast-toggle]")
    assert _axe(page) == []  # high contrast too


def _boxes(page, day):
    """The bounding boxes of each partner's version of ``day`` (its section's articles, in order)."""
    articles = page.locator(f'section[aria-labelledby="sbs-{day}"] article')
    return [articles.nth(i).bounding_box() for i in range(articles.count())]


def test_a_joint_weeks_days_are_side_by_side_on_a_wide_screen_and_stacked_on_a_phone(server, joint, page):
    loaded, _ = joint
    page.goto(f"{server}/joint/index.html")
    monday = page.locator('section[aria-labelledby="sbs-mon"]')
    assert monday.locator("h4").all_inner_texts() == ["HSCP", "IOWSCP"]
    assert "hampshire/mon.html" in monday.locator("h4 a").first.get_attribute("href")
    assert "Email" in monday.locator("article").nth(1).inner_text()  # each partner's own entries
    wide = _boxes(page, "mon")
    assert len(wide) == len(loaded.partners) == 2
    assert abs(wide[0]["y"] - wide[1]["y"]) < 1 and wide[1]["x"] >= wide[0]["x"] + wide[0]["width"]
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    narrow = _boxes(page, "mon")
    assert abs(narrow[0]["x"] - narrow[1]["x"]) < 1 and narrow[1]["y"] >= narrow[0]["y"] + narrow[0]["height"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
