"""Campaign text is data: HTML and template syntax stay inert text; broken overrides are campaign errors."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader

from practiceweek.errors import CampaignError
from practiceweek.loader import load
from practiceweek.planner import plan
from practiceweek.render import render
from tests.render_support import hostile, write

ACTIVE = ("<script>window.__pwned", "<img src=x", "<svg onload", "<b>{{", "<i>]")


@pytest.fixture(scope="module")
def hostile_week(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("hostile"), hostile())
    loaded = load(path)
    return loaded, [render(loaded, p) for p in plan(loaded.model)]


def _html_outputs(r):
    if r.html:
        yield r.html
    for name, data in r.files.items():
        if name.endswith(".html"):
            yield data.decode()
    if r.event:
        yield r.event["body"]["content"]


def test_html_in_campaign_text_is_escaped_everywhere(hostile_week):
    _, rendered = hostile_week
    seen = 0
    for r in rendered:
        for html in _html_outputs(r):
            seen += 1
            for needle in ACTIVE:
                assert needle not in html, (r.id, needle)
            if r.publication.channel in ("email", "web_page"):
                assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert seen > 10


def test_template_syntax_in_campaign_text_is_not_evaluated(hostile_week):
    _, rendered = hostile_week
    for r in rendered:
        blobs = [r.text, r.subject, *(_html_outputs(r)), *(p.text for p in r.posts)]
        if r.card:
            blobs.append(json.dumps(r.card, ensure_ascii=False))
        if r.ics:
            blobs.append(r.ics.decode())
        for blob in blobs:
            assert "<class" not in blob and "&lt;class" not in blob and "str'>" not in blob, r.id
    email = next(r for r in rendered if r.publication.channel == "email" and r.publication.day == "mon")
    assert "{{ ''.__class__ }}" in email.text


def test_plain_text_channels_keep_the_text_as_written(hostile_week):
    _, rendered = hostile_week
    card = next(r for r in rendered if r.card)
    texts = json.dumps(card.card, ensure_ascii=False)
    assert "<script>window.__pwned=1</script>" in texts  # Adaptive Cards show text, never HTML
    poster = next(r for r in rendered if r.publication.channel == "poster" and r.publication.day == "mon")
    text = " ".join(PdfReader(io.BytesIO(poster.files["mon.pdf"])).pages[0].extract_text().split())
    assert "<script>window.__pwned=1</script>" in text


def _override(tmp_path, files):
    data = hostile()
    data["campaign"]["branding"]["templates"] = "tpl"
    for name, text in files.items():
        (tmp_path / "tpl").mkdir(parents=True, exist_ok=True)
        (tmp_path / "tpl" / name).write_text(text, encoding="utf-8")
    loaded = load(write(tmp_path, data))
    pub = next(p for p in plan(loaded.model) if p.channel == "email" and p.slot == "daily")
    return loaded, pub


def test_campaign_templates_override_the_built_in_ones(tmp_path):
    subject = "Custom: {{ day.weekday }} from {{ organiser.short_name }}"
    loaded, pub = _override(tmp_path, {"subject.txt": subject})
    assert render(loaded, pub).subject == "Custom: Monday from ORG<i>"


def test_undefined_name_in_an_override_names_file_line_and_name(tmp_path):
    loaded, pub = _override(tmp_path, {"email.txt": "Hello\n{{ day.title }}\n{{ nosuch.field }}\n"})
    with pytest.raises(CampaignError) as info:
        render(loaded, pub)
    (problem,) = info.value.problems
    assert problem.file.endswith("tpl/email.txt")
    assert problem.line == 3
    assert "'nosuch' is undefined" in problem.message
    assert "email.txt" in problem.render()


def test_syntax_error_in_an_override_is_a_campaign_error(tmp_path):
    loaded, pub = _override(tmp_path, {"email.mjml": "<p>\n\n{% if %}\n"})
    with pytest.raises(CampaignError) as info:
        render(loaded, pub)
    (problem,) = info.value.problems
    assert problem.file.endswith("tpl/email.mjml") and problem.line == 3
    assert "syntax error" in problem.message


def test_override_cannot_escape_the_sandbox(tmp_path):
    loaded, pub = _override(tmp_path, {"email.txt": "{{ ''.__class__.__mro__[1].__subclasses__() }}\n"})
    with pytest.raises(CampaignError) as info:
        render(loaded, pub)
    assert "email.txt" in info.value.problems[0].file


def test_public_api_names_stay_functions_after_use(tmp_path):
    import practiceweek.render as api

    loaded = load(write(tmp_path, hostile()))
    api.preview(loaded, tmp_path / "out")
    assert callable(api.preview) and callable(api.render)  # no submodule shadows them
