"""Render ahead: a scheduled week is rendered in a process pool and stored in the ledger, whole for the
publications that depend on nothing; a re-plan renders only what it changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import process
from flows.prerender import prerender, rendering_key
from flows.schedule import planned_rows
from ledger import Ledger
from practiceweek.artifacts import RenderContext, rendered_from_bytes
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.helpers import CAMPAIGNS

SEED = CAMPAIGNS / "hscp-learning-from-reviews-2024.yaml"


@pytest.fixture()
def led(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    monkeypatch.setenv("PRACTICEWEEK_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    process.reset()
    yield process.ledger()
    process.reset()


def test_a_week_is_rendered_ahead_once_and_read_back_exactly(led: Ledger) -> None:
    loaded = load(SEED)
    led.apply(loaded.id, planned_rows(loaded, led, real=True))
    rows = led.rows(loaded.id)
    independent = [r for r in rows if not r.depends_on]
    assert independent and len(independent) < len(rows)  # some publications carry their dependencies' links

    done = prerender(str(SEED), rows)
    assert done.rendered == len(rows) and done.stored == len(independent)
    assert set(done.cpu_s_by_channel) == {r.channel for r in rows}

    pubs = {p.id: p for p in plan(loaded.model)}
    for row in independent:
        stored = led.rendering(rendering_key(row.id, row.fingerprint))
        assert stored is not None, row.id
        again = rendered_from_bytes(stored)
        direct = render(loaded, pubs[row.id], RenderContext())
        assert (again.subject, again.text, again.eml is None, len(again.posts)) == (
            direct.subject, direct.text, direct.eml is None, len(direct.posts)
        )
        assert [a.filename for a in again.attachments] == [a.filename for a in direct.attachments]

    second = prerender(str(SEED), rows)  # nothing changed: nothing rendered again
    assert second.rendered == 0 and second.skipped == len(rows)


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
