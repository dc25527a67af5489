"""Posters read from two metres (issue 25 item 5): every word of every poster of the seed weeks and the
fixture week is at least 14 pt on A4 (and 14 pt × √2 on A3), as ``pdftotext -bbox`` (poppler) reads it back:
a word's box is as tall as its font size for these posters' fonts. And the partnership's logo, when the
branding names one, is on the poster as a figure with its alt text, and the poster is still PDF/UA-1."""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pypdf import PdfReader

from practiceweek.artifacts import RenderContext
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.helpers import FIXTURES
from tests.render_support import EVENTS_SEED, SEEDS

WEEKS = [*SEEDS, FIXTURES / "portsmouth-neglect-2025.yaml"]
LOGO_ALT = "Isle of Wight Safeguarding Children Partnership logo"
LOGO = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60" viewBox="0 0 120 60">'
        '<rect width="120" height="60" fill="#4B2C6F"/><circle cx="30" cy="30" r="20" fill="#E4007C"/></svg>')


def _boxes(pdf: bytes, tmp_path: Path) -> list[tuple[float, float, float, float, str]]:
    """(xMin, yMin, xMax, yMax, word) of every word ``pdftotext -bbox`` finds."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext missing: apt-get install poppler-utils (.ci/system-deps)")
    path = tmp_path / "poster.pdf"
    path.write_bytes(pdf)
    html = subprocess.run([tool, "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    word = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
    return [(*(float(v) for v in m.groups()[:4]), m.group(5)) for m in word.finditer(html)]  # type: ignore[misc]


def _word_heights(pdf: bytes, tmp_path: Path) -> list[tuple[float, str]]:
    """(height in points, word) of every word: a word's box is as tall as its font size."""
    return [(y1 - y0, w) for _, y0, _, y1, w in _boxes(pdf, tmp_path)]


def _overlaps(pdf: bytes, tmp_path: Path) -> list[tuple[str, str]]:
    """Pairs of words printed over each other (more than 40 % of the smaller one's height): text that did
    not fit and ran over the next block (a box's descent touching the next line's is no overlap)."""
    words = _boxes(pdf, tmp_path)
    out = []
    for i, (ax0, ay0, ax1, ay1, a) in enumerate(words):
        for bx0, by0, bx1, by1, b in words[i + 1:]:
            wide = min(ax1, bx1) - max(ax0, bx0)
            high = min(ay1, by1) - max(ay0, by0)
            if wide > 1 and high > 0.4 * min(ay1 - ay0, by1 - by0):
                out.append((a, b))
    return out


@pytest.mark.parametrize("path", WEEKS, ids=[p.stem for p in WEEKS])
def test_every_word_on_every_poster_is_at_least_14_pt_and_none_overlaps(path: Path, tmp_path: Path) -> None:
    loaded = load(path)
    posters = [p for p in plan(loaded.model) if p.channel == "poster"]
    assert posters
    for pub in posters:
        for name, data in render(loaded, pub, RenderContext()).files.items():
            if not name.endswith(".pdf"):
                continue
            words = _word_heights(data, tmp_path)
            assert len(words) > 20, (pub.id, name)
            least = 14 * (math.sqrt(2) if name.endswith("-a3.pdf") else 1)
            small = sorted({w for h, w in words if h < least - 0.05})
            assert small == [], f"{pub.id} {name}: under {least:.1f} pt: {small}"
            assert len(PdfReader(io.BytesIO(data)).pages) == 1, (pub.id, name)  # and all of it on one page
            assert _overlaps(data, tmp_path) == [], (pub.id, name)  # none of it printed over other text


def test_the_check_reads_the_sizes_the_poster_sets(tmp_path: Path) -> None:
    """The measure itself: a word set in 11 pt reads back as 11 pt (the hashtags were, before issue 25)."""
    import typst

    source = (b'#set page("a4")\n#set text(font: "DejaVu Sans", size: 11pt)\n'
              b"\\#DomesticAbuse \\ #text(size: 14pt)[Big]")
    heights = {w: h for h, w in _word_heights(typst.compile(source), tmp_path)}
    assert heights["#DomesticAbuse"] == pytest.approx(11, abs=0.05)
    assert heights["Big"] == pytest.approx(14, abs=0.05)
    over = typst.compile(b'#set page("a4")\n#set text(font: "DejaVu Sans")\n'
                         b"#place(top + left)[First line]\n#place(top + left, dy: 3pt)[Second line]")
    assert ("First", "Second") in _overlaps(over, tmp_path)  # text run over other text is seen


def _figures(pdf: bytes) -> list[dict[str, Any]]:
    """Every /Figure of the PDF's tag tree with its /Alt."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            for kid in node:
                walk(kid)
            return
        if not isinstance(node, dict):
            return
        if str(node.get("/S", "")) == "/Figure":
            found.append({"alt": str(node.get("/Alt", ""))})
        if "/K" in node:
            walk(node["/K"])

    walk(PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/StructTreeRoot"])
    return found


def test_the_logo_is_a_figure_with_its_alt_text_on_posters_and_in_emails_and_pages(tmp_path: Path) -> None:
    pdfua = pytest.importorskip("pdfua")
    data = yaml.safe_load(EVENTS_SEED.read_text())
    data["campaign"]["branding"]["logo"] = {"src": "logo.svg", "alt": LOGO_ALT}
    (tmp_path / "logo.svg").write_text(LOGO)
    week = tmp_path / "week.yaml"
    week.write_text(yaml.safe_dump(data, sort_keys=False))
    loaded = load(week)
    for pub in (p for p in plan(loaded.model) if p.channel == "poster" and p.day in ("mon", "week")):
        for name, pdf in render(loaded, pub, RenderContext()).files.items():
            if not name.endswith(".pdf"):
                continue
            assert {"alt": LOGO_ALT} in _figures(pdf), (pub.id, name)
            (tmp_path / name).write_bytes(pdf)
            report = pdfua.validate(str(tmp_path / name))
            assert report.exit_code == 0 and list(report.findings) == [], [f.message for f in report.findings]
    by_id = {p.id: p for p in plan(loaded.model)}
    email = render(loaded, by_id["iowscp-da-2024/mon/email/daily"], RenderContext())
    page = render(loaded, by_id["iowscp-da-2024/mon/web_page/daily"], RenderContext())
    card = render(loaded, by_id["iowscp-da-2024/mon/mastodon/daily"], RenderContext()).posts[0].image
    assert f'alt="{LOGO_ALT}"' in (email.html or "")
    assert f'alt="{LOGO_ALT}"' in page.files["index.html"].decode()
    assert card is not None and card.content_type == "image/png"  # the social card typesets the logo too
    seed = load(EVENTS_SEED)
    without = render(seed, next(p for p in plan(seed.model) if p.channel == "poster"))
    assert {"alt": LOGO_ALT} not in _figures(next(d for n, d in without.files.items() if n.endswith(".pdf")))
