"""Lateness of publications on the embedded default (local Prefect server, served deployments, SQLite ledger).

(a) 200 publications due 0.6 s apart (target p99 ≤ 1 s);
(b) a burst: 1,000 publications from 150 campaigns all due at the same instant (target p99 ≤ 10 s, none lost
    or doubled).
Lateness = when the ledger recorded the provider's receipt − when the publication was due. Publications go to
the outbox through the real path: publish_window runs → publish tasks → render → connector → ledger.

    .venv/bin/python bench/lateness.py [--case a|b|all]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEED = ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml"
CHANNELS = 'channels:\n  teams_channel: { at: "09:00" }\n'
WEEKEND = """  - weekday: saturday
    title: Weekend reading one
    themes:
      - title: Reading
  - weekday: sunday
    title: Weekend reading two
    themes:
      - title: Reading
"""


def write_campaigns(folder: Path, prefix: str, count: int) -> list[Path]:
    """``count`` copies of the seed week over seven days, a Teams card each day (cheap to render), each
    its own campaign: the benchmark measures scheduling, not rendering."""
    folder.mkdir(parents=True, exist_ok=True)
    text = re.sub(r"^channels:\n(?:  .*\n)+", CHANNELS, SEED.read_text(), flags=re.M)
    text = text.replace("    end: 2024-06-28", "    end: 2024-06-30") + WEEKEND  # 7 days
    paths = []
    for i in range(count):
        path = folder / f"{prefix}-{i:03d}.yaml"
        path.write_text(text.replace("id: hscp-lfr-2024", f"id: {prefix}-{i:03d}"))
        paths.append(path)
    return paths


def schedule_at(paths: list[Path], per_campaign: list[int], times: list[float]) -> list[str]:
    """Put the first publications of each campaign in the ledger at the given times; schedule window runs."""
    from flows import process
    from flows.deployments import register
    from flows.windows import ensure_windows
    from ledger import Planned
    from practiceweek.loader import load
    from practiceweek.planner import plan

    led = process.ledger()
    ids: list[str] = []
    pending: list[tuple[str, list[Planned]]] = []
    it = iter(times)
    for path, n in zip(paths, per_campaign, strict=True):
        loaded = load(path)
        led.set_campaign(loaded.id, str(path.resolve()))
        rows = []
        for p in sorted(plan(loaded.model), key=lambda p: p.channel != "teams_channel")[:n]:  # cheap first
            at = next(it)
            rows.append(
                Planned(
                    id=p.id,
                    campaign=loaded.id,
                    day=p.day,
                    channel=p.channel,
                    connector=p.connector,
                    title=p.title,
                    fingerprint=p.fingerprint,
                    planned_at=p.at.timestamp(),
                    scheduled_at=at,
                    missed_window_s=900.0,
                    depends_on=p.depends_on,
                )
            )
            ids.append(p.id)
        pending.append((loaded.id, rows))
    for cid, rows in pending:
        led.apply(cid, rows)
    ensure_windows(led, led.rows(), register=register)
    return ids


def wait_done(ids: list[str], timeout: float) -> list:  # type: ignore[type-arg]
    from flows import process

    led = process.ledger()
    wanted = set(ids)
    deadline = time.time() + timeout
    while True:
        rows = [r for r in led.rows() if r.id in wanted]
        if all(r.state in ("sent", "failed", "skipped", "cancelled") for r in rows) or time.time() > deadline:
            return rows
        time.sleep(1)


def report(name: str, rows: list, outbox: Path) -> dict[str, float]:  # type: ignore[type-arg]
    from flows.status import lateness, percentiles

    stats = percentiles(lateness(rows))
    receipts = list(outbox.rglob("receipt.json"))
    ids = {r.id for r in rows}
    published = {json.loads(p.read_text())["publication_id"] for p in receipts}
    sent = sum(r.state == "sent" for r in rows)
    doubled = sum(r.attempts > 1 for r in rows)
    print(
        f"{name}: {len(rows)} publications, sent {sent}, outbox {len(ids & published)}, "
        f"lost {len(ids - published)}, claimed twice {doubled}; lateness p50 {stats['p50']:.3f} s, "
        f"p99 {stats['p99']:.3f} s, max {stats['max']:.3f} s",
        flush=True,
    )
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case", choices=("a", "b", "all"), default="all")
    parser.add_argument("--state", default=None, help="state folder (default: a new temporary one)")
    args = parser.parse_args()
    state = Path(args.state or tempfile.mkdtemp(prefix="practiceweek-bench-")).resolve()
    state.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "PRACTICEWEEK_STATE": str(state),
            "PRACTICEWEEK_OUTBOX": str(state / "outbox"),
            "PRACTICEWEEK_LEDGER_URL": f"sqlite:///{state / 'ledger.sqlite3'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
    )
    from flows.embedded import ensure_server, start_serving, wait_served

    server = ensure_server(state)
    os.environ["PREFECT_API_URL"] = server.api_url
    serving = start_serving(server.api_url, log=state / "serve.log")
    try:
        assert wait_served(server.api_url), "deployments not served"
        print(f"Prefect server {server.ui_url}; state {state}", flush=True)
        if args.case in ("a", "all"):
            paths = write_campaigns(state / "campaigns-a", "bench-a", 40)
            t0 = time.time() + 45
            ids = schedule_at(paths, [5] * 40, [t0 + 0.6 * i for i in range(200)])
            rows = wait_done(ids, 45 + 120 + 120)
            report("(a) 200 publications due 0.6 s apart", rows, state / "outbox")
        if args.case in ("b", "all"):
            paths = write_campaigns(state / "campaigns-b", "bench-b", 150)
            t0 = (time.time() + 60) // 60 * 60 + 90  # the middle of a minute, ≥ 90 s ahead: one window
            per = [7] * 100 + [6] * 50
            ids = schedule_at(paths, per, [t0] * sum(per))
            rows = wait_done(ids, (t0 - time.time()) + 240)
            report(
                "(b) burst: 1,000 publications from 150 campaigns due at the same instant",
                rows,
                state / "outbox",
            )
    finally:
        serving.terminate()
        serving.wait(20)
        from flows.embedded import stop_server

        if server.started:
            stop_server(state)
    print("reproduce: .venv/bin/python bench/lateness.py --case " + args.case)


if __name__ == "__main__":
    main()
