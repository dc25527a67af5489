"""Make the site's pictures of what recipients receive (docs/write/recipients.md), from `practiceweek preview`
of a seed week.

    make screenshots    # or: .venv/bin/python docs/screenshots.py [--campaign FILE] [--day wed] [--out DIR]

Writes into ``docs/images/``: the day's A4 poster (the PNG the poster channel publishes beside its PDF), the
day's social card (1200×675, as attached to the X, Bluesky and Mastodon posts), the day's email as a phone
(360 px) and a desktop client (600 px) show it, and the week's web page as published that day (1280 px wide,
first screen and a half). Emails and the page are photographed by headless Chromium (Debian's `chromium`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
DEFAULT_CAMPAIGN = ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml"


def preview(campaign: Path, out: Path) -> None:
    """Run ``practiceweek preview`` exactly as a comms officer would."""
    subprocess.run(
        [sys.executable, "-m", "cli", "preview", str(campaign), "--out", str(out)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )


def photograph(browser: Browser, page_file: Path, target: Path, width: int, height: int | None) -> None:
    """A screenshot of ``page_file`` at ``width`` px: the whole page, or its first ``height`` px."""
    page = browser.new_page(viewport={"width": width, "height": height or 800}, device_scale_factor=1)
    page.goto(page_file.as_uri())
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(target), full_page=height is None)
    page.close()


def make(campaign: Path, day: str, images: Path) -> list[Path]:
    """Preview ``campaign`` and write the pictures of ``day`` into ``images``; returns the files written."""
    images.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "preview"
        preview(campaign, site)
        files = site / "files" / day
        written = [images / "poster.png", images / "social-card.png"]
        shutil.copyfile(files / "poster-daily" / f"{day}.png", written[0])
        shutil.copyfile(files / "x-daily" / f"{day}-card.png", written[1])
        shots = [
            (files / "email-daily.html", images / "email-phone.png", 360, None),
            (files / "email-daily.html", images / "email-desktop.png", 600, None),
            (files / "web_page-daily" / "index.html", images / "web-page.png", 1280, 1200),
        ]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            for page_file, target, width, height in shots:
                photograph(browser, page_file, target, width, height)
                written.append(target)
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaign", type=Path, default=DEFAULT_CAMPAIGN, help="a campaign file")
    parser.add_argument("--day", default="wed", help="the day, as the preview names it (default: wed)")
    parser.add_argument("--out", type=Path, default=IMAGES, help="where the PNGs go (default: docs/images)")
    args = parser.parse_args()
    for path in make(args.campaign.resolve(), args.day, args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
