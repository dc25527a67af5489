"""A host blow of the chaos benchmark (bench/chaos_hosts.py) reaches every process of a host's trees, also
one that started a session of its own (as a flow run may), and wakes them all."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from chaos_hosts import signal_all, tree


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_host_blow_reaches_every_process_of_the_tree_also_one_in_a_session_of_its_own() -> None:
    code = ("import subprocess, sys, time; subprocess.Popen(['sleep', '60'], start_new_session=True); "
            "print('ok', flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == b"ok"
        pids = tree([parent.pid])
        assert len(pids) == 2  # the parent and its child in another session
        signal_all(pids, signal.SIGSTOP)
        time.sleep(0.2)
        assert [_state(p) for p in pids] == ["T", "T"]
        signal_all(pids, signal.SIGCONT)
        time.sleep(0.2)
        assert "T" not in [_state(p) for p in pids]
    finally:
        signal_all(tree([parent.pid]), signal.SIGKILL)
        parent.wait()
