"""The chaos benchmark's hosts (bench/chaos_hosts.py) and its joint week (bench/chaos.py): a takeover is
measured from the old owner's last beat and charged to the host blow that caused it, a joint week's
partners publish through accounts of their own, their effects told apart, and one partner's revoked token
(``--revoke-partner``) is counted as held on its own account only (the host blows' signals:
tests/integration/test_bench_host_signals.py)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import random
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ledger import Window
from practiceweek.loader import load
from practiceweek.planner import plan
from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import write_results
from chaos_hosts import DOWN_S, FREEZE_S, GAP_S, Hosts, TakeoverWatch, busiest, plan_blows

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
    late = {"from": "a", "to": "z", "last_beat": 140.0, "taken": 165.0, "seconds": 25.0, "window": 600.0,
            "lane": 0, "queue": "worker-1"}  # "a" beat again after the blow, and stopped for another cause
    got = hosts.summary([*watch.takeovers, late], t0=0.0)
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


def test_the_trace_says_when_a_lanes_spare_starts_beating(tmp_path: Path) -> None:
    """A lane's line is written again when one of its spares starts (or stops) beating, with each spare's
    queue, number and whether it beats: what tracing a slow takeover needs (which spare was live)."""
    watch = TakeoverWatch(led=None, trace=tmp_path / "trace.jsonl")
    placed = {(600.0, 0): [("worker-1", 1, 630.0, None), ("worker-3", 1, 630.0, None)]}
    started = {(600.0, 0): [("worker-1", 1, 630.0, None), ("worker-3", 1, 604.0, 604.0)]}
    for spares in (placed, placed, started):
        watch.write_trace([_row("a", 605.0)], 606.0, spares)
    lines = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    assert [line["spares"] for line in lines] == [[["worker-1", 1, False], ["worker-3", 1, False]],
                                                  [["worker-1", 1, False], ["worker-3", 1, True]]]


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
    assert chaos.revoke_target(paths) == accounts["isle-of-wight"] != accounts["hampshire"]
    with pytest.raises(ValueError, match="needs a joint week"):
        chaos.revoke_target(single)


def _status(t: float, account: str, mark: str) -> dict[str, Any]:
    item = {"content": f"[C{mark}] a post"}
    return {"t": t, "type": "effect", "provider": "mastodon", "account": account, "kind": "status",
            "item": item}


def _masto(pid: str, account: str, at: float, state: str, sent_at: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(id=pid, state=state, scheduled_at=at, sent_at=sent_at, missed_window_s=120.0,
                           route=("mastodon", f"{account}-mastodon"), campaign=pid.split("/")[0], error="")


def test_one_partners_revoked_token_is_counted_as_held_on_its_account_and_the_others_delivered(
    tmp_path: Path,
) -> None:
    """Revoked at t=100 on p03 (the joint week's Isle of Wight): its post before is delivered, two after are
    held (skipped, failed), one is lost; Hampshire's (p02) and another partnership's (p00) go out, p01's
    one failure is not charged to the revoke."""
    rows = [
        _masto("scw/m1/iow", "p03", 50.0, "sent", 55.0),
        _masto("scw/m2/iow", "p03", 120.0, "skipped"),
        _masto("scw/m3/iow", "p03", 130.0, "failed"),
        _masto("scw/m4/iow", "p03", 140.0, "pending"),
        _masto("scw/m2/hants", "p02", 120.0, "sent", 121.0),
        _masto("hscp/m2", "p00", 125.0, "sent", 126.0),
        _masto("iow/m3", "p01", 150.0, "failed"),
    ]
    want = {("mastodon", "02-1@p03"): "scw/m1/iow", ("mastodon", "02-2@p03"): "scw/m2/iow",
            ("mastodon", "02-3@p03"): "scw/m3/iow", ("mastodon", "02-4@p03"): "scw/m4/iow",
            ("mastodon", "02-2@p02"): "scw/m2/hants", ("mastodon", "00-2"): "hscp/m2",
            ("mastodon", "01-3"): "iow/m3"}
    folder = tmp_path / "providers"
    folder.mkdir()
    effects = [_status(55.0, "p03", "02-1"), _status(121.0, "p02", "02-2"), _status(126.0, "p00", "00-2")]
    (folder / "providers.jsonl").write_text("".join(json.dumps(e) + "\n" for e in effects))
    result = chaos.analyse(folder, rows, want, 100.0, {}, revoked_account="p03")
    one = result["revoked_account"]
    assert (one["delivered_before"], one["delivered_after"], one["held"], one["lost"]) == (1, 0, 2, 1)
    assert one["held_ids"] == ["scw/m2/iow", "scw/m3/iow"] and one["lost_ids"] == ["scw/m4/iow"]
    assert (one["others_delivered"], one["others_due"]) == (2, 3)
    assert one["others_not_delivered"] == ["iow/m3: failed"]
    assert result["per_channel"]["mastodon"]["failed_after_revoke"] == 2  # not p01's failure
    assert result["missing_ids"] == ["scw/m4/iow"] and result["wrong_account"] == 0
    assert chaos._revoke_time(rows, 0.5, "p03") == 95.0  # mid-way through its own posts (50 to 140)
    assert chaos._revoke_time(rows, 0.5, None) == 100.0 and chaos._revoke_time(rows, None, "p03") is None
    every = chaos.analyse(folder, rows, want, 100.0, {})  # the whole provider revoked: no per-account row
    assert "revoked_account" not in every and every["per_channel"]["mastodon"]["failed_after_revoke"] == 3
    one.update(held_alerted=1, revoked_at_fraction=0.4, stopped=["mastodon@p03-mastodon"],
               partner="isle-of-wight of scw-2023-c02")
    row = write_results._revoked_row(one)
    assert row.startswith("| **revoked account** (p03's Mastodon token: isle-of-wight of scw-2023-c02, "
                          "at 40 % of its week) | held 2 ")
    assert "held 2 of its posts (failed/skipped, 1 alerted), lost 1, 1 delivered before the revoke" in row
    assert "delivered 2/3 (not: ['iow/m3: failed']); connectors stopped: mastodon@p03-mastodon |" in row


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


def test_a_host_blow_strikes_the_host_running_the_most_flow_runs() -> None:
    """The loss that needs a takeover: the host whose processes run the window runs (ties at random)."""
    assert busiest({1: set(), 2: {"owner", "standby"}, 3: {"other"}}, random.Random(1)) == 2
    picks = {busiest({1: {"a"}, 2: set(), 3: {"b"}}, random.Random(seed)) for seed in range(20)}
    assert picks == {1, 3}


def test_six_host_kills_and_six_freezes_fall_inside_the_week_one_host_at_a_time() -> None:
    """The blows asked for are planned over what is left of the week (they used to wait until every part
    was up again, which with 20 kills each of the other parts was rarely so: 5 and 4 of 6 and 6 fell in the
    week). One host at a time: each starts once the last is back, with time between for spares to start."""
    begin, end = 1000.0, 1000.0 + 640.0  # a 12-minute week, less what scheduling took
    for seed in range(20):
        blows = plan_blows({"host-kill": 6, "host-freeze": 6}, begin, end, random.Random(seed))
        assert sorted(kind for _, kind, _ in blows) == ["host-freeze"] * 6 + ["host-kill"] * 6
        assert all(s == DOWN_S for _, kind, s in blows if kind == "host-kill")
        assert all(FREEZE_S[0] <= s <= FREEZE_S[1] for _, kind, s in blows if kind == "host-freeze")
        assert blows[0][0] >= begin
        for (at, _, seconds), (after, _, _) in zip(blows, blows[1:], strict=False):
            assert after - (at + seconds) >= GAP_S - 1e-9  # the last host back before the next blow
        busy = sum(seconds for _, _, seconds in blows)
        if busy + 12 * GAP_S <= end - begin:  # when they fit (this week: unless the freezes run long)
            last_at, _, last_s = blows[-1]
            assert last_at + last_s <= end
    assert plan_blows({}, begin, end, random.Random(1)) == []
