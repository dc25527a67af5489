"""A window run that starts after its window closed (a busy host started it late) still does its window's
work: what an earlier window left open is published while it may still go out, and skipped, with the
operators told, once its own window has passed. (It ended at once doing nothing, leaving them pending for
ever where no supervisor heals: a week scheduled long after its dates stayed pending.)"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ledger import Ledger
from tests.helpers import ROOT
from tests.publishing import timed_week
from tests.servers.mastodon import MastodonServer

TOKEN = "masto-token-late-start-31"
RUN = "import sys; from flows.publishing.publish import publish_window; " \
      "print(publish_window(float(sys.argv[1])))"


def test_a_window_run_started_after_its_window_closed_publishes_and_skips_what_was_left(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    server = MastodonServer(token=TOKEN).start()
    env = {**prefect_env, "PRACTICEWEEK_MASTODON_BASE_URL": server.url,
           "PRACTICEWEEK_MASTODON_ACCESS_TOKEN": TOKEN, "PRACTICEWEEK_WINDOW_S": "20"}
    env.pop("PRACTICEWEEK_OPERATORS_CONNECTOR", None)
    try:
        led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
        start = time.time() - 60  # the window [start, start + 20 s) closed 40 s ago
        # (due, may go out for): long gone; two of earlier windows, still open; none in its own window
        rows = timed_week(led, tmp_path, "mastodon", [(start - 7200, 1800), (start - 600, 3600),
                                                      (start - 300, 3600)])

        done = subprocess.run([sys.executable, "-c", RUN, str(start)], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

        states = [led.get(r.id).state for r in rows]  # type: ignore[union-attr]
        assert states == ["skipped", "sent", "sent"], (states, done.stdout[-3000:])
        assert len(server.statuses) == 2
        assert "missed its window" in done.stdout + done.stderr
        alerts = list((Path(env["PRACTICEWEEK_OUTBOX"]) / "operators").rglob("message.json"))
        assert any(rows[0].id in alert.read_text() for alert in alerts), alerts
    finally:
        server.stop()
