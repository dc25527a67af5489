"""Render ahead: a scheduled week is rendered in a process pool and stored in the ledger, every publication
in the context it will go out in (the week page's URL its connector decides); a re-plan renders only what
it changed, and a dependency that comes back with another URL means a render at send time, never a stale
link."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.plan.apply import planned_rows
from flows.planning.prerender import prerender, prerender_many, render_soon_again, wait_rendered_again
from flows.publishing.content import stored_rendering
from flows.runtime import campaigns, process
from ledger import Ledger, Row
from practiceweek.artifacts import RenderContext
from practiceweek.loader import Loaded, load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.helpers import CAMPAIGNS

SEED = CAMPAIGNS / "hscp-learning-from-reviews-2024.yaml"


@pytest.fixture()
def led(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    monkeypatch.setenv("PRACTICEWEEK_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    monkeypatch.setenv("PRACTICEWEEK_OUTBOX", str(tmp_path / "outbox"))
    process.reset()
    yield process.ledger()
    process.reset()


def _send(led: Ledger, row: Row, url: str) -> None:
    """Record ``row`` as gone out at ``url`` (what the publish task does once its connector answers)."""
    assert led.claim(row.id, revision=row.revision)
    assert led.mark_sent(row.id, f"remote-{row.id}", url)


def test_a_week_is_rendered_ahead_once_and_read_back_exactly(led: Ledger) -> None:
    loaded = load(SEED)
    led.apply(loaded.id, planned_rows(loaded, led, real=True))
    rows = led.rows(loaded.id)
    independent = [r for r in rows if not r.depends_on]
    assert independent and len(independent) < len(rows)  # some publications carry their dependencies' links

    done = prerender(str(SEED), rows)
    assert done.rendered == len(rows) and done.stored == len(rows)  # dependants too, not at send time
    assert set(done.cpu_s_by_channel) == {r.channel for r in rows}

    pubs = {p.id: p for p in plan(loaded.model)}
    for row in independent:
        again = stored_rendering(row)
        assert again is not None, row.id
        direct = render(loaded, pubs[row.id], RenderContext(sequence=row.revision))
        assert (again.subject, again.text, again.eml is None, len(again.posts)) == (
            direct.subject, direct.text, direct.eml is None, len(direct.posts)
        )
        assert [a.filename for a in again.attachments] == [a.filename for a in direct.attachments]

    second = prerender(str(SEED), rows)  # nothing changed: nothing rendered again
    assert second.rendered == 0 and second.skipped == len(rows)


def _scheduled_monday(led: Ledger) -> tuple[Loaded, Row, Row]:
    """The seed week scheduled and rendered ahead: it, Monday's web page and Monday's email (as rows)."""
    loaded = load(SEED)
    led.apply(loaded.id, planned_rows(loaded, led, real=True))
    prerender(str(SEED), led.rows(loaded.id))
    page = led.get(f"{loaded.id}/mon/web_page/daily")
    email = led.get(f"{loaded.id}/mon/email/daily")
    assert page is not None and email is not None
    return loaded, page, email


def test_what_links_to_the_week_page_is_stored_with_the_url_the_page_gets(led: Ledger) -> None:
    loaded, page, email = _scheduled_monday(led)
    assert page.id in email.depends_on
    assert stored_rendering(email) is None  # its page is not out yet: no URL to link to

    url = process.connector(*page.route).url_for(campaigns.publication_of(page)[1])  # type: ignore[index]
    assert url and url.startswith("file://")
    _send(led, page, url)  # the page went out where the outbox said it would
    monday = [r for r in led.rows(loaded.id) if page.id in r.depends_on]
    assert {r.channel for r in monday} == {"poster", "email"}  # the day's poster, the week's, the email
    for row in monday:
        stored = stored_rendering(row)
        assert stored is not None, row.id  # read back at its time, not rendered
        found = campaigns.publication_of(row)
        assert found is not None
        direct = render(found[0], found[1], campaigns.context_for(row))
        assert (stored.subject, stored.text, stored.html) == (direct.subject, direct.text, direct.html)
    stored_email = stored_rendering(email)
    assert stored_email is not None and stored_email.html is not None
    assert url in stored_email.html  # "every day of the week" links to the page as published


def test_a_page_published_elsewhere_means_rendering_at_send_time_not_a_stale_link(led: Ledger) -> None:
    loaded = load(SEED)
    led.apply(loaded.id, planned_rows(loaded, led, real=True))
    prerender(str(SEED), led.rows(loaded.id))
    page = led.get(f"{loaded.id}/mon/web_page/daily")
    assert page is not None
    _send(led, page, "https://elsewhere.example.gov.uk/week/")  # not where the connector predicted
    poster = led.get(f"{loaded.id}/mon/poster/daily")
    assert poster is not None and stored_rendering(poster) is None

    again = prerender_many([(str(SEED), led.rows(loaded.id))])  # its dependants again, in their real context
    assert 0 < again.rendered < len(led.rows(loaded.id))
    stored = stored_rendering(poster)
    assert stored is not None and "elsewhere.example.gov.uk" in stored.text + str(stored.attachments[0].alt)


def test_a_replan_renders_only_what_it_changed(led: Ledger, tmp_path: Path) -> None:
    week = tmp_path / "week.yaml"
    week.write_text(SEED.read_text())
    loaded = load(week)
    led.apply(loaded.id, planned_rows(loaded, led, real=True))
    assert prerender(str(week), led.rows(loaded.id)).rendered == len(led.rows(loaded.id))

    monday = "Today we\n      launch two resources"
    week.write_text(SEED.read_text().replace(monday, monday.replace("launch", "open")))
    edited = load(week)
    before = {r.id: r.fingerprint for r in led.rows(loaded.id)}
    led.apply(edited.id, planned_rows(edited, led, real=True))
    changed = [r for r in led.rows(loaded.id) if before[r.id] != r.fingerprint]
    assert 0 < len(changed) < len(before)  # Monday's summary reaches some publications, not all
    again = prerender(str(week), led.rows(loaded.id))
    assert again.rendered == len(changed)


def test_healing_renders_again_what_a_result_made_since_scheduling_decides(led: Ledger) -> None:
    loaded, page, email = _scheduled_monday(led)
    _send(led, page, "https://elsewhere.example.gov.uk/week/")  # a URL scheduling could not know
    assert stored_rendering(email) is None

    assert render_soon_again()  # what heal runs every round: due within the hour (the seed week is past)
    wait_rendered_again(120)
    stored = stored_rendering(email)
    assert stored is not None and stored.html is not None and "elsewhere.example.gov.uk" in stored.html
