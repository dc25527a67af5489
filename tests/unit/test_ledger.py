"""The ledger: compare-and-set transitions, diffs of a re-planned campaign, crash recovery, window runs."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from flows.plan.timing import lane_of, lanes_for
from ledger import Ledger, Planned


def _p(pid: str, at: float, fp: str = "f1", channel: str = "email") -> Planned:
    return Planned(
        id=pid,
        campaign="c",
        day="mon",
        channel=channel,
        connector="outbox",
        title=pid,
        fingerprint=fp,
        planned_at=at,
        scheduled_at=at,
        missed_window_s=60,
        snapshot="{}",
    )


@pytest.fixture()
def led(tmp_path: Path) -> Ledger:
    led = Ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    led.set_campaign("c", "c.yaml")
    return led


def test_claim_is_won_by_exactly_one_of_many_threads(led: Ledger) -> None:
    led.apply("c", [_p("c/mon/email/daily", 100.0)])
    wins: list[bool] = []
    barrier = threading.Barrier(16)

    def go() -> None:
        other = Ledger(led.url)
        barrier.wait()
        wins.append(other.claim("c/mon/email/daily"))

    threads = [threading.Thread(target=go) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1
    row = led.get("c/mon/email/daily")
    assert row is not None and row.state == "sending" and row.attempts == 1


def _claim_in_process(url: str, pid: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(Ledger(url).claim(pid))


def test_claim_is_won_by_exactly_one_of_several_processes(led: Ledger) -> None:
    led.apply("c", [_p("c/mon/x/daily", 100.0, channel="x")])
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(led.url, "c/mon/x/daily", out)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    results = [out.get(timeout=5) for _ in procs]
    assert results.count(True) == 1


def test_sent_is_final_and_records_the_receipt(led: Ledger) -> None:
    led.apply("c", [_p("a", 1.0)])
    assert led.claim("a")
    assert led.mark_sent("a", "remote-1", "https://example.org/a", "https://teams/join")
    assert not led.claim("a") and not led.mark_skipped("a", "late") and not led.release("a")
    row = led.get("a")
    assert row and (row.state, row.remote_id, row.url, row.join_url) == (
        "sent",
        "remote-1",
        "https://example.org/a",
        "https://teams/join",
    )
    assert row.sent_at is not None and row.sending_at is not None


def test_apply_reports_added_moved_updated_cancelled_and_unchanged(led: Ledger) -> None:
    first = led.apply("c", [_p("a", 10), _p("b", 20), _p("c", 30), _p("d", 40, channel="teams_event")])
    assert sorted(first.added) == ["a", "b", "c", "d"] and first.unchanged == 0
    assert led.claim("d") and led.mark_sent("d", "ev-1")
    diff = led.apply("c", [_p("a", 10), _p("b", 25), _p("c", 30, fp="f2"), _p("e", 50)])
    assert diff.added == ["e"]
    assert diff.moved == [("b", 20, 25)]
    assert diff.updated == ["c"]
    assert sorted(r.id for r in diff.cancelled) == ["d"]  # a sent Teams event is withdrawn
    assert diff.unchanged == 1
    assert led.get("d").state == "cancelled"  # type: ignore[union-attr]
    again = led.apply("c", [_p("a", 10), _p("b", 25), _p("c", 30, fp="f2"), _p("e", 50)])
    assert again.empty and again.unchanged == 4
    assert led.campaign("c").revision == 2  # type: ignore[union-attr]


def test_removed_after_sending_is_left_alone(led: Ledger) -> None:
    led.apply("c", [_p("a", 10), _p("b", 20)])
    assert led.claim("a") and led.mark_sent("a", "r")
    diff = led.apply("c", [])
    assert diff.removed_sent == ["a"] and [r.id for r in diff.cancelled] == ["b"]
    assert led.get("a").state == "sent"  # type: ignore[union-attr]


def test_a_crash_while_sending_becomes_unknown_then_reconcilable(led: Ledger) -> None:
    led.apply("c", [_p("a", 10)])
    assert led.claim("a", lease_s=-1)  # its worker died: the lease is already over
    assert led.recover() == ["a"]
    assert led.get("a").state == "unknown"  # type: ignore[union-attr]
    assert not led.claim("a")  # never straight from unknown without reconciling
    assert led.claim("a", from_states=("unknown",))
    assert led.get("a").attempts == 2  # type: ignore[union-attr]


def test_missed_window_skip_only_from_open_states(led: Ledger) -> None:
    led.apply("c", [_p("a", 10)])
    assert led.mark_skipped("a", "late")
    row = led.get("a")
    assert row and row.state == "skipped" and row.error == "late"
    assert not led.mark_skipped("a", "again")


def test_window_runs_are_deduplicated_until_stale(led: Ledger) -> None:
    assert led.window_needed(600.0, now=550) == 1
    assert led.window_needed(600.0, now=551) is None  # a run is scheduled
    led.window_beat(600.0, "run-1")
    assert led.window_needed(600.0, now=__import__("time").time()) is None  # it is alive
    led.window_beat(600.0, "run-1", state="done")
    assert led.window_needed(600.0) == 2  # finished: a new run for late-comers


def test_a_crowded_window_has_lanes_each_with_its_own_run(led: Ledger) -> None:
    assert led.window_lanes(600.0) == 1
    assert led.window_needed(600.0, now=550) == 1 and led.window_needed(600.0, now=550, lane=1) == 1
    assert led.window_lanes(600.0) == 2
    led.window_beat(600.0, "run-b", lane=1)
    assert (led.window_run(600.0), led.window_run(600.0, lane=1)) == (None, "run-b")
    led.window_beat(600.0, "run-b", state="done", lane=1)
    assert led.window_needed(600.0, lane=1) == 2  # lane 1's run is over; lane 0's is still scheduled
    assert led.window_needed(600.0, now=551) is None
    assert [lanes_for(n, 2, 200) for n in (0, 1, 200, 201, 5000)] == [1, 1, 1, 2, 2]
    shares = {lane_of(f"bench-r-{i:03d}", 2) for i in range(20)}
    assert shares == {0, 1} and lane_of("c", 1) == 0  # campaigns spread; one lane takes them all


def test_one_run_owns_a_window_and_a_standby_takes_it_only_once_the_owner_stops_beating(led: Ledger) -> None:
    now = time.time()
    assert led.window_needed(600.0, now=550) == 1
    assert not led.window_take(600.0, "standby", unowned=False)  # before the window opens: the primary's
    assert led.window_take(600.0, "primary", queue="worker-1")
    assert led.window_take(600.0, "primary", queue="worker-1")  # it owns it already
    assert not led.window_take(600.0, "standby", stale_s=5.0)  # the owner beats
    held = led.window_held(600.0)
    assert held is not None and (held.owner, held.state, held.queue) == ("primary", "running", "worker-1")
    assert led.window_beat(600.0, "p", owner="primary")
    led._write("UPDATE windows SET heartbeat=? WHERE start=600.0", (now - 6,))  # its process died
    assert led.window_take(600.0, "standby", stale_s=5.0)
    assert not led.window_beat(600.0, "p", owner="primary")  # only slow: it learns it lost the window
    assert not led.window_take(600.0, "primary", stale_s=5.0)  # and cannot take it back while it beats
    assert led.window_needed(600.0, now=time.time()) is None  # the standby's beat keeps the window live
    assert led.window_beat(600.0, "s", state="done", owner="standby")
    assert not led.window_take(600.0, "late", stale_s=0.0)  # a finished window is taken by nobody
    rows = led.windows_held()  # every lane in one read (bench/chaos_hosts.py watches takeovers so)
    assert [(w.start, w.lane, w.owner, w.state, w.fence) for w in rows] == [(600.0, 0, "standby", "done", 2)]
    assert led.window_take(660.0, "other", lane=1)
    assert [(w.start, w.lane, w.owner) for w in led.windows_held()][1:] == [(660.0, 1, "other")]


def test_racing_standbys_take_a_dead_owners_window_exactly_once(led: Ledger, tmp_path: Path) -> None:
    assert led.window_take(600.0, "primary")
    led._write("UPDATE windows SET heartbeat=0 WHERE start=600.0")
    barrier = threading.Barrier(6)
    won: list[str] = []

    def take(name: str) -> None:
        mine = Ledger(led.url)  # each its own connection, like another process
        barrier.wait()
        if mine.window_take(600.0, name, stale_s=5.0):
            won.append(name)

    threads = [threading.Thread(target=take, args=(f"standby-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and led.window_held(600.0).owner == won[0]  # type: ignore[union-attr]


def test_a_window_keeps_one_live_standby(led: Ledger) -> None:
    assert led.window_needed(600.0, now=500) == 1
    assert led.standby_needed(600.0, now=500, lead_s=20) == 1
    assert led.standby_needed(600.0, now=600, lead_s=20) is None  # it may take until 580 + 20 + 6 to start
    assert led.standby_needed(600.0, now=607, lead_s=20) == 2  # it never started: another
    led.standby_beat(600.0)
    assert led.standby_needed(600.0) is None  # it beats
    led.window_beat(600.0, "p", state="done")
    assert led.standby_needed(600.0, now=time.time() + 60) is None  # the window is over: no spare needed


def test_a_queue_whose_runs_stopped_beating_is_down_until_a_run_beats_there_again(led: Ledger) -> None:
    """``lost_queues``: where healing must not put a new run (its host is down), from the windows table:
    an owner gone quiet, an owner taken over or presumed lost, a standby replaced; a beat clears it."""
    now = time.time()
    assert led.window_take(600.0, "owner-a", queue="worker-2")  # host 2 owns one lane …
    led.window_needed(660.0, now=now)
    led.standby_beat(660.0, queue="worker-2")  # … and stands by for another
    assert led.window_take(720.0, "owner-c", queue="worker-1")
    assert led.lost_queues() == set()
    led._write("UPDATE windows SET heartbeat=? WHERE start=600.0", (now - 7,))  # host 2 dies
    led._write("UPDATE windows SET standby_at=? WHERE start=660.0", (now - 7,))
    led._write("UPDATE window_spares SET at=?, beat=? WHERE start=660.0", (now - 7, now - 7))
    assert led.lost_queues() == {"worker-2"}  # its owner is quiet
    assert led.window_take(600.0, "standby-a", stale_s=5.0, queue="worker-3")  # taken over:
    assert led.lost_queues() == {"worker-2"}  # the takeover noted where the lost owner ran
    held = led.window_held(600.0)
    assert held is not None and (held.lost_queue, held.queue) == ("worker-2", "worker-3")
    assert led.standby_needed(660.0) == 1  # the standby that died there is noted lost too
    assert led.lost_queues(now=now + 3) == {"worker-2"}
    assert led.lost_queues(now=now + 61) == set()  # a minute on, it may be back: nothing to avoid
    led.standby_beat(660.0, queue="worker-2")  # a run beats on worker-2 again: its host is back
    assert led.lost_queues() == set()


def test_a_standby_put_on_a_queue_gone_down_is_replaced_before_it_starts(led: Ledger) -> None:
    now = time.time()
    assert led.window_needed(900.0, now=now) == 1
    assert led.standby_needed(900.0, now=now, lead_s=20) == 1
    led.standby_placed(900.0, 0, "worker-2")
    assert led.standby_needed(900.0, now=now + 1, lead_s=20) is None  # it has 20 s to start …
    assert led.standby_needed(900.0, now=now + 1, lead_s=20, down={"worker-1"}) is None
    assert led.standby_needed(900.0, now=now + 1, lead_s=20, down={"worker-2"}) == 2  # … not on a host down
    led.standby_placed(900.0, 0, "worker-3")
    assert led.standby_needed(900.0, now=now + 2, lead_s=20, down={"worker-2"}) is None


def test_a_lane_keeps_a_live_spare_on_each_of_as_many_other_queues_as_asked(led: Ledger) -> None:
    """``spares_needed``: one spare per queue other than the owner's, none on a queue that is down; a spare
    lives while it beats, or while it may still be starting, unless its queue went down before it beat."""
    now = time.time()
    others = ["worker-2", "worker-3"]
    assert led.window_needed(900.0, now=now) == 1
    assert led.spares_needed(900.0, 0, others, 2, now=now, down={"worker-3"}) == [("worker-2", 1)]
    assert led.spares_needed(900.0, 0, others, 2, now=now) == [("worker-3", 1)]  # worker-3 is back
    assert led.spares_needed(900.0, 0, others, 2, now=now + 5) == []  # both may still be starting
    led.standby_beat(900.0, queue="worker-2")  # one started and beats
    assert led.spares_needed(900.0, 0, others, 2, now=now + 5, down={"worker-3"}) == []  # one beats …
    later = max(now, 900.0 - 20) + 27  # … the other never started
    led.standby_beat(900.0, queue="worker-2")
    led._write("UPDATE window_spares SET at=?, beat=? WHERE queue='worker-2'", (later - 1, later - 1))
    assert led.lost_queues(now=later) == {"worker-3"}  # nothing started there: down; worker-2 beats
    assert led.spares_needed(900.0, 0, others, 2, now=later, down={"worker-3"}) == []  # nowhere else
    assert led.spares_needed(900.0, 0, others, 2, now=later) == [("worker-3", 2)]  # once it is up again
    assert led.spares_needed(900.0, 0, others, 1, now=later) == []  # one asked: one lives
    led.window_beat(900.0, "p", state="done")
    assert led.spares_needed(900.0, 0, others, 2, now=later + 60) == []  # the window is over


def test_a_lanes_spares_are_read_back_with_their_queues_and_beats(led: Ledger) -> None:
    """``spares_held``: what the chaos benchmark's trace records of each lane's spares."""
    now = time.time()
    assert led.spares_held() == {}
    assert led.window_needed(900.0, now=now) == 1  # the lane's first run
    placed = led.spares_needed(900.0, 0, ["worker-2", "worker-3"], 2, now=now)
    assert placed == [("worker-2", 1), ("worker-3", 1)]
    led.standby_beat(900.0, queue="worker-3")  # one started and beats; the other has not yet
    held = led.spares_held()
    assert list(held) == [(900.0, 0)]
    assert [(queue, number, beat is not None) for queue, number, _, beat in held[(900.0, 0)]] == [
        ("worker-2", 1, False), ("worker-3", 1, True)]


def test_due_lists_open_publications_in_time_order(led: Ledger) -> None:
    led.apply("c", [_p("late", 5), _p("b", 20), _p("a", 10), _p("future", 1e12)])
    assert led.claim("b") and led.mark_sent("b", "r")
    assert [r.id for r in led.due(100)] == ["late", "a"]
    assert led.next_open(10) == 1e12
    assert led.counts("c")["sent"] == 1


def test_a_failure_and_its_operators_alert_are_recorded_together(led: Ledger) -> None:
    led.apply("c", [_p("c/mon/email/daily", 100.0), _p("c/tue/email/daily", 200.0)])
    assert led.claim("c/mon/email/daily") and led.mark_failed("c/mon/email/daily", "Graph 400: bad address")
    assert led.mark_skipped("c/tue/email/daily", "missed its window")
    assert not led.mark_skipped("c/tue/email/daily", "again")  # no second alert for the same skip
    alerts = led.alerts(unsent_only=True)
    assert [(a.kind, a.publication, a.reason) for a in alerts] == [
        ("failed", "c/mon/email/daily", "Graph 400: bad address"),
        ("skipped", "c/tue/email/daily", "missed its window"),
    ]
    first = alerts[0].key
    assert led.claim_alert(first) and not led.claim_alert(first)  # one sweeper at a time
    led.alert_sent(first, "outbox:1")
    assert [a.kind for a in led.alerts(unsent_only=True)] == ["skipped"]
    assert led.claim_alert(alerts[1].key, lease_s=-1) and led.claim_alert(alerts[1].key)  # lease ran out


def test_a_connector_stops_once_with_one_alert_and_resumes(led: Ledger) -> None:
    assert led.stop_connector("mastodon", "Mastodon 401: token refused", 401)
    assert not led.stop_connector("mastodon", "Mastodon 401 again", 401)
    stopped = led.stopped()[("mastodon", "")]
    assert stopped.status == 401 and "token refused" in stopped.reason
    assert [(a.kind, a.connector) for a in led.alerts()] == [("connector-stopped", "mastodon")]
    assert led.resume_connector("mastodon") and not led.resume_connector("mastodon")
    assert led.stopped() == {}


def test_a_connector_stops_per_account(led: Ledger) -> None:
    """A revoked Isle of Wight token stops mastodon@iowscp-mastodon only: the default account and the
    Portsmouth one carry on; the alert names the account; resuming one leaves the other stopped."""
    assert led.stop_connector("mastodon", "Mastodon 401", 401, account="iowscp-mastodon")
    assert led.stop_connector("mastodon", "Mastodon 401", 401, account="pscp-mastodon")
    assert not led.stop_connector("mastodon", "again", 401, account="iowscp-mastodon")
    assert set(led.stopped()) == {("mastodon", "iowscp-mastodon"), ("mastodon", "pscp-mastodon")}
    assert sorted(a.connector for a in led.alerts()) == ["mastodon@iowscp-mastodon", "mastodon@pscp-mastodon"]
    assert "connector stopped: mastodon@iowscp-mastodon" in led.alerts()[0].subject + led.alerts()[1].subject
    assert not led.resume_connector("mastodon")  # the default account was never stopped
    assert led.resume_connector("mastodon", "iowscp-mastodon")
    assert set(led.stopped()) == {("mastodon", "pscp-mastodon")}


def _reserve(url: str, n: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    other = Ledger(url)
    out.put([other.reserve_slot("x:acct", 5, 0.5)[1] for _ in range(n)])


def test_rate_slots_never_exceed_the_limit_in_any_window_across_processes(led: Ledger) -> None:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_reserve, args=(led.url, 10, out)) for _ in range(2)]
    for p in procs:
        p.start()
    slots = sorted(out.get(timeout=60) + out.get(timeout=60))
    for p in procs:
        p.join()
    assert len(slots) == 20
    # the first five go at once (a burst up to the limit); every later one waits for the window to pass
    assert slots[4] - slots[0] < 0.5 <= slots[5] - slots[0]
    assert all(b - a >= 0.5 - 1e-6 for a, b in zip(slots, slots[5:], strict=False))  # ≤ 5 in any 0.5 s


def _send_late(url: str, lateness: float, out: list[float]) -> None:
    """One paced request whose caller wakes ``lateness`` seconds after its slot (a loaded machine)."""
    other = Ledger(url)
    slot, at = other.reserve_slot("m:acct", 3, 0.5)
    while True:
        time.sleep(max(0.0, at - time.time()) + lateness)
        ok, at = other.confirm_slot("m:acct", slot, 3, 0.5)
        if ok:
            out.append(at)
            return
        lateness = 0.0


def test_callers_that_wake_late_never_put_more_than_the_limit_in_any_window(led: Ledger) -> None:
    """Reserved slots are confirmed when their callers really go: one that woke late counts from then,
    and a request that would make one too many in the window waits for a later slot."""
    sent: list[float] = []
    late = [0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0]  # the 1st and 7th callers wake late
    threads = []
    for lateness in late:
        threads.append(threading.Thread(target=_send_late, args=(led.url, lateness, sent)))
        threads[-1].start()
        time.sleep(0.02)  # reserved in this order
    for t in threads:
        t.join(timeout=60)
    sent.sort()
    assert len(sent) == len(late)
    assert all(b - a >= 0.5 for a, b in zip(sent, sent[3:], strict=False)), sent  # ≤ 3 in any 0.5 s


def test_earlier_open_follows_the_channels_planned_order(led: Ledger) -> None:
    """What a publication waits for: the same channel's open ones planned before it (time, then id)."""
    led.apply(
        "c",
        [
            _p("c/mon/poster/daily", 100.0, channel="poster"),
            _p("c/week/poster/week", 100.0, channel="poster"),  # same moment: after mon, by id
            _p("c/tue/poster/daily", 200.0, channel="poster"),
            _p("c/mon/email/daily", 50.0),  # another channel: never waited for
        ],
    )
    week, tue = led.get("c/week/poster/week"), led.get("c/tue/poster/daily")
    assert week is not None and tue is not None
    assert [r.id for r in led.earlier_open(week)] == ["c/mon/poster/daily"]
    assert [r.id for r in led.earlier_open(tue)] == ["c/mon/poster/daily", "c/week/poster/week"]
    assert led.claim("c/mon/poster/daily") and led.mark_sent("c/mon/poster/daily", "r")
    assert [r.id for r in led.earlier_open(tue)] == ["c/week/poster/week"]  # sent ones no longer count
    assert led.mark_skipped("c/week/poster/week", "late")
    assert led.earlier_open(tue) == []


