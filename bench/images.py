"""Benchmark: CPU time to make one poster (PDF + PNG) and one social card image, cold and warm.

Cold: the first image made in a fresh Python process (importing the renderer's libraries included; the
campaign is loaded and planned before the clock starts). Warm: the median of the following images of
the same week (every day's, caches emptied before each). CPU time is ``time.process_time()``.

    .venv/bin/python bench/images.py [--seed campaigns/iowscp-domestic-abuse-2024.yaml] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _clear_caches() -> None:
    """Empty the renderers' per-campaign image caches, so each image is really made."""
    import importlib

    for module in ("practiceweek.render.poster", "practiceweek.render.social_card"):
        try:
            mod = importlib.import_module(module)
        except ImportError:  # older trees have no social card module
            continue
        for name in ("_CACHE", "_CARDS"):
            cache = getattr(mod, name, None)
            if isinstance(cache, dict):
                cache.clear()


def _image(loaded, pub) -> bytes:  # type: ignore[no-untyped-def]
    from practiceweek.render import render

    rendered = render(loaded, pub)
    if pub.channel == "poster":
        return rendered.attachments[0].data
    image = rendered.posts[0].image
    assert image is not None
    return image.data


def _measure(seed: str, channel: str, repeat: int) -> dict[str, object]:
    """Run in a fresh process: cold time of the first image, then warm times."""
    from practiceweek.loader import load
    from practiceweek.planner import plan

    loaded = load(seed)
    pubs = [p for p in plan(loaded.model) if p.channel == channel and p.slot == "daily"]
    times = []
    for _ in range(repeat):
        for pub in pubs:
            _clear_caches()
            start = time.process_time()
            data = _image(loaded, pub)
            times.append(time.process_time() - start)
    return {"channel": channel, "cold_ms": times[0] * 1000, "warm_ms": statistics.median(times[1:]) * 1000,
            "images": len(times), "bytes": len(data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", default=str(ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["poster", "x"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.seed, args.child, args.repeat)))
        return
    print(f"CPU time per image, {Path(args.seed).name} (cold: first in a fresh process; warm: median)")
    for channel, label in (("poster", "poster (PDFs + PNG)"), ("x", "social card image")):
        out = subprocess.run([sys.executable, __file__, "--seed", args.seed, "--repeat", str(args.repeat),
                              "--child", channel], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        print(f"  {label:24s} cold {r['cold_ms']:7.1f} ms   warm {r['warm_ms']:7.1f} ms"
              f"   ({r['images']} images, last {r['bytes']} bytes)")
    print(f"reproduce: .venv/bin/python bench/images.py --seed {args.seed} --repeat {args.repeat}")


if __name__ == "__main__":
    main()
