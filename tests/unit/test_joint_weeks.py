"""Joint weeks: one file, several partners, each publishing the shared programme under its own name.

The four-partner HIPS fixture week and the joint SCW 2023 seed are planned and rendered; each partner's
artifacts are read back for its own name, colours, recipients and accounts.
"""

from __future__ import annotations

import email
import json
from email.message import Message
from pathlib import Path

import pytest
import yaml

from connectors.registry import get_connector
from practiceweek.artifacts import preview_context
from practiceweek.loader import Loaded, load, load_text
from practiceweek.planner import Publication, plan
from practiceweek.render import render
from practiceweek.render.site import write_preview
from tests.helpers import FIXTURES, ROOT

HIPS = FIXTURES / "hips-joint-2025.yaml"
SCW = ROOT / "campaigns" / "safeguarding-children-week-2023.yaml"
PARTNERS = {  # key → (short name, mailbox, primary colour, recipient, X account)
    "hampshire": ("HSCP", "hscp@hants.gov.uk", "#1D3E6E", "hscp-practitioners@hants.gov.uk", "hscp-x"),
    "isle-of-wight": ("IOWSCP", "iowscp@iow.gov.uk", "#4B2C6F", "iowscp-practitioners@iow.gov.uk",
                      "iowscp-x"),
    "portsmouth": ("PSCP", "pscp@portsmouth.gov.uk", "#005C84", "pscp-practitioners@portsmouth.gov.uk",
                   "pscp-x"),
    "southampton": ("SSCP", "sscp@southampton.gov.uk", "#00703C", "sscp-practitioners@southampton.gov.uk",
                    "sscp-x"),
}


Hips = tuple[Loaded, dict[str, Publication]]
NAMES = {key: f"{place} Safeguarding Children Partnership" for key, place in
         (("hampshire", "Hampshire"), ("isle-of-wight", "Isle of Wight"), ("portsmouth", "Portsmouth"),
          ("southampton", "Southampton"))}


@pytest.fixture(scope="module")
def hips() -> Hips:
    loaded = load(HIPS)
    return loaded, {p.id: p for p in plan(loaded.model)}


def _rendered(loaded: Loaded, pubs: dict[str, Publication], pid: str):
    makers = {p.id: p.event_id for p in pubs.values() if p.channel == "teams_event" and p.event_id}
    return render(loaded, pubs[pid], preview_context(pubs[pid], makers))


def _html_of(eml: bytes) -> str:
    message = email.message_from_bytes(eml)
    for part in message.walk():
        if isinstance(part, Message) and part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no HTML part")


def test_every_publication_of_a_joint_week_names_its_partner(hips: Hips) -> None:
    loaded, pubs = hips
    assert loaded.partners == list(PARTNERS)
    for pid, pub in pubs.items():
        assert pub.partner in PARTNERS and pid.endswith(f"/{pub.partner}")
        assert pid == f"hips-2025/{pub.day}/{pub.channel}/{pub.slot}/{pub.partner}"
        assert pub.folders == ("hips-2025", pub.partner)
    for key, (*_, x_account) in PARTNERS.items():
        assert {p.account for p in pubs.values() if p.partner == key and p.channel == "x"} == {x_account}


def test_a_partner_switches_a_channel_off_and_moves_its_time(hips: Hips) -> None:
    _, pubs = hips
    bluesky = {p.partner for p in pubs.values() if p.channel == "bluesky"}
    assert bluesky == {"hampshire", "isle-of-wight", "portsmouth"}  # Southampton has no Bluesky account
    assert pubs["hips-2025/mon/email/daily/southampton"].at.strftime("%H:%M") == "09:00"
    assert pubs["hips-2025/mon/email/daily/hampshire"].at.strftime("%H:%M") == "08:30"


def test_the_host_alone_creates_the_meeting_every_partner_announces_it(
        hips: Hips) -> None:
    loaded, pubs = hips
    created = [p for p in pubs.values() if p.channel == "teams_event"]
    assert [p.id for p in created] == ["hips-2025/wed/teams_event/exploitation-webinar/isle-of-wight"]
    reminders = [p.id for p in pubs.values() if p.slot.startswith("reminder-")]
    assert reminders == ["hips-2025/wed/email/reminder-exploitation-webinar/isle-of-wight"]
    invite = _rendered(loaded, pubs, created[0].id)
    assert invite.recipients == ("iowscp-practitioners@iow.gov.uk",)  # one set of invitations
    for key in PARTNERS:
        pid = f"hips-2025/wed/email/daily/{key}"
        assert created[0].id in pubs[pid].depends_on, key
        html = _html_of(_rendered(loaded, pubs, pid).eml or b"")
        assert "Child exploitation across HIPS" in html and "join-link.invalid" in html, key


def test_each_partners_email_carries_its_own_name_colours_and_people(
        hips: Hips) -> None:
    loaded, pubs = hips
    for key, (short, mailbox, colour, recipient, _) in PARTNERS.items():
        r = _rendered(loaded, pubs, f"hips-2025/mon/email/daily/{key}")
        assert r.recipients == (recipient,) and mailbox in (r.sender or ""), key
        html = _html_of(r.eml or b"")
        assert colour.lower() in html.lower() and short in html, key
        others = [v for k, v in PARTNERS.items() if k != key]
        assert not any(o[3] in html or o[2].lower() in html.lower() for o in others), key


