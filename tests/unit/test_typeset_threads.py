"""Posters and social cards are rendered by the publish tasks of a window run, which are threads: the
Typst compiler they share must not fail when two of them render at once ("Already borrowed")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from practiceweek.artifacts import RenderContext
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render.poster import poster_for
from practiceweek.render.social_card import card_data
from practiceweek.render.typeset import typeset
from tests.helpers import CAMPAIGNS

SEED = CAMPAIGNS / "iowscp-domestic-abuse-2024.yaml"


def test_many_threads_typeset_at_once() -> None:
    loaded = load(SEED)
    pubs = [p for p in plan(loaded.model) if p.channel in ("x", "poster") and p.day in ("mon", "tue", "wed")]

    def card(i: int) -> bytes:
        pub = pubs[i % len(pubs)]
        if pub.channel == "poster":
            return poster_for(loaded, pub, RenderContext()).pdf
        data, files = card_data(loaded, pub, RenderContext())
        return typeset(loaded, "social_card.typ", data, files, fmt="png", ppi=72)[0]

    with ThreadPoolExecutor(16) as pool:
        outputs = list(pool.map(card, range(48)))
    assert len(outputs) == 48 and all(o[:4] in (b"%PDF", b"\x89PNG") for o in outputs)
