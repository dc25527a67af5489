"""Posts measured by many threads at once in a fresh interpreter (a window run's publish tasks): none sees
twitter-text half imported. The HA chaos run failed 3 X posts with 'partially initialized module'."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

MEASURE_AT_ONCE = """
import threading
from practiceweek.textlimits import x_length
texts = ["Read the toolkit at https://example.org/toolkit today", "Café ☕ and https://example.org/a"] * 16
errors, barrier = [], threading.Barrier(len(texts))
def measure(text):
    barrier.wait()
    try:
        x_length(text)
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=measure, args=(t,)) for t in texts]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(errors), errors[:1])
"""


def test_threads_measuring_x_posts_at_once_never_see_twitter_text_half_imported() -> None:
    for _ in range(5):  # a fresh interpreter each time: the race is at first import
        done = subprocess.run([sys.executable, "-c", MEASURE_AT_ONCE], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("0 "), done.stdout
