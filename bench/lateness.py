"""Lateness of publications on the embedded default (local Prefect server, served deployments, SQLite ledger).

(a) 200 publications due 0.6 s apart (target p99 ≤ 1 s);
(b) a burst: 1,000 publications from 150 campaigns all due at the same instant (target p99 ≤ 10 s, none lost
    or doubled);
(rendered) every partnership's Monday with every channel rendered as the seed weeks render it (web page,
    day poster, week poster, email with its poster, Teams card, X, Bluesky, Mastodon: 8 × N publications due
    at one instant), scheduled as `practiceweek schedule` does it: plan, then render ahead on every core.
Lateness = when the ledger recorded the provider's receipt − when the publication was due. Publications go to
the outbox through the real path: publish_window runs → publish tasks → render → connector → ledger.

    .venv/bin/python bench/lateness.py [--case a|b|all|rendered] [--partnerships 150] [--distinct]
    .venv/bin/python bench/lateness.py --case rendered --ledger postgresql --workers 2   # production set-up

``--ledger postgresql`` runs on the production set-up instead (``deploy/``: PostgreSQL for Prefect and for
the ledger, an authenticated Prefect server, ``--workers`` process workers pulling a snapshot of this
checkout, the supervisor healing), as ``bench/chaos.py`` starts it, without faults.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
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
    from flows.plan.apply import planned_rows
    from flows.plan.windows import ensure_windows
    from flows.runtime import process
    from flows.serving.deployments import register
    from ledger import Planned
    from practiceweek.loader import load

    led = process.ledger()
    ids: list[str] = []
    pending: list[tuple[str, list[Planned]]] = []
    it = iter(times)
    for path, n in zip(paths, per_campaign, strict=True):
        loaded = load(path)
        cheap_first = sorted(planned_rows(loaded, led), key=lambda p: p.channel != "teams_channel")
        rows = [replace(p, scheduled_at=next(it), missed_window_s=900.0) for p in cheap_first[:n]]
        ids += [p.id for p in rows]
        pending.append((loaded.id, rows))
    for cid, rows in pending:
        led.apply(cid, rows)
    ensure_windows(led, led.rows(), register=register)
    return ids


def write_full_campaigns(folder: Path, prefix: str, count: int, distinct: bool = False) -> list[Path]:
    """``count`` partnerships' copies of the seed week with every channel as the seed configures it; with
    ``distinct``, partnerships that differ as real ones do (``bench/fleet.py``)."""
    if distinct:
        from bench.fleet import write_fleet

        return write_fleet(folder, prefix, count)
    folder.mkdir(parents=True, exist_ok=True)
    text = SEED.read_text()
    paths = []
    for i in range(count):
        path = folder / f"{prefix}-{i:03d}.yaml"
        path.write_text(text.replace("id: hscp-lfr-2024", f"id: {prefix}-{i:03d}"))
        paths.append(path)
    return paths


def schedule_rendered(paths: list[Path], at: float) -> tuple[dict[str, list], dict[str, float]]:  # type: ignore[type-arg]
    """Each partnership's first day, every channel, due at ``at``: planned and applied, then rendered
    ahead in one batch (``prerender_many``, as scheduling several files does). Returns the ids and the
    scheduling figures (seconds, cores used, peak memory, CPU s per kind)."""
    import resource

    from flows.plan.apply import planned_rows
    from flows.planning.prerender import prerender_many
    from flows.runtime import process
    from practiceweek.loader import load

    led = process.ledger()
    planned: dict[str, list] = {}  # type: ignore[type-arg]
    started = time.time()
    batch = []
    for path in paths:
        loaded = load(path)
        rows = [replace(p, scheduled_at=at, missed_window_s=900.0)
                for p in planned_rows(loaded, led) if p.day in ("mon", "week")]
        led.apply(loaded.id, rows)
        batch.append((str(path.resolve()), led.rows(loaded.id)))
        planned[loaded.id] = rows
    done = prerender_many(batch)
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    figures = {"schedule_s": time.time() - started, "cores": done.cores_used, "render_s": done.wall_s,
               "rendered": done.rendered, "peak_mb": peak,
               **{f"cpu_{k}": v / len(paths) for k, v in done.cpu_s_by_channel.items()}}
    return planned, figures


def read_back_cost(ids: list[str]) -> dict[str, float]:
    """CPU seconds to read a stored rendering back, per kind (what a publication costs at its time)."""
    from flows.publishing.content import stored_rendering
    from flows.runtime import process

    led = process.ledger()
    cost: dict[str, list[float]] = {}
    for row in (led.get(pid) for pid in ids[:200]):
        if row is None:
            continue
        started = time.process_time()
        if stored_rendering(row) is not None:
            cost.setdefault(row.channel, []).append(time.process_time() - started)
    return {kind: sum(v) / len(v) for kind, v in cost.items()}


def case_rendered(state: Path, partnerships: int, distinct: bool, reports: Path) -> None:
    """``partnerships`` Mondays due at one instant; ``reports``: where the window runs write their CPU."""
    small = write_full_campaigns(state / "campaigns-r15", "bench-s", 15, distinct)
    _, small_figures = schedule_rendered(small, time.time() + 10_000)  # far ahead: only scheduling is timed
    paths = write_full_campaigns(state / "campaigns-r", "bench-r", partnerships, distinct)
    planned, figures = schedule_rendered(paths, time.time() + 10_000)
    import dataclasses

    from flows.plan.windows import ensure_windows
    from flows.runtime import process
    from flows.serving.deployments import register

    led = process.ledger()
    t0 = (time.time() + 60) // 60 * 60 + 90  # the middle of a minute, ≥ 90 s ahead: one window
    for cid, rows in planned.items():  # moved to one instant: the renderings stay valid (same content)
        led.apply(cid, [dataclasses.replace(r, scheduled_at=t0) for r in rows])
    ids = [r.id for rows in planned.values() for r in rows]
    wanted = set(ids)
    idle_rate = server_idle_rate(state)
    server_before, server_before_at = server_cpu(state), time.time()
    ensure_windows(led, [r for r in led.rows() if r.id in wanted], register=register)
    rows = wait_done(ids, max(0.0, t0 - time.time()) + 300)
    server_s = server_cpu(state) - server_before
    report(f"rendered: {len(ids)} publications of {partnerships} partnerships due at one instant",
           rows, state / "outbox")
    by_lane(rows, led.window_lanes(t0 // 60 * 60))
    from bench.send_cpu import print_api, print_breakdown, wait_reports

    wait_done(ids, 900)  # a loaded machine: the CPU figures need every window run to have ended
    wait_reports(reports, led.window_lanes(t0 // 60 * 60))
    time.sleep(PERSIST_S)  # the server stores the last events it was handed
    stored_s, stored_wall = server_cpu(state) - server_before, time.time() - server_before_at
    print_breakdown(reports)
    print_api(reports)
    n = max(len(ids), 1)
    if not server_before:  # the production set-up's API servers are not this bench's processes
        print("  Prefect server CPU: not measured (the production set-up's API servers)")
    else:
        _print_server(n, t0, server_s, stored_s, stored_wall, server_before_at, idle_rate)
    _print_scheduling(partnerships, figures, small_figures, ids)


def _print_server(n: int, t0: float, server_s: float, stored_s: float, stored_wall: float,
                  server_before_at: float, idle_rate: float) -> None:
    """The embedded Prefect server's CPU per publication: over the burst, and the window run's work on it."""
    idle_s = idle_rate * stored_wall
    print(f"  Prefect server (its own process) CPU per publication over the burst: "
          f"{server_s * 1000 / n:.2f} ms (from the window's set-up, {t0 - server_before_at:.0f} s ahead, "
          f"to the last sent)")
    print(f"    from the window's set-up until its run ended and its events were stored "
          f"({stored_wall:.0f} s): {stored_s * 1000 / n:.2f} ms, of which its idle background "
          f"{idle_s * 1000 / n:.2f} ms ({100 * idle_rate:.1f} % of a core, measured for {IDLE_S:.0f} s "
          f"before); the rest, the window run's work on the server: {(stored_s - idle_s) * 1000 / n:.2f} ms")


def _print_scheduling(partnerships: int, figures: dict[str, float], small_figures: dict[str, float],
                      ids: list[str]) -> None:
    kinds = ", ".join(f"{k} {v:.3f}" for k, v in sorted(figures.items()) if k.startswith("cpu_"))
    stored = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in sorted(read_back_cost(ids).items()))
    print(f"  scheduling (plan + render ahead): 15 partnerships {small_figures['schedule_s']:.1f} s, "
          f"{partnerships} partnerships {figures['schedule_s']:.1f} s "
          f"({figures['schedule_s'] / max(small_figures['schedule_s'], 1e-9):.1f}×); peak memory "
          f"{figures['peak_mb']:.0f} MB; rendering ahead {figures['rendered']:.0f} publications took "
          f"{figures['render_s']:.1f} s on {figures['cores']:.2f} cores (CPU s / wall s)")
    print(f"  CPU s per partnership by kind, rendered cold ahead of time: {kinds}")
    print(f"  CPU per publication read back from the store at its time: {stored}")


WORKERS_STATE = "state"  # on the production set-up: the workers' PRACTICEWEEK_STATE, under the bench's state
IDLE_S = 10.0  # how long the server's idle background is measured before the burst's window is set up
PERSIST_S = 7.0  # the server stores events every 5 s (PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL)


def server_idle_rate(state: Path) -> float:
    """The embedded server's CPU seconds per second with nothing to do but its own services and the serving
    process polling it (measured for ``IDLE_S`` before the burst's window is set up)."""
    before = server_cpu(state)
    time.sleep(IDLE_S)
    return (server_cpu(state) - before) / IDLE_S


def server_cpu(state: Path) -> float:
    """CPU seconds the embedded Prefect server's processes have used so far (0 if it is not ours)."""
    from flows.runtime.embedded import child_processes

    try:
        pid = int(json.loads((state / "server.json").read_text())["pid"])
    except (OSError, KeyError, ValueError, TypeError):
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *child_processes(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_done(ids: list[str], timeout: float) -> list:  # type: ignore[type-arg]
    from flows.runtime import process

    led = process.ledger()
    wanted = set(ids)
    deadline = time.time() + timeout
    while True:
        rows = [r for r in led.rows() if r.id in wanted]
        if all(r.state in ("sent", "failed", "skipped", "cancelled") for r in rows) or time.time() > deadline:
            return rows
        time.sleep(1)


def by_lane(rows: list, lanes: int) -> None:  # type: ignore[type-arg]
    """The lateness of each lane's publications (each lane is its own window run, its own process)."""
    from flows.operators.status import lateness, percentiles
    from flows.plan.timing import lane_of

    for lane in range(lanes if lanes > 1 else 0):
        mine = [r for r in rows if lane_of(r.campaign, lanes) == lane]
        stats = percentiles(lateness(mine))
        print(f"  lane {lane + 1}/{lanes}: {len(mine)} publications, lateness p50 {stats['p50']:.3f} s, "
              f"p99 {stats['p99']:.3f} s, max {stats['max']:.3f} s")


def report(name: str, rows: list, outbox: Path) -> dict[str, float]:  # type: ignore[type-arg]
    from flows.operators.status import lateness, percentiles

    stats = percentiles(lateness(rows))
    receipts = [json.loads(p.read_text())["publication_id"] for p in outbox.rglob("receipt.json")]
    ids = {r.id for r in rows}
    published = set(receipts)
    duplicated = len(receipts) - len(published)
    sent = sum(r.state == "sent" for r in rows)
    doubled = sum(r.attempts > 1 for r in rows)
    print(
        f"{name}, sent {sent}, outbox {len(ids & published)}, lost {len(ids - published)}, "
        f"duplicated {duplicated}, claimed twice {doubled}; lateness p50 {stats['p50']:.3f} s, "
        f"p99 {stats['p99']:.3f} s, max {stats['max']:.3f} s",
        flush=True,
    )
    for r in rows:
        if r.state != "sent":
            print(f"  not sent: {r.id} {r.state}: {r.error or ''}"[:300], flush=True)
    return stats


def run_cases(args: argparse.Namespace, state: Path) -> None:
    if args.case in ("a", "all"):
        paths = write_campaigns(state / "campaigns-a", "bench-a", 40)
        t0 = time.time() + 45
        ids = schedule_at(paths, [5] * 40, [t0 + 0.6 * i for i in range(200)])
        rows = wait_done(ids, 45 + 120 + 120)
        report("(a) 200 publications due 0.6 s apart: 200 publications", rows, state / "outbox")
    if args.case in ("b", "all"):
        paths = write_campaigns(state / "campaigns-b", "bench-b", 150)
        t0 = (time.time() + 60) // 60 * 60 + 90  # the middle of a minute, ≥ 90 s ahead: one window
        per = [7] * 100 + [6] * 50
        ids = schedule_at(paths, per, [t0] * sum(per))
        rows = wait_done(ids, (t0 - time.time()) + 240)
        report(
            "(b) burst: 1,000 publications from 150 campaigns due at the same instant: 1000 publications",
            rows,
            state / "outbox",
        )
    if args.case == "rendered":
        reports = state / (WORKERS_STATE if args.ledger == "postgresql" else ".") / "cpu"
        case_rendered(state, args.partnerships, args.distinct, reports)


def on_production(args: argparse.Namespace, state: Path) -> None:
    """The cases on the production set-up: PostgreSQL, authenticated Prefect server, N workers, healing."""
    import threading

    from deploy.production import open_stack, snapshot_repo

    stack = open_stack(state / "stack")
    stack.extra_env = {
        "PRACTICEWEEK_REPO": snapshot_repo(ROOT, state / "repo"),
        "PRACTICEWEEK_BRANCH": "main",
        "PRACTICEWEEK_STATE": str(state / WORKERS_STATE),
        "PRACTICEWEEK_SEND_CPU_REPORT": "true",  # window runs write their CPU by part (bench/send_cpu.py)
        "PRACTICEWEEK_OUTBOX": str(state / "outbox"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    stop = threading.Event()
    try:
        stack.up(args.workers)
        stack.deploy()
        os.environ.update({k: v for k, v in stack.client_env().items()
                           if k.startswith(("PREFECT_", "PRACTICEWEEK_"))})
        supervisor = threading.Thread(target=stack.supervise, args=(args.workers,),
                                      kwargs={"heal_every": 3.0, "stop": stop}, daemon=True)
        supervisor.start()
        print(f"production set-up: PostgreSQL ledger, {args.workers} worker(s); state {state}", flush=True)
        run_cases(args, state)
    finally:
        stop.set()
        stack.down()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case", choices=("a", "b", "all", "rendered"), default="all")
    parser.add_argument("--partnerships", type=int, default=150, help="rendered case: how many")
    parser.add_argument("--distinct", action="store_true",
                        help="rendered case: partnerships that differ as real ones do (bench/fleet.py), "
                             "not copies of one seed")
    parser.add_argument("--state", default=None, help="state folder (default: a new temporary one)")
    parser.add_argument("--ledger", choices=("sqlite", "postgresql"), default="sqlite",
                        help="postgresql: the production set-up (deploy/) instead of the embedded default")
    parser.add_argument("--workers", type=int, default=2, help="with --ledger postgresql: how many workers")
    args = parser.parse_args()
    state = Path(args.state or tempfile.mkdtemp(prefix="practiceweek-bench-")).resolve()
    state.mkdir(parents=True, exist_ok=True)
    extra = f" --partnerships {args.partnerships}" if args.case == "rendered" else ""
    extra += " --distinct" if args.distinct and args.case == "rendered" else ""
    if args.ledger == "postgresql":
        os.chmod(state, 0o711)  # PostgreSQL runs as its own OS user when started as root
        on_production(args, state)
        print(f"reproduce: .venv/bin/python bench/lateness.py --case {args.case}{extra} --ledger postgresql "
              f"--workers {args.workers}")
        return
    os.environ.update(
        {
            "PRACTICEWEEK_STATE": str(state),
            "PRACTICEWEEK_OUTBOX": str(state / "outbox"),
            "PRACTICEWEEK_LEDGER_URL": f"sqlite:///{state / 'ledger.sqlite3'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PRACTICEWEEK_SEND_CPU_REPORT": "true",  # window runs write their CPU by part (bench/send_cpu.py)
        }
    )
    from flows.runtime.embedded import ensure_server, start_serving, wait_served

    server = ensure_server(state)
    os.environ["PREFECT_API_URL"] = server.api_url
    serving = start_serving(server.api_url, log=state / "serve.log")
    try:
        assert wait_served(server.api_url), "deployments not served"
        print(f"Prefect server {server.ui_url}; state {state}", flush=True)
        run_cases(args, state)
    finally:
        serving.terminate()
        serving.wait(20)
        from flows.runtime.embedded import stop_server

        if server.started:
            stop_server(state)
    print("reproduce: .venv/bin/python bench/lateness.py --case " + args.case + extra)


if __name__ == "__main__":
    main()