def test_each_partners_page_and_posts_are_its_own(hips: Hips,
                                                   tmp_path: Path) -> None:
    loaded, pubs = hips
    web = get_connector("web_page", folder=tmp_path, base_url="https://weeks.example.gov.uk")
    urls = set()
    for key, (_, _, colour, _, _) in PARTNERS.items():
        page = _rendered(loaded, pubs, f"hips-2025/mon/web_page/daily/{key}")
        html = page.files["index.html"].decode()
        assert NAMES[key] in html and colour.lower() in page.files["site.css"].decode().lower(), key
        assert not any(NAMES[other] in html for other in PARTNERS if other != key)
        receipt = web.publish(page)
        urls.add(receipt.url)
        assert receipt.url == f"https://weeks.example.gov.uk/hips-2025/{key}/index.html"
        post = _rendered(loaded, pubs, f"hips-2025/mon/x/daily/{key}").posts[0].text
        assert "#HIPSPracticeWeek" in post
        assert ("#Portsmouth" in post) == (key == "portsmouth")
    assert len(urls) == 4 and len(list(tmp_path.glob("hips-2025/*/index.html"))) == 4  # four web pages


def test_a_partners_own_resources_replace_the_shared_ones(hips: Hips) -> None:
    loaded, pubs = hips
    portsmouth = _html_of(_rendered(loaded, pubs, "hips-2025/tue/email/daily/portsmouth").eml or b"")
    hampshire = _html_of(_rendered(loaded, pubs, "hips-2025/tue/email/daily/hampshire").eml or b"")
    assert "Portsmouth neglect toolkit" in portsmouth and "HIPS neglect strategy" not in portsmouth
    assert "HIPS neglect strategy" in hampshire and "Portsmouth neglect toolkit" not in hampshire


def test_a_partner_only_announcement_goes_out_for_that_partner_only(
        hips: Hips) -> None:
    _, pubs = hips
    notices = sorted(p.id for p in pubs.values() if p.slot == "save-the-date")
    assert notices == ["hips-2025/mon-10-nov/email/save-the-date/portsmouth",
                       "hips-2025/mon-10-nov/x/save-the-date/portsmouth"]


def test_ids_and_fingerprints_stay_when_a_partner_is_removed(hips: Hips) -> None:
    _, pubs = hips
    data = yaml.safe_load(HIPS.read_text())
    del data["campaign"]["partners"]["southampton"]
    fewer = {p.id: p.fingerprint for p in plan(load_text(yaml.safe_dump(data), "hips.yaml", base=HIPS).model)}
    kept = {pid: p.fingerprint for pid, p in pubs.items() if p.partner != "southampton"}
    assert fewer == kept


def test_the_joint_seed_has_two_pages_colours_and_mailing_lists(tmp_path: Path) -> None:
    loaded = load(SCW)
    assert loaded.partners == ["hampshire", "isle-of-wight"]
    pubs = {p.id: p for p in plan(loaded.model)}
    index = write_preview(loaded, tmp_path)
    shown = index.read_text()
    for key, (short, _, colour, recipient, _) in PARTNERS.items():
        if key not in loaded.partners:
            continue
        assert f'href="{key}/index.html"' in shown and colour in shown and recipient in shown
        eml = (tmp_path / key / "files" / "mon" / "email-daily.eml").read_bytes()
        assert email.message_from_bytes(eml)["To"] == recipient
        page = tmp_path / key / "files" / "mon" / "web_page-daily"
        assert NAMES[key] in (page / "index.html").read_text() and short in shown
        assert colour.lower() in (page / "site.css").read_text().lower()
    assert len([p for p in pubs.values() if p.channel == "web_page" and p.day == "mon"]) == 2
    monday = shown.split('<section class="side-by-side-day" aria-labelledby="sbs-mon">', 1)[1]
    monday = monday.split("</section>", 1)[0]  # each partner's version of Monday, side by side
    assert monday.index('href="hampshire/mon.html"') < monday.index('href="isle-of-wight/mon.html"')
    assert 'href="isle-of-wight/mon.html#email-daily"' in monday


def test_a_single_partnership_week_is_unchanged() -> None:
    loaded = load(ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml")
    assert loaded.partners == [] and loaded.for_partner("") is loaded
    pubs = plan(loaded.model)
    assert all(not p.partner and p.folders == ("hscp-lfr-2024",) for p in pubs)
    assert all("partner" not in p.to_json() and "partner" not in p.content for p in pubs)
    assert json.dumps(pubs[0].to_json())  # serialisable as before


def test_the_report_counts_each_partner_and_the_whole_week() -> None:
    from practiceweek.report import Line, Report, to_markdown

    def line(pid: str, state: str) -> Line:
        return Line(pid, "x", "X", "mon", "Monday", (), "t", "", "", None, False, state)

    report = Report("hips-2025", "HIPS", "HIPS", "", "", (
        line("hips-2025/mon/x/daily/hampshire", "sent"), line("hips-2025/tue/x/daily/hampshire", "failed"),
        line("hips-2025/mon/x/daily/portsmouth", "sent")))
    assert report.counts()["sent"] == 2 and report.counts()["failed"] == 1
    per = report.partner_counts()
    assert list(per) == ["hampshire", "portsmouth"]
    assert (per["hampshire"]["sent"], per["hampshire"]["failed"], per["portsmouth"]["sent"]) == (1, 1, 1)
    assert "- hampshire: 2 publications, 1 sent" in to_markdown(report)
    single = Report("w", "W", "W", "", "", (line("w/mon/x/daily", "sent"),))
    assert single.partner_counts() == {} and "- " not in to_markdown(single).split("| channel")[0]
