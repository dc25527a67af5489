"""Run every benchmark in bench/ and write bench/RESULTS.md: each figure with the exact command.

    .venv/bin/python bench/write_results.py                 # run everything (the chaos runs take a while)
    .venv/bin/python bench/write_results.py --only chaos-2w scale_plan
    .venv/bin/python bench/write_results.py --collect       # rewrite RESULTS.md from bench/out/ only

Each run's output goes to bench/out/<name>.log (and <name>.json for the scripts that write JSON);
``--collect`` rebuilds the report from those files without running anything. A script added to bench/
is picked up with its default arguments unless it is listed in RUNS below.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
PY = ".venv/bin/python"
HELPERS = {"write_results.py", "run_all.py", "chaos_hosts.py"}
# name → (arguments after the interpreter, what it shows). Scripts not listed run with no arguments.
RUNS: dict[str, tuple[list[str], str]] = {
    "chaos-2w": (
        ["bench/chaos.py", "--workers", "2", "--minutes", "12", "--out", "bench/out/chaos-2w.json"],
        "≥ 300 publications on two workers, 20 worker + 20 server kill -9, 20 % provider faults: "
        "exactly-once and shared rate limits across workers",
    ),
    "chaos-revoke": (
        [
            "bench/chaos.py",
            "--campaigns",
            "3",
            "--minutes",
            "3",
            "--worker-kills",
            "0",
            "--server-kills",
            "0",
            "--fault-rate",
            "0",
            "--revoke-at",
            "0.4",
            "--out",
            "bench/out/chaos-revoke.json",
        ],
        "Mastodon token revoked mid-week: that channel stops with alerts, the others carry on",
    ),
    "chaos-revoke-partner": (
        ["bench/chaos.py", "--campaigns", "3", "--minutes", "3", "--worker-kills", "0", "--server-kills", "0",
         "--fault-rate", "0", "--revoke-partner", "--out", "bench/out/chaos-revoke-partner.json"],
        "a joint week (SCW 2023, two partners on accounts of their own) with one partner's Mastodon token "
        "revoked mid-week: that partner's posts there are held and reported, every other account's go out",
    ),
    "chaos-ha": (
        ["bench/chaos.py", "--ha", "--workers", "2", "--minutes", "12", "--out", "bench/out/chaos-ha.json"],
        "the HA set-up (2 API servers behind HAProxy, services, Redis): ≥ 300 publications, 20 kill -9 each "
        "of an API server, the services process and a worker, 3 restarts of Redis and 3 of the ledger's "
        "PostgreSQL, 20 % provider faults",
    ),
    "chaos-ha-5m": (
        ["bench/chaos.py", "--ha", "--workers", "2", "--minutes", "5", "--out", "bench/out/chaos-ha-5m.json"],
        "the HA set-up, the week in 5 minutes: the same kills and restarts as the 12-minute run (20 kill -9 "
        "each of an API server, the services process and a worker; 3 restarts each of Redis and the ledger's "
        "PostgreSQL) in less than half the time",
    ),
    "chaos-2w-5m": (
        ["bench/chaos.py", "--workers", "2", "--minutes", "5", "--worker-kills", "8", "--server-kills", "8",
         "--out", "bench/out/chaos-2w-5m.json"],
        "the single-server set-up, the week in 5 minutes, 8 worker + 8 server kill -9",
    ),
    "chaos-ha-outage": (
        ["bench/chaos.py", "--ha", "--workers", "2", "--campaigns", "3", "--minutes", "5", "--worker-kills",
         "0", "--server-kills", "0", "--services-kills", "0", "--redis-restarts", "0", "--pg-restarts", "0",
         "--fault-rate", "0", "--outage-at", "0.4", "--outage-s", "60", "--out",
         "bench/out/chaos-ha-outage.json"],
        "the HA set-up with every Prefect server process (API servers, services) down for 60 s at once",
    ),
    "chaos-hosts": (
        ["bench/chaos.py", "--ha", "--hosts", "3", "--minutes", "12", "--host-kills", "6", "--host-freezes",
         "6", "--out", "bench/out/chaos-hosts.json"],
        "the HA set-up on 3 hosts (each an API server and a worker with its own queue and window runs; "
        "PostgreSQL, Redis, HAProxy and the services shared): the blows of chaos-ha, plus 6 whole hosts "
        "killed (kill -9 of every process, back after 30 s) and 6 frozen (SIGSTOP for 20-90 s, then SIGCONT)",
    ),
    "scale_plan": (
        ["bench/scale_plan.py", "--out", "bench/out/scale_plan.json"],
        "scheduling 15 and 150 partnerships' weeks on PostgreSQL",
    ),
    "suite_stability": (
        ["bench/suite_stability.py", "--runs", "5", "--out", "bench/out/suite_stability.json"],
        "five clean clones' `make test` one after another, as CI runs it: each run's time, pytest's own "
        "time, its counts and failed tests, and the pass rate (target: 5/5, pytest ≤ 6 min, all ≤ 10 min)",
    ),
}


def runs() -> dict[str, tuple[list[str], str]]:
    """Every benchmark: the listed runs, plus any other bench/*.py with its defaults."""
    out = dict(RUNS)
    listed = {args[0] for args, _ in RUNS.values()}
    for script in sorted(BENCH.glob("*.py")):
        rel = f"bench/{script.name}"
        if script.name not in HELPERS and rel not in listed:
            doc = (script.read_text().split('"""')[1:2] or [""])[0].strip().splitlines()
            out[script.stem] = ([rel], doc[0] if doc else "")
    return out


def run_one(name: str, args: list[str], timeout: float) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(OUT / f"{name}.log", "w") as log:
        try:
            code = subprocess.run(
                [str(ROOT / PY), *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    meta = {
        "command": " ".join([PY, *args]),
        "exit": code,
        "seconds": round(time.time() - start, 1),
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    (OUT / f"{name}.meta.json").write_text(json.dumps(meta, indent=2))
    print(f"{name}: exit {code} in {meta['seconds']} s", file=sys.stderr)


def _chaos(d: dict[str, Any]) -> list[str]:
    rates = d.get("rates", {})
    lines = [
        "| figure | value | target |",
        "|---|---|---|",
        f"| publications | {d['publications']} in {d['campaigns']} weeks, {d['workers']} worker(s) | ≥ 300 |",
        _accounts(d),
        _kills(d),
        f"| provider requests / faulted | {d['requests']} / {sum(d['faults'].values())} "
        f"({100 * d['fault_share']:.1f} %: {d['faults']}) | 20 % |",
        f"| **duplicates** (from provider logs) | **{d['duplicates']}** | 0 |",
        f"| **not delivered** (all causes) | **{_undelivered(d)}** | 0 (except provider rejections) |",
        f"| · lost silently (neither delivered nor reported) | {d['missing']} | 0 |",
        f"| · skipped: missed its window (reported) | {d['ledger_states'].get('skipped', 0)} | 0 |",
        f"| · failed after retries: 429/5xx/timeouts outlasting the window (reported) | {_exhausted(d)} "
        "| 0 |",
        f"| · failed permanently: the provider rejected it, 4xx (reported) | "
        f"{len(d.get('failed_with_reason', {})) - _exhausted(d)} | |",
        f"| **late** (after the channel's window) | **{d['late']}** | 0 |",
        f"| outcome-unknown left unreconciled | {d['unreconciled']} | 0 |",
        f"| failed/skipped, reported to operators | {d['failed_alerted']} | all |",
        f"| ledger states | {d['ledger_states']} | |",
    ]
    for name, r in sorted(rates.items()):
        share = r.get("share_of_limit_during_backlog")
        held = (
            f"while the pacer held a request back ({r['backlog_s']} s in all), the provider's limit was "
            f"{100 * share:.0f} % in use (time-averaged)"
            if share is not None
            else "the pacer never held a request back"
        )
        lines.append(
            f"| rate {name} ({r['limit']}) | {r['calls']} calls"
            + (f" on {r['accounts']} account(s)" if "accounts" in r else "")
            + f", max {r['max_in_any_interval']} in any interval, never above: {r['never_above']}; {held} "
            "| never above; ≥ 90 % |"
        )
    if "mastodon_requests_after_revoke" in d:
        lines.append(
            f"| Mastodon requests after its token was revoked | {d['mastodon_requests_after_revoke']} | "
            "bounded (no retry loop) |"
        )
    if d.get("revoked_account"):
        lines.append(_revoked_row(d["revoked_account"]))
    if d.get("outage"):
        o = d["outage"]
        lines.append(
            f"| every Prefect server down {o['seconds']} s | {o['due']} due meanwhile: "
            f"{o['sent_while_down']} sent while down, {o['sent_after_restart']} after the restart, "
            f"not sent {o['not_sent']}; latest "
            f"{o['max_lateness_s']} s after its time | none lost, none late |"
        )
    lines += _hosts(d)
    if "out_of_order" in d:
        lines.append(f"| out of order within a campaign's channel | {d['out_of_order']} | 0 |")
    lines.append(
        f"| wall time | {d['wall_s']} s (week compressed into {d['week_minutes']} min, "
        f"speed ×{d['speed']}) | |"
    )
    if d.get("missing_ids") or d.get("duplicate_ids") or d.get("late_ids"):
        lines.append("")
        lines.append(f"missing: {d['missing_ids']}; duplicated: {d['duplicate_ids']}; late: {d['late_ids']}")
    if d.get("failed_with_reason"):
        reasons: dict[str, int] = {}
        for text in d["failed_with_reason"].values():
            text = re.sub(r"[\w.-]+/[\w-]+/[\w_]+/[\w-]+", "<publication>", text)[:100]
            reasons[text] = reasons.get(text, 0) + 1
        lines.append("")
        lines.append("Failed publications (reported to operators), by reason:")
        lines += [f"- {n} × {text}" for text, n in sorted(reasons.items(), key=lambda kv: -kv[1])]
    return lines


def _hosts(d: dict[str, Any]) -> list[str]:
    """The rows of a run on several hosts (bench/chaos_hosts.py): its host blows and takeovers."""
    if not d.get("hosts"):
        return []
    slow = {k: d.get(f"slowest_takeover_after_host_{k}_s") for k in ("kill", "freeze", "loss")}
    return [
        f"| host kills (kill -9 of every process of a host; back after 30 s) | {d['host_kills']} on "
        f"{d['hosts']} hosts | ≥ 6 |",
        f"| host freezes (SIGSTOP 20-90 s, then SIGCONT) | {d['host_freezes']} | ≥ 6 |",
        f"| **slowest takeover after a host's loss** (dead owner's last beat → standby's take) | "
        f"**{slow['loss']} s** (kill {slow['kill']} s, freeze {slow['freeze']} s) | < 20 s |",
        f"| window takeovers (all causes) / slowest | {d['takeovers']} / {d['slowest_takeover_s']} s | |",
        f"| woken owners' sends refused by the fence / runs that found their window taken | "
        f"{d['fenced_refusals']} / {d['lost_window_stops']} | |",
    ]


def _revoked_row(one: dict[str, Any]) -> str:
    """The row of a run that revoked one joint-week partner's Mastodon token (``--revoke-partner``): that
    account's posts held (reported), none lost; every other account's posts delivered."""
    missed = f" (not: {one['others_not_delivered']})" if one["others_not_delivered"] else ""
    who, at = one.get("partner") or "a joint week's partner", 100 * (one.get("revoked_at_fraction") or 0)
    return (
        f"| **revoked account** ({one['account']}'s Mastodon token: {who}, at {at:.0f} % of its week) "
        f"| held {one['held']} of its posts "
        f"(failed/skipped, {one.get('held_alerted', '?')} alerted), lost {one['lost']}, "
        f"{one['delivered_before']} delivered before the revoke, {one['delivered_after']} after; "
        f"other accounts' Mastodon posts due after it delivered {one['others_delivered']}/{one['others_due']}"
        f"{missed}; connectors stopped: {', '.join(one.get('stopped', [])) or 'none'} "
        "| all held and alerted, 0 lost, 0 after; M/M; only its own |"
    )


def _accounts(d: dict[str, Any]) -> str:
    if not d.get("accounts_per_partnership"):
        return "| provider accounts | one shared by every partnership | one per partnership |"
    return (f"| provider accounts | one per partnership and provider ({d['campaigns']} × 5 provider "
            f"servers of their own); effects on another partnership's account: {d.get('wrong_account', 0)} | "
            "one per partnership; 0 |")


def _kills(d: dict[str, Any]) -> str:
    if "services_kills" not in d or not any(n.startswith("api-") for n in d.get("parts", [])):
        return f"| kill -9 | {d['worker_kills']} worker, {d['server_kills']} server | ≥ 20 |"
    return (f"| kill -9 / restarts | {d['worker_kills']} worker, {d['server_kills']} API server, "
            f"{d['services_kills']} services; {d['redis_restarts']} Redis, {d['postgres_restarts']} ledger "
            "PostgreSQL | ≥ 20 each; 3, 3 |")


PERMANENT = re.compile(r"\b(400|401|403|404|409|413|422)\b")


def _exhausted(d: dict[str, Any]) -> int:
    """Failures that were retryable (rate limits, 5xx, timeouts) but ran out of attempts or time."""
    return sum(1 for text in d.get("failed_with_reason", {}).values() if not PERMANENT.search(text[:80]))


def _undelivered(d: dict[str, Any]) -> int:
    return d["missing"] + d["ledger_states"].get("skipped", 0) + _exhausted(d)


def _scale(d: dict[str, Any]) -> list[str]:
    s, l_ = d["small"], d["large"]
    return [
        "| partnerships | publications | scheduling time | per partnership | peak traced memory | windows |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r['partnerships']} | {r['publications']} | {r['seconds']} s | "
            f"{r['per_partnership_ms']} ms | {r['peak_traced_mib']} MiB | {r['window_runs']} |"
            for r in (s, l_)
        ],
        "",
        f"Ratio {l_['partnerships']}/{s['partnerships']}: time ×{d['time_ratio']}, memory "
        f"×{d['memory_ratio']} (target ≤ 11×): {'met' if d['ok'] else 'NOT met'}. "
        f"Process max RSS {d['max_rss_mib']} MiB.",
    ]


def report() -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{PY} bench/write_results.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}; "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}, {platform.system()} "
        f"{platform.release()}. Every figure below comes from the command shown above it; "
        "`bench/out/<name>.log` holds the full output.",
        "",
        "Chaos runs rehearse real weeks compressed about 1,100× (a week in 12 minutes): every missed "
        "window shrinks to its floor of 120 s and 40 kills land within those 12 minutes (one every 18 s on "
        "average), so each publication has about 2 minutes to survive kills, restarts and faults. The "
        "production supervisor (`Stack.supervise`: restart within a second, heal every 3 s) brings back what "
        "was killed. Workers pace to deliberately tight provider limits (`--limits`) so that posts queue "
        "behind them. Duplicates, deliveries, lateness and call rates are counted from the provider servers' "
        "own logs (the web page, a folder of files, from its receipt).",
        "",
    ]
    for name, (_args, what) in runs().items():
        meta_file = OUT / f"{name}.meta.json"
        lines += [f"## {name}", "", what, ""]
        if not meta_file.exists():
            lines += [f"Not run yet: `{PY} {' '.join(_args)}`", ""]
            continue
        meta = json.loads(meta_file.read_text())
        lines += [
            "```sh",
            meta["command"],
            "```",
            "",
            f"exit {meta['exit']}, {meta['seconds']} s, {meta['finished']}",
            "",
        ]
        data_file = OUT / f"{name}.json"
        if data_file.exists() and name.startswith("chaos"):
            lines += _chaos(json.loads(data_file.read_text()))
        elif data_file.exists() and name == "scale_plan":
            lines += _scale(json.loads(data_file.read_text()))
        else:
            text = (OUT / f"{name}.log").read_text(errors="replace").strip().splitlines()
            lines += ["```", *text[-30:], "```"]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="run only these (names as in RESULTS.md)")
    parser.add_argument(
        "--collect", action="store_true", help="run nothing; rebuild RESULTS.md from bench/out"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per benchmark")
    args = parser.parse_args(argv)
    if not args.collect:
        for name, (bench_args, _) in runs().items():
            if args.only is None or name in args.only:
                run_one(name, bench_args, args.timeout)
    (BENCH / "RESULTS.md").write_text(report() + "\n")
    print(f"wrote {BENCH / 'RESULTS.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
