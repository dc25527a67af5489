"""The chaos benchmark's hosts (bench/chaos_hosts.py) and its joint week (bench/chaos.py): a takeover is
measured from the old owner's last beat and charged to the host blow that caused it, and a joint week's
partners publish through accounts of their own, their effects told apart (the host blows' signals:
tests/integration/test_bench_host_signals.py)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

from ledger import Window
from practiceweek.loader import load
from practiceweek.planner import plan
from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from chaos_hosts import Hosts, TakeoverWatch

_spec = importlib.util.spec_from_file_location("practiceweek_bench_chaos_unit", ROOT / "bench" / "chaos.py")
assert _spec is not None and _spec.loader is not None
chaos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chaos)


def _row(owner: str, beat: float) -> Window:
    return Window(600.0, 0, 1, "running", owner, beat, "worker-2", 0, None, 1)


def test_a_takeover_counts_from_the_old_owners_last_beat_and_is_charged_to_its_hosts_blow() -> None:
    watch = TakeoverWatch(led=None)
    for rows in ([_row("a", 100.0)], [_row("a", 102.0)], [_row("a", 102.0)], [_row("b", 108.5)],
                 [_row("b", 110.5)]):
        watch.look(rows)
    assert [(t["from"], t["to"], t["seconds"]) for t in watch.takeovers] == [("a", "b", 6.5)]
    hosts = Hosts(SimpleNamespace(held=set()), 3, rng=None)  # type: ignore[arg-type]
    hosts.blows = [
        {"host": 2, "kind": "host-kill", "at": 103.0, "back": 133.0, "processes": 4, "runs": ["a"]},
        {"host": 1, "kind": "host-freeze", "at": 200.0, "back": 240.0, "processes": 3, "runs": ["c"]},
    ]
    got = hosts.summary(watch.takeovers, t0=0.0)
    assert (got["host_kills"], got["host_freezes"]) == (1, 1)
    assert got["slowest_takeover_after_host_kill_s"] == 6.5
    assert got["slowest_takeover_after_host_freeze_s"] is None  # its host owned no window
    assert got["slowest_takeover_after_host_loss_s"] == 6.5


def test_a_done_windows_new_run_is_no_takeover() -> None:
    """An owner that finished its window early beats 'done' and ends; work arriving for the window later
    gets a new run from healing: not a takeover, and its delay (the time nothing was due) is not one's."""
    watch = TakeoverWatch(led=None)
    done = Window(600.0, 0, 1, "done", "a", 102.0, "worker-2", 0, None, 1)
    for rows in ([_row("a", 100.0)], [done], [done], [_row("b", 160.0)]):
        watch.look(rows)
    assert watch.takeovers == [] and [(t["from"], t["to"]) for t in watch.rearmed] == [("a", "b")]


def test_a_joint_week_keeps_its_partners_each_on_accounts_of_its_own(tmp_path: Path) -> None:
    paths = chaos.variants(3, tmp_path, start=dt.date(2026, 12, 7), accounts=True)
    joint = [p for p in paths if chaos._partner_accounts(p)]
    assert len(joint) == 1
    accounts = chaos._partner_accounts(joint[0])
    assert len(accounts) == 2 and len(set(accounts.values())) == 2
    assert chaos.accounts_needed(3) == 4
    want = chaos.expected(paths)
    assert len(want) == sum(len(plan(load(p).model)) for p in paths)  # every publication, keys unique
    effect = {"kind": "status", "account": accounts["isle-of-wight"], "item": {"content": "[C02-1] x"}}
    key = ("mastodon", f"02-1@{accounts['isle-of-wight']}")
    assert chaos.attribute(effect, set(accounts.values()))[:2] == key and want[key].endswith("/isle-of-wight")
    single = chaos.variants(3, tmp_path / "single", start=dt.date(2026, 12, 7))
    assert not any(chaos._partner_accounts(p) for p in single)  # without accounts: its first partner's
    assert len(chaos.expected(single)) < len(want)


def test_channel_order_is_checked_per_partner_as_the_scheduler_keeps_it() -> None:
    """A joint week's partners publish through accounts of their own and one's delayed post never holds the
    other's (``Ledger.earlier_open``): a partner's Tuesday post reaching its account before the other
    partner's delayed Monday post is in order; the same partner's is not."""
    rows = {pid: SimpleNamespace(campaign="scw", scheduled_at=at, sent_at=None) for pid, at in (
        ("scw/mon/bluesky/daily/hampshire", 100.0), ("scw/tue/bluesky/daily/hampshire", 200.0),
        ("scw/mon/bluesky/daily/isle-of-wight", 100.0), ("scw/tue/bluesky/daily/isle-of-wight", 200.0))}
    want = {("bluesky", pid): pid for pid in rows}
    arrived = {"scw/mon/bluesky/daily/hampshire": 230.0,  # held back (retries), after the other's Tuesday
               "scw/tue/bluesky/daily/hampshire": 231.0, "scw/mon/bluesky/daily/isle-of-wight": 100.0,
               "scw/tue/bluesky/daily/isle-of-wight": 200.0}
    copies = {("bluesky", pid): [at] for pid, at in arrived.items()}
    assert chaos._out_of_order(want, copies, rows) == []
    copies[("bluesky", "scw/tue/bluesky/daily/hampshire")] = [229.0]  # its own Tuesday before its Monday
    assert chaos._out_of_order(want, copies, rows) == ["scw/tue/bluesky/daily/hampshire"]