def test_a_window_submits_what_others_link_to_first(led: Ledger) -> None:
    """At one instant: the week page, then the poster that links to it, then the email carrying the poster."""
    from flows.publishing.publish import dependencies_first

    email = _p("c/mon/email/daily", 100.0)
    email.depends_on = ("c/mon/poster/daily", "c/mon/web_page/daily")
    poster = _p("c/mon/poster/daily", 100.0, channel="poster")
    poster.depends_on = ("c/mon/web_page/daily",)
    page = _p("c/mon/web_page/daily", 100.0, channel="web_page")
    early = _p("c/mon/x/daily", 50.0, channel="x")
    early.depends_on = ("c/mon/web_page/daily",)  # due earlier: time order first
    led.apply("c", [email, poster, page, early])
    ordered = dependencies_first(led.rows("c"))
    assert [r.id for r in ordered] == [
        "c/mon/x/daily", "c/mon/web_page/daily", "c/mon/poster/daily", "c/mon/email/daily"
    ]


def test_due_refs_name_the_open_publications_due_and_get_many_reads_them_whole(led: Ledger) -> None:
    x_mon, x_tue = _p("c/mon/x/a", 100.0, "f-mon", channel="x"), _p("c/tue/x/c", 900.0, channel="x")
    led.apply("c", [x_mon, _p("c/mon/email/b", 50.0), x_tue])
    assert led.claim("c/mon/email/b") and led.mark_sent("c/mon/email/b", "r1")
    refs = led.due_refs(500.0)
    assert [(r.id, r.campaign, r.scheduled_at) for r in refs] == [("c/mon/x/a", "c", 100.0)]
    assert refs[0].fingerprint == "f-mon"  # its rendering ahead is looked up without reading the row
    rows = led.get_many(["c/tue/x/c", "c/mon/x/a", "no/such/one"])
    assert [(r.id, r.state) for r in rows] == [("c/mon/x/a", "pending"), ("c/tue/x/c", "pending")]


def test_a_campaigns_time_zone_is_kept_until_another_is_given(led: Ledger) -> None:
    assert led.set_campaign("c", "c.yaml", timezone="Europe/London").timezone == "Europe/London"
    assert led.set_campaign("c", "moved.yaml").timezone == "Europe/London"
    assert led.set_campaign("c", "c.yaml", speed=10.0, keep_timing=False, timezone="UTC").timezone == "UTC"


def test_a_takeover_fences_the_old_owners_claims_and_sends_on_sqlite(tmp_path: Path) -> None:
    from tests.ledger_fence import check_fence, check_racing_claims_and_a_takeover

    check_fence(f"sqlite:///{tmp_path / 'fence.sqlite3'}")
    check_racing_claims_and_a_takeover(f"sqlite:///{tmp_path / 'race.sqlite3'}", rounds=10)
