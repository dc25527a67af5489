"""Planning at scale: schedule one week for each of 15, then 150 partnerships on the production set-up
(PostgreSQL ledger, authenticated Prefect server on PostgreSQL), through the flows' scheduling API
(``flows.planning.schedule.apply_and_render_ahead``: plan, apply to the ledger, emit events, schedule window
runs, render ahead).

    .venv/bin/python bench/scale_plan.py [--small 15] [--large 150] [--out bench/out/scale_plan.json]

Each size gets its own future week (so the large run cannot reuse the small run's window runs) and its
own campaign ids, generated from campaigns/*.yaml. Prints scheduling time and peak traced memory
(tracemalloc) for both sizes and the ratio large/small; the target is ≤ 11× for 10× the partnerships.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from chaos import variants  # noqa: E402

from deploy.production import Stack  # noqa: E402


def _monday(weeks_ahead: int) -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=7 * weeks_ahead - today.weekday())


def schedule(paths: list[Path]) -> dict[str, Any]:
    """Schedule every campaign; return time, peak traced memory and what was created."""
    from flows.planning.schedule import apply_and_render_ahead
    from flows.runtime import process
    from practiceweek.loader import load

    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    windows_before = len(process.ledger().windows())
    start = time.perf_counter()
    added = 0
    for path in paths:
        diff, _ = apply_and_render_ahead(load(path), real=True)
        added += len(diff.added)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - before
    return {
        "partnerships": len(paths),
        "publications": added,
        "seconds": round(seconds, 2),
        "per_partnership_ms": round(1000 * seconds / max(1, len(paths)), 1),
        "peak_traced_mib": round(peak / 2**20, 1),
        "window_runs": len(process.ledger().windows()) - windows_before,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=15)
    parser.add_argument("--large", type=int, default=150)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="practiceweek-scale-"))
    os.chmod(root, 0o711)
    stack = Stack.create(root / "stack")
    try:
        stack.up(workers=0)  # nothing runs: the windows are scheduled weeks ahead
        stack.deploy()
        os.environ.update(
            {k: v for k, v in stack.client_env().items() if k.startswith(("PREFECT_", "PRACTICEWEEK_"))}
        )
        small = variants(args.small, root / "small", start=_monday(3), connectors=False, prefix="s")
        large = variants(args.large, root / "large", start=_monday(5), connectors=False, prefix="l")
        tracemalloc.start()
        warm = variants(1, root / "warm", start=_monday(8), connectors=False, prefix="w")
        schedule(warm)  # imports, connections and the first deployment lookup are paid once, not by "small"
        results = [schedule(small), schedule(large)]
        tracemalloc.stop()
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
    s, l_ = results
    out = {
        "small": s,
        "large": l_,
        "time_ratio": round(l_["seconds"] / s["seconds"], 2),
        "memory_ratio": round(l_["peak_traced_mib"] / max(s["peak_traced_mib"], 0.1), 2),
        "partnership_ratio": round(l_["partnerships"] / s["partnerships"], 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "target": "time and memory for the large run ≤ 11× the small run",
        "command": "bench/scale_plan.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    out["ok"] = out["time_ratio"] <= 11 and out["memory_ratio"] <= 11
    text = json.dumps(out, indent=2)
    print(text)
    for r in results:
        print(
            f"{r['partnerships']:4d} partnerships: {r['publications']:5d} publications scheduled in "
            f"{r['seconds']:7.2f} s, peak traced memory {r['peak_traced_mib']:6.1f} MiB, "
            f"{r['window_runs']} window runs",
            file=sys.stderr,
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
