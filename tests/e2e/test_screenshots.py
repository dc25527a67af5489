"""The site's pictures (docs/write/recipients.md) can be made again: `docs/screenshots.py` previews a seed
week and photographs it."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import ROOT

SCRIPT = ROOT / "docs" / "screenshots.py"


def test_screenshots_script_writes_every_readme_picture_at_its_size(tmp_path: Path) -> None:
    script = runpy.run_path(str(SCRIPT))
    written = script["make"](ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml", "wed", tmp_path)

    sizes = {path.name: Image.open(path).size for path in written}
    assert sizes["poster.png"][0] / sizes["poster.png"][1] == pytest.approx(210 / 297, rel=0.01)
    assert sizes["social-card.png"] == (1200, 675)
    assert sizes["email-phone.png"][0] == 360
    assert sizes["email-phone.png"][1] > 640  # the whole email, not one screenful
    assert sizes["email-desktop.png"][0] == 600
    assert sizes["web-page.png"] == (1280, 1200)
    page = (ROOT / "docs" / "write" / "recipients.md").read_text()
    for name in sizes:
        assert f"../images/{name}" in page
        assert (ROOT / "docs" / "images" / name).is_file()


def test_email_picture_is_not_blank(tmp_path: Path) -> None:
    """A photograph of an empty page would be one colour; the email has text, a banner and links."""
    script = runpy.run_path(str(SCRIPT))
    written = script["make"](ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml", "tue", tmp_path)
    phone = next(p for p in written if p.name == "email-phone.png")
    colours = Image.open(phone).convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50
