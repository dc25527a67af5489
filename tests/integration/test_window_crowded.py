"""A crowded window (more than PRACTICEWEEK_RECORD_LIMIT publications) runs its publications on the window
run's own threads, with no Prefect task run each (issue 28: the task runs cost more CPU than anything else
on the send path), and keeps every guarantee the tasks kept: each publication out once, in its channel's
order, a line in the run's log each; with PRACTICEWEEK_CROWDED_TASK_RUNS on, a task run each again."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.plan.apply import planned_rows
from ledger import Ledger
from practiceweek.loader import load
from tests.helpers import ROOT
from tests.publishing import week
from tests.servers.mastodon import MastodonServer

TOKEN = "masto-token-crowded-28"
RUN = "import sys; from flows.publishing.publish import publish_window; " \
      "print(publish_window(float(sys.argv[1])))"


@pytest.mark.parametrize(("task_runs", "expected_tasks"), [("false", 0), ("true", 3)])
def test_a_crowded_window_publishes_each_once_in_order_with_or_without_task_runs(
    prefect_env: dict[str, str], tmp_path: Path, task_runs: str, expected_tasks: int
) -> None:
    server = MastodonServer(token=TOKEN).start()
    env = {**prefect_env, "PRACTICEWEEK_MASTODON_BASE_URL": server.url, "PREFECT_LOGGING_LEVEL": "INFO",
           "PRACTICEWEEK_MASTODON_ACCESS_TOKEN": TOKEN, "PRACTICEWEEK_WINDOW_S": "20",
           "PRACTICEWEEK_RECORD_LIMIT": "1", "PRACTICEWEEK_CROWDED_TASK_RUNS": task_runs}
    try:
        led = Ledger(env["PRACTICEWEEK_LEDGER_URL"])
        path = week(tmp_path, "mastodon")
        loaded = load(path)
        led.set_campaign(loaded.id, str(path))
        start = time.time()
        rows = [dataclasses.replace(r, scheduled_at=start + 1 + i / 1000, missed_window_s=600)
                for i, r in enumerate(planned_rows(loaded, led))]  # three posts of one channel, in order
        led.apply(loaded.id, rows)

        done = subprocess.run([sys.executable, "-c", RUN, str(start)], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

        ended = [led.get(r.id) for r in rows]
        assert [r.state for r in ended if r] == ["sent"] * 3, done.stdout[-3000:]
        assert len(server.statuses) == 3  # each once
        sent_at = [r.sent_at for r in ended if r]
        assert sent_at == sorted(sent_at)  # in the channel's planned order
        assert all(r.attempts == 1 for r in ended if r)
        logged = done.stdout + done.stderr
        assert all(f"published {r.id} through" in logged for r in rows), logged[-3000:]
        tasks: list[dict[str, object]] = []
        for _ in range(20):  # task runs reach the server as events, just after their run's end
            tasks = httpx.post(f"{env['PREFECT_API_URL']}/task_runs/filter", json={}).json()
            if len(tasks) >= max(expected_tasks, 1):
                break
            time.sleep(0.5)
        assert len(tasks) == expected_tasks, json.dumps(tasks)[:2000]
    finally:
        server.stop()
