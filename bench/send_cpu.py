"""The send path's CPU per publication, by part, from what each window run wrote as it ended
(``flows/runtime/cpu.py``, with ``PRACTICEWEEK_SEND_CPU_REPORT`` on). Used by ``bench/lateness.py``.

CPU time, not wall time: the machine is shared, and a busy neighbour stretches wall times but not the CPU
seconds this process spent. The parts:

- Prefect task bookkeeping: the publish task threads' CPU outside the task's own code (the task engine:
  the task run made, its states and their events), submitting the tasks, the progress bar, the log line and
  events of each publication, and Prefect's background threads (events and logs sent to the server);
- ledger: reads of the guard (the row, stopped connectors, earlier publications of its channel), the
  claim, the fence checks and the record of the receipt;
- content: the stored rendering read back (or rendered, if not ahead); connector: ``publish`` (outbox write,
  or the provider's HTTP requests);
- read-back/refresh: the plan tables and artifacts (per publication in a quiet window, once at the end of a
  crowded one, and the background thread that rewrites them);
- window loop: the window run's own looks at what is due, its render ahead and its start;
- start-up and flow engine: the flow's thread outside its parts (imports, the flow run's own states);
- other: the rest of threads that ended, the task's own code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PREFECT_THREADS = ("EventsWorker", "APILogWorker", "EventLoopThread", "practiceweek-events")
ORDER = ("Prefect task bookkeeping", "ledger: guard reads", "ledger: claim, fence, record",
         "content read back", "connector", "read-back/refresh", "window loop", "start-up and flow engine",
         "other")


def _charge(out: dict[str, float], part: str, seconds: float) -> None:
    out[part] = out.get(part, 0.0) + seconds


def _from_parts(parts: dict[str, float], out: dict[str, float]) -> None:
    names = {"ledger.guard": "ledger: guard reads", "ledger.claim": "ledger: claim, fence, record",
             "ledger.fence": "ledger: claim, fence, record", "ledger.record": "ledger: claim, fence, record",
             "content": "content read back", "connector": "connector", "readback": "read-back/refresh",
             "task": "other"}
    for key, seconds in parts.items():
        if key.startswith("#"):
            continue
        if key.startswith("prefect."):
            _charge(out, "Prefect task bookkeeping", seconds)
        elif key.startswith("window."):
            _charge(out, "window loop", seconds)
        else:
            _charge(out, names.get(key, "other"), seconds)


def _from_threads(threads: list[dict[str, Any]], out: dict[str, float]) -> float:
    """Charge what the parts did not count, by thread; returns the live threads' CPU."""
    total = 0.0
    for t in threads:
        total += t["cpu_s"]
        if any(name in t["name"] for name in PREFECT_THREADS):  # (the events thread counts events only)
            _charge(out, "Prefect task bookkeeping", max(0.0, t["cpu_s"] - (t["counted_s"] or 0.0)))
        elif t["counted_s"] is not None:  # a thread that counted: its rest is the engine around its parts
            rest = max(0.0, t["cpu_s"] - t["counted_s"])
            _charge(out, "Prefect task bookkeeping" if t["tasks"] else "start-up and flow engine", rest)
        elif t["name"] == "status-tables":
            _charge(out, "read-back/refresh", t["cpu_s"])
        else:
            _charge(out, "other", t["cpu_s"])
    return total


def breakdown(folder: Path) -> tuple[dict[str, float], int, float]:
    """CPU seconds by part over every window run's report in ``folder``; publications sent; process CPU."""
    out: dict[str, float] = {}
    sent, process_s = 0, 0.0
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        _from_parts(data["parts"], out)
        live = _from_threads(data["threads"], out)
        counted = sum(v for k, v in data["parts"].items() if not k.startswith("#"))
        ended = counted - sum(t["counted_s"] or 0.0 for t in data["threads"])  # parts of threads that ended
        _charge(out, "other", max(0.0, data["process_s"] - live - ended))  # the rest of threads that ended
        sent += int(data["parts"].get("#sent", 0))
        process_s += data["process_s"]
    return out, sent, process_s


def print_breakdown(folder: Path) -> None:
    """One line per part: CPU ms per publication sent by the window runs, and its share."""
    out, sent, process_s = breakdown(folder)
    runs = len(list(folder.glob("*.json")))
    if not sent:
        print(f"  send-path CPU: no window run reported ({folder})")
        return
    print(f"  send-path CPU per publication (CPU time of {runs} window-run process(es), {sent} sent): "
          f"{process_s * 1000 / sent:.2f} ms in all")
    for part in ORDER:
        seconds = out.get(part, 0.0)
        share = 100 * seconds / max(process_s, 1e-9)
        print(f"    {part:<32} {seconds * 1000 / sent:7.2f} ms  {share:5.1f} %")


def print_api(folder: Path) -> None:
    """The Prefect API requests the window runs made (by route, per publication sent), and events emitted."""
    routes: dict[str, int] = {}
    sent = events = 0
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        sent += int(data["parts"].get("#sent", 0))
        events += int(data["parts"].get("#events", 0))
        for route, n in data.get("api", {}).items():
            routes[route] = routes.get(route, 0) + n
    if not sent:
        return
    total = sum(routes.values())
    print(f"  Prefect API requests of the window run(s): {total} ({total / sent:.2f} per publication); "
          f"events emitted {events} ({events / sent:.2f} per publication)")
    for route, n in sorted(routes.items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {n:6d}  {route}")


def wait_reports(folder: Path, runs: int, timeout_s: float = 300.0) -> None:
    """Wait until ``runs`` window runs have written their reports (as they end), or ``timeout_s``."""
    import time

    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if folder.exists() and len(list(folder.glob("*.json"))) >= runs:
            return
        time.sleep(0.5)


if __name__ == "__main__":  # the breakdown of a run's reports again: python bench/send_cpu.py <state>/cpu
    import sys

    print_breakdown(Path(sys.argv[1]))
    print_api(Path(sys.argv[1]))
