"""Benchmark: `practiceweek preview` of one seed week, then of ten weeks (ten copies with different ids).

Ten weeks run in a process pool (one week per task, posters are CPU-bound Typst work), so on
N cores the ten weeks should take well under ten times one week; the target is ten ≤ 10.5 × one.
Both figures include starting worker processes and importing the renderers, measured the same way.

    .venv/bin/python bench/preview.py [--seed campaigns/hscp-learning-from-reviews-2024.yaml] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _one(args: tuple[str, str]) -> int:
    from practiceweek.loader import load
    from practiceweek.render import preview

    path, out = args
    preview(load(path), Path(out))
    return sum(1 for p in Path(out).rglob("*") if p.is_file())


def _copies(seed: Path, folder: Path, n: int) -> list[Path]:
    text = seed.read_text(encoding="utf-8")
    match = re.search(r"^  id:\s*(\S+)", text, re.M)
    assert match, "seed has no campaign id"
    paths = []
    for i in range(n):
        path = folder / f"week-{i:02d}.yaml"
        path.write_text(
            text.replace(f"id: {match.group(1)}", f"id: {match.group(1)}-copy{i:02d}", 1), encoding="utf-8"
        )
        paths.append(path)
    return paths


def _pool(jobs: list[tuple[str, str]], workers: int) -> tuple[float, int]:
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        files = sum(pool.map(_one, jobs))
    return time.perf_counter() - start, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    seed = ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml"
    parser.add_argument("--seed", type=Path, default=seed)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pw-bench-preview-"))
    try:
        src = work / "src"
        src.mkdir()
        weeks = _copies(args.seed, src, 11)
        one_s, one_files = _pool([(str(weeks[10]), str(work / "one"))], 1)
        ten_jobs = [(str(w), str(work / f"ten-{i:02d}")) for i, w in enumerate(weeks[:10])]
        ten_s, ten_files = _pool(ten_jobs, min(args.workers, 10))
        start = time.perf_counter()  # reference: the same ten weeks one after another in this process
        for job in ten_jobs:
            _one((job[0], job[1] + "-seq"))
        seq_s = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = ten_s / one_s
    print(f"seed: {args.seed.relative_to(ROOT) if args.seed.is_relative_to(ROOT) else args.seed}")
    print(f"cores: {os.cpu_count()}  workers: {min(args.workers, 10)}")
    print(f"one week  (1 worker process):        {one_s:6.2f} s  ({one_files} files)")
    print(
        f"ten weeks (process pool):            {ten_s:6.2f} s  ({ten_files} files)  = {ratio:.2f} x one week"
    )
    print(f"ten weeks (one process, sequential): {seq_s:6.2f} s  = {seq_s / one_s:.2f} x one week")
    print(f"target ten <= 10.5 x one: {'met' if ratio <= 10.5 else 'NOT met'}")
    print("reproduce: .venv/bin/python bench/preview.py")


if __name__ == "__main__":
    main()
