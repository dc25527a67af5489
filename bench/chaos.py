"""Chaos benchmark: a rehearsed week of ≥ 300 publications across every connector, on the production
set-up (PostgreSQL, authenticated Prefect server, process pool, N workers), against the local provider
servers in a separate process, with random kill -9 of workers and of the Prefect server, and with a
share of provider requests answered by faults (429, 500, 503, a timeout after the effect, a reset).

Counted afterwards from the provider servers' own logs (never from the ledger): duplicates, missing,
and publications later than their channel allows. Also: the rate of calls to each rate-limited
provider (never above its limit; share of the limit reached while a backlog waited), and what a
revoked token (401) does: that channel stops with an alert, the others carry on; with ``--revoke-partner``
only one joint-week partner's Mastodon account is revoked: that partner's posts there are held (failed or
skipped, reported), every other account's still go out.

    .venv/bin/python bench/chaos.py                                  # 1 worker, 20 kills, 20 % faults
    .venv/bin/python bench/chaos.py --workers 2 --out bench/out/chaos-2w.json
    .venv/bin/python bench/chaos.py --campaigns 1 --kills 1 --fault-rate 0 --quick   # what make test runs
    .venv/bin/python bench/chaos.py --campaigns 3 --minutes 3 --revoke-partner   # one partner's token revoked
    .venv/bin/python bench/chaos.py --ha --workers 2 --out bench/out/chaos-ha.json   # the HA set-up: 20 kills
        # each of an API server, the services process and a worker; 3 restarts of Redis, 3 of the ledger's DB
    .venv/bin/python bench/chaos.py --ha --hosts 3 --host-kills 6 --host-freezes 6   # the HA set-up on 3
        # "hosts" (an API server and a worker each, bench/chaos_hosts.py), whole hosts killed and frozen too

Prints a JSON summary; ``--out`` also writes it (bench/write_results.py collects it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "bench"))  # chaos_hosts, also when a test loads this file by its path

from chaos_hosts import KINDS as HOST_BLOWS  # noqa: E402
from chaos_hosts import Hosts, TakeoverWatch, host_parts, plan_blows  # noqa: E402

from deploy.production import open_stack, snapshot_repo  # noqa: E402
from flows.runtime.names import DEPLOYMENTS  # noqa: E402
from practiceweek.planner import partner_of  # noqa: E402

CONNECTOR_OF = {
    "poster": "graph_files",
    "week_poster": "graph_files",
    "web_page": "web_page",
    "email": "graph_mail",
    "teams_event": "graph_events",
    "teams_channel": "teams_channel",
    "x": "x",
    "bluesky": "bluesky",
    "mastodon": "mastodon",
}
# the provider server behind each connector, and the requests that have an effect there
PROVIDER_OF = {
    "graph_files": "graph",
    "graph_mail": "graph",
    "graph_events": "graph",
    "teams_channel": "teams",
    "x": "x",
    "bluesky": "bluesky",
    "mastodon": "mastodon",
    "web_page": "web",
}


# --- campaign variants -------------------------------------------------------------------------------------
ACCOUNT_KINDS = ("graph", "teams", "x", "bluesky", "mastodon")  # the provider accounts a partnership has


def account_name(i: int) -> str:
    """Partnership ``i``'s accounts on the provider servers (``tests.servers.hub --accounts``)."""
    return f"p{i:02d}"


def _sources() -> list[Path]:
    return sorted((ROOT / "campaigns").glob("*.yaml"))


def accounts_needed(n: int) -> int:
    """Provider accounts ``variants(n, accounts=True)`` publishes through: one per partnership, and in a
    joint week (``campaign.partners``) one per partner."""
    import yaml

    sources = _sources()
    partners = [len(yaml.safe_load(sources[i % len(sources)].read_text())["campaign"].get("partners") or {})
                for i in range(n)]
    return sum(max(1, k) for k in partners)


def _own_accounts(camp: dict[str, Any], i: int, extra: int) -> int:
    """Give campaign ``i`` its accounts: ``pNN`` for a week one partnership runs; in a joint week one for
    each partner (the first ``pNN``, the others numbered from ``extra``). Returns the next free number."""
    if not camp.get("partners"):
        camp["accounts"] = {kind: f"{account_name(i)}-{kind}" for kind in ACCOUNT_KINDS}
        return extra
    for k, partner in enumerate(camp["partners"].values()):
        number = i if k == 0 else extra
        partner["accounts"] = {kind: f"{account_name(number)}-{kind}" for kind in ACCOUNT_KINDS}
        extra += k > 0
    return extra


def _single(camp: dict[str, Any]) -> None:
    """A joint week made one partnership's (its first partner's), for a rig whose partnerships share the
    default accounts (two partners may not)."""
    partners = camp.pop("partners", None)
    if partners:
        first = next(iter(partners.values()))
        camp.update({k: v for k, v in first.items() if k not in ("accounts", "hashtags")})


def variants(
    n: int, dest: Path, start: dt.date | None = None, connectors: bool = True, prefix: str = "c",
    accounts: bool = False,
) -> list[Path]:
    """``n`` partnerships' weeks from campaigns/*.yaml, each with its own id, every channel on a real
    connector (unless ``connectors`` is False), and a marker ``[Cnn-d]`` in every day's title so provider
    logs can be attributed. ``start`` moves each week to the week of that date. With ``accounts`` each
    publishes through accounts of its own (``campaign.accounts``: the blocks ``pNN-<kind>``), and a joint
    week stays joint, each partner with accounts of its own (numbered after the ``n`` partnerships'; their
    effects are told apart by account); without, a joint week becomes its first partner's."""
    import yaml

    dest.mkdir(parents=True, exist_ok=True)
    sources = _sources()
    out = []
    extra = n  # the next account number for a joint week's partner
    for i in range(n):
        data = yaml.safe_load(sources[i % len(sources)].read_text())
        camp = data["campaign"]
        camp["id"] = f"{camp['id'][:40]}-{prefix}{i:02d}"
        camp["title"] = f"{camp['title']} (C{i:02d})"
        if accounts:
            extra = _own_accounts(camp, i, extra)
        else:
            _single(camp)
        if not accounts:  # one X/Bluesky/Mastodon account serves every partnership: a tag of their own
            # keeps every post's text unique to them, as X refuses a text the account already posted
            camp["hashtags"] = [*(camp.get("hashtags") or []), f"SPWC{i:02d}"]
        # announcements and follow-ups have no day title to attribute provider effects by: left out here
        data.pop("announcements", None)
        data.pop("follow_ups", None)
        if start is not None:  # move the week: keep weekdays, shift dates
            old = dt.date.fromisoformat(str(camp["week"]["start"]))
            shift = start - old + dt.timedelta(days=(old.weekday() - start.weekday()) % 7)
            camp["week"]["start"] = str(old + shift)
            if camp["week"].get("end"):
                camp["week"]["end"] = str(dt.date.fromisoformat(str(camp["week"]["end"])) + shift)
            notices = data.get("announcements", []) + data.get("follow_ups", [])
            for item in data.get("days", []) + data.get("events", []) + notices:
                if item.get("date"):
                    item["date"] = str(dt.date.fromisoformat(str(item["date"])) + shift)
        channels = data.setdefault("channels", {})
        for channel, connector in CONNECTOR_OF.items() if connectors else ():
            if channel == "teams_event" and not data.get("events"):
                continue
            cfg = channels.get(channel) or {}
            cfg["connector"] = connector
            cfg.pop("enabled", None)
            channels[channel] = cfg
        for d, day in enumerate(data.get("days", []), start=1):
            day["title"] = f"[C{i:02d}-{d}] {day['title']}"
            for theme in day.get("themes") or []:  # every post of a thread unique to its partnership, as X
                theme["title"] = f"{theme['title']} (C{i:02d})"  # refuses a text the account already posted
                for res in theme.get("resources") or []:
                    res["title"] = f"{res['title']} (C{i:02d})"
            for over in (day.get("channels") or {}).values():
                if isinstance(over, dict):
                    over.pop("connector", None)
            social = day.get("social") or {}
            for key in ("text", "x", "bluesky", "mastodon"):
                if social.get(key):
                    social[key] = f"[C{i:02d}-{d}] {social[key]}"[:250]
        for e, event in enumerate(data.get("events", []), start=1):
            event["title"] = f"[C{i:02d}-e{e}] {event['title']}"
        path = dest / f"{camp['id']}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        out.append(path)
    return out


# --- the provider servers (a separate process that outlives every kill) ------------------------------------
def start_hub(folder: Path, fault_rate: float, seed: int, accounts: int = 0
              ) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """The provider servers: the default account's, and ``accounts`` more (one per partnership)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "providers.env.json").unlink(missing_ok=True)
    (folder / "providers.accounts.json").unlink(missing_ok=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.servers.hub",  # the provider fakes, as a process: bench/ imports no test code
            "--dir",
            str(folder),
            "--fault-rate",
            str(fault_rate),
            "--seed",
            str(seed),
            "--accounts",
            str(accounts),
        ],
        stdout=open(folder / "providers.log", "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=str(ROOT),
    )
    deadline = time.time() + 60
    while not (folder / "providers.env.json").exists():
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"provider servers did not start; see {folder / 'providers.log'}")
        time.sleep(0.1)
    return proc, json.loads((folder / "providers.env.json").read_text())


def save_accounts(folder: Path, n: int) -> bool:
    """Save partnerships 0..n-1's credentials as Prefect blocks (``pNN-<kind>``) on the rig's server, from
    the hub's ``providers.accounts.json``. False (nothing saved) when the hub runs fewer accounts."""
    from pydantic import SecretStr

    from connectors.credentials import BLOCKS

    path = folder / "providers.accounts.json"
    found = json.loads(path.read_text()) if path.exists() else {}
    if any(account_name(i) not in found for i in range(n)):
        return False
    for i in range(n):
        for kind, fields in found[account_name(i)].items():
            block = BLOCKS[kind]
            secret = {k for k, f in block.model_fields.items() if "SecretStr" in str(f.annotation)}
            values = {k: SecretStr(v) if k in secret else v for k, v in fields.items()}
            block(**values).save(f"{account_name(i)}-{kind}", overwrite=True)
    return True


# --- the run ------------------------------------------------------------------------------------------------
def schedule_all(paths: list[Path], speed: float) -> None:
    """Run ``schedule-campaign`` on the workers for each week: one week of each seed file first, one at a
    time (they create the shared rate limits, and concurrent first runs race on creating them:
    ObjectAlreadyExists), then the rest together."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    def start(p: Path) -> Any:
        return run_deployment(DEPLOYMENTS["schedule"], timeout=0,
                              parameters={"path": str(p), "rehearse": True, "speed": speed})

    deadline = time.time() + 1200  # nine weeks on a shared, loaded 2-core machine: over 10 minutes
    with get_client(sync_client=True) as client:
        seeds = len(list((ROOT / "campaigns").glob("*.yaml")))
        for batch in [[p] for p in paths[:seeds]] + [paths[seeds:]]:
            runs = [start(p) for p in batch]
            for run in runs:
                while True:
                    state = client.read_flow_run(run.id).state
                    if state is not None and state.is_final():
                        if not state.is_completed():
                            raise RuntimeError(f"scheduling failed: {state.name} {state.message}")
                        break
                    if time.time() > deadline:
                        raise TimeoutError("scheduling did not finish")
                    time.sleep(1)


# --- what should appear, and what did ------------------------------------------------------------
MARK = re.compile(r"\[C(\d\d)-(e?\d+)\]")


def _mark(text: str) -> str | None:
    m = MARK.search(text or "")
    return f"{m.group(1)}-{m.group(2)}" if m else None


def _partner_accounts(path: Path) -> dict[str, str]:
    """A joint week's partners → the hub account each publishes through (``pNN``); {} for other weeks."""
    import yaml

    partners = yaml.safe_load(path.read_text())["campaign"].get("partners") or {}
    return {key: str(p["accounts"]["x"]).rsplit("-", 1)[0]
            for key, p in partners.items() if p.get("accounts")}


def expected(paths: list[Path]) -> dict[tuple[str, str], str]:
    """(channel, key) → publication id for every planned publication of the variants. A joint week's
    partners publish the same marks: their keys end ``@pNN``, the partner's account."""
    from practiceweek.loader import load
    from practiceweek.planner import plan

    out: dict[tuple[str, str], str] = {}
    for path in paths:
        accounts = _partner_accounts(path)
        for pub in plan(load(path).model):
            if pub.channel == "poster":
                key = "/".join(filter(None, (pub.campaign, pub.partner, pub.day)))
            elif pub.channel == "web_page":  # the page as revealed up to this day
                key = _mark(pub.content["days"][-1]["title"]) or pub.id
            elif pub.event_id:
                key = _mark(pub.content["event"]["title"]) or pub.id
            else:
                key = _mark(pub.content["day"]["title"]) or pub.id
            if pub.partner in accounts:
                key = f"{key}@{accounts[pub.partner]}"
            out[(pub.channel, key)] = pub.id
    return out


def attribute(record: dict[str, Any], joint: set[str] | frozenset[str] = frozenset()
              ) -> tuple[str, str, str] | None:
    """(channel, key, part) of one remote effect in a provider's log; None for a thread's follow-up posts.
    An effect on the account of a joint week's partner (``joint``) has that account in its key."""
    got = _attribute(record, record.get("account", "") in joint)
    if got is None or record.get("account", "") not in joint:
        return got
    return got[0], f"{got[1]}@{record['account']}", got[2]


def _attribute(record: dict[str, Any], partner: bool) -> tuple[str, str, str] | None:
    item, kind = record["item"], record["kind"]
    if kind == "file":  # <folder>/<campaign>[/<partner>]/<day>/<slot>/<file>
        parts = str(item).split("/")
        if partner:
            return ("poster", "/".join(parts[-5:-2]), parts[-1]) if len(parts) >= 5 else None
        return ("poster", f"{parts[-4]}/{parts[-3]}", parts[-1]) if len(parts) >= 4 else None
    if kind == "mail":
        key = _mark(item.get("subject", ""))
        return ("email", key, "") if key else None
    if kind == "event":
        key = _mark(item.get("subject", ""))
        return ("teams_event", key, "") if key else None
    if kind == "card":
        found = MARK.findall(json.dumps(item))
        days = [f"{c}-{d}" for c, d in found if not d.startswith("e")]
        return ("teams_channel", days[0], "") if days else None
    if kind == "tweet":
        return None if item.get("referenced_tweets") else ("x", _mark(item.get("text", "")) or "?", "")
    if kind == "post":
        value = item.get("value") or {}
        return None if value.get("reply") else ("bluesky", _mark(value.get("text", "")) or "?", "")
    if kind == "status":
        return None if item.get("in_reply_to_id") else ("mastodon", _mark(item.get("content", "")) or "?", "")
    return None


def _windows(times: list[float], width: float) -> int:
    """The most calls in any ``width``-second window."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


WRITE_PATHS = {
    "graph_mail": re.compile(r"/sendMail$|/messages/[^/]+/send$"),
    "teams_channel": re.compile(r"/invoke$"),
    "x": re.compile(r"^/2/tweets$"),
    "mastodon": re.compile(r"^/api/v1/statuses$"),
    "bluesky": re.compile(r"createRecord$"),
}


def analyse(
    folder: Path,
    rows: list[Any],
    want: dict[tuple[str, str], str],
    revoked_at: float | None,
    limits: dict[str, tuple[int, float]],
    outage: tuple[float, float] | None = None,
    revoked_account: str | None = None,
) -> dict[str, Any]:
    """Count what reached the providers (their logs) against what was planned (``want``) and what the
    ledger says (``rows``). ``revoked_account``: the one account whose Mastodon token was revoked at
    ``revoked_at`` (None: every account's)."""
    records = [json.loads(line) for line in (folder / "providers.jsonl").read_text().splitlines() if line]
    by_id = {r.id: r for r in rows}
    copies: dict[tuple[str, str], list[float]] = defaultdict(list)
    file_uploads: Counter[tuple[str, str, str]] = Counter()
    stray = 0
    wrong_account: list[str] = []  # effects on another partnership's account than the publication's own
    joint = {key.rsplit("@", 1)[1] for _, key in want if "@" in key}  # joint weeks' partners' accounts
    for rec in records:
        if rec["type"] != "effect":
            continue
        got = attribute(rec, joint)
        if got is None:
            continue
        channel, key, part = got
        row = by_id.get(want.get((channel, key), ""))
        if row is not None and rec.get("account", "") != _account_of(row):
            wrong_account.append(f"{row.id} on {rec.get('account') or 'the default account'}")
        if channel == "poster":
            file_uploads[(channel, key, part)] += 1
            if file_uploads[(channel, key, part)] > 1:
                continue  # the same file PUT again to the same path replaces it: nothing visible twice
        if (channel, key) not in want:
            stray += 1
            continue
        copies[(channel, key)].append(rec["t"])
    posters: dict[tuple[str, str], int] = Counter()
    for (channel, key, _part), n in file_uploads.items():
        posters[(channel, key)] = max(posters[(channel, key)], n)
    for k in posters:
        copies[k] = sorted(copies[k])[:1]
    # the week's page is a folder of files: every day revealed at the end is what counts
    site = folder / "site"
    pages = "\n".join(p.read_text(errors="ignore") for p in site.rglob("*.html")) if site.exists() else ""
    duplicates, missing, late, failed_ok = [], [], [], []
    per_channel: dict[str, Counter[str]] = defaultdict(Counter)
    for (channel, key), pid in want.items():
        row = by_id.get(pid)
        times = copies.get((channel, key), [])
        if channel == "web_page":  # files written atomically in a web root: no server log
            # (counted from the ledger receipt)
            times = [row.sent_at] if row is not None and row.state == "sent" and row.sent_at else []
            if times and f"[C{key.split('@')[0]}]" in pages:
                per_channel[channel]["day_visible_at_end"] += 1
        per_channel[channel]["expected"] += 1
        if not times:
            revoked = (
                revoked_at is not None
                and channel == "mastodon"
                and row is not None
                and row.scheduled_at >= revoked_at - 5
                and revoked_account in (None, _account_of(row))
            )
            if row is not None and row.state in ("failed", "skipped"):
                if revoked:
                    per_channel[channel]["failed_after_revoke"] += 1
                failed_ok.append(pid)  # surfaced: a permanent failure the operators were told about
                per_channel[channel][row.state] += 1
            else:
                missing.append(pid)  # lost: neither delivered nor reported
                per_channel[channel]["missing"] += 1
            continue
        per_channel[channel]["delivered"] += 1
        if len(times) > 1:
            duplicates.append(pid)
            per_channel[channel]["duplicates"] += len(times) - 1
        if row is not None and min(times) > row.scheduled_at + row.missed_window_s:
            late.append(pid)
            per_channel[channel]["late"] += 1
    out_of_order = _out_of_order(want, copies, by_id)
    one_revoked = (_revoked_account(revoked_account, revoked_at, want, copies, by_id)
                   if revoked_account is not None and revoked_at is not None else None)
    during = _outage(outage, want, copies, by_id) if outage else None
    requests = [r for r in records if r["type"] == "request"]
    pacing = _reservations(folder.parent / "rate.jsonl")
    faults = Counter(r["fault"] for r in requests if r["fault"])
    rates = {}
    for connector, (limit, interval) in limits.items():
        pattern, provider = WRITE_PATHS.get(connector), PROVIDER_OF[connector]
        if pattern is None:
            continue
        calls: dict[str, list[float]] = defaultdict(list)  # account → its calls' times
        for r in requests:
            if r["provider"] == provider and r["method"] == "POST" and pattern.search(r["path"]):
                calls[r.get("account", "")].append(r["t"])
        if not calls:
            continue
        peaks = {account: _windows(sorted(times), interval) for account, times in calls.items()}
        pacers = {k: v for k, v in pacing.items() if k.split(":", 1)[0] == PACER_OF[connector]}
        seconds, share = _backlog_per_account(calls, pacers, limit, interval)
        rates[connector] = {
            "limit": f"{limit} per {interval:g} s per account",
            "accounts": len(calls),
            "calls": sum(len(t) for t in calls.values()),
            "max_in_any_interval": max(peaks.values()),
            "never_above": max(peaks.values()) <= limit,
            "above_on": sorted(a or "default" for a, n in peaks.items() if n > limit),
            "backlog_s": round(seconds, 1),
            "share_of_limit_during_backlog": round(share, 3) if share is not None else None,
        }
    states = Counter(r.state for r in rows)
    unknown_open = [r.id for r in rows if r.state in ("unknown", "sending", "pending")]
    return {
        "publications": len(want),
        "duplicates": len(duplicates),
        "missing": len(missing),
        "late": len(late),
        # "missing" = lost: not on the provider and not reported failed/skipped in the ledger
        "duplicate_ids": duplicates[:20],
        "missing_ids": missing[:20],
        "late_ids": late[:20],
        "out_of_order": len(out_of_order),
        "out_of_order_ids": out_of_order[:20],
        **({"outage": during} if during else {}),
        **({"revoked_account": one_revoked} if one_revoked else {}),
        "stray_effects": stray,
        "wrong_account": len(wrong_account),
        "wrong_account_ids": wrong_account[:20],
        "ledger_states": dict(states),
        "unreconciled": len(unknown_open),
        "failed_with_reason": {r.id: (r.error or "")[:160] for r in rows if r.state == "failed"},
        "not_delivered_but_reported": len(failed_ok),
        "per_channel": {k: dict(v) for k, v in per_channel.items()},
        "requests": len(requests),
        "faults": dict(faults),
        "fault_share": round(sum(faults.values()) / max(1, len(requests)), 3),
        "rates": rates,
    }


def _outage(window: tuple[float, float], want: dict[tuple[str, str], str],
            copies: dict[tuple[str, str], list[float]], by_id: dict[str, Any]) -> dict[str, Any]:
    """What became of the publications due while every Prefect server was down (``window``)."""
    start, end = window
    sent_during, waited, lost, lateness = 0, 0, [], []
    for (channel, key), pid in want.items():
        row = by_id.get(pid)
        if row is None or not start <= row.scheduled_at < end:
            continue
        times = copies.get((channel, key)) or ([row.sent_at] if channel == "web_page" and row.sent_at else [])
        if not times:
            lost.append(f"{pid}: {row.state}")
            continue
        lateness.append(min(times) - row.scheduled_at)
        if min(times) < end:
            sent_during += 1
        else:
            waited += 1
    return {"seconds": round(end - start, 1), "due": sent_during + waited + len(lost),
            "sent_while_down": sent_during, "sent_after_restart": waited, "not_sent": lost[:20],
            "max_lateness_s": round(max(lateness), 1) if lateness else None}


def _revoked_account(account: str, revoked_at: float, want: dict[tuple[str, str], str],
                     copies: dict[tuple[str, str], list[float]], by_id: dict[str, Any]) -> dict[str, Any]:
    """What became of the Mastodon posts once one account's token was revoked at ``revoked_at``: that
    account's posts delivered before it, held since (failed or skipped in the ledger: reported) and lost
    (neither); every other account's posts due from then on, delivered or not."""
    before, held, lost, after = 0, [], [], []
    others: list[str] = []
    others_missing: list[str] = []
    for (channel, key), pid in want.items():
        row = by_id.get(pid)
        if channel != "mastodon" or row is None:
            continue
        times = copies.get((channel, key), [])
        if _account_of(row) == account:
            if times:
                before += min(times) < revoked_at
                after += [pid] if min(times) >= revoked_at else []
            else:
                (held if row.state in ("failed", "skipped") else lost).append(pid)
        elif row.scheduled_at >= revoked_at:
            others.append(pid)
            others_missing += [] if times else [f"{pid}: {row.state}"]
    return {"account": account, "delivered_before": before, "delivered_after": len(after),
            "held": len(held), "held_ids": held, "lost": len(lost), "lost_ids": lost[:20],
            "others_due": len(others), "others_delivered": len(others) - len(others_missing),
            "others_not_delivered": others_missing[:20]}


def revoke_target(paths: list[Path]) -> str:
    """The account whose Mastodon token ``--revoke-partner`` revokes: the first joint week's last partner's
    (its other partner, on an account of its own, must carry on)."""
    for path in paths:
        accounts = _partner_accounts(path)
        if len(accounts) > 1:
            return list(accounts.values())[-1]
    raise ValueError("--revoke-partner needs a joint week on accounts of its own among the campaigns "
                     "(--campaigns 3 or more)")


def _revoke_time(rows: list[Any], at: float | None, account: str | None) -> float | None:
    """When to revoke: at fraction ``at`` of the week, or with one ``account`` revoked, of that account's
    own publications' span (a joint week scheduled after the others starts later: mid-way through *its*
    week, some of the partner's posts went out before the revoke and the rest are held)."""
    if at is None:
        return None
    own = [r.scheduled_at for r in rows if account is not None and _account_of(r) == account]
    times = own or [r.scheduled_at for r in rows]
    return min(times) + at * (max(times) - min(times))


def _out_of_order(want: dict[tuple[str, str], str], copies: dict[tuple[str, str], list[float]],
                  by_id: dict[str, Any]) -> list[str]:
    """Publications that reached their provider before one of the same campaign, channel and partner
    scheduled earlier (first copies, from the provider logs; the week's page from its ledger receipt). The
    order a channel keeps is its partner's (``Ledger.earlier_open``): in a joint week each partner publishes
    through accounts of its own, and one partner's delayed post never holds another's, so a partner's
    Tuesday post may reach its account before another partner's Monday post reaches theirs."""
    lines: dict[tuple[str, str, str], list[tuple[float, float, str]]] = defaultdict(list)
    for (channel, key), pid in want.items():
        row = by_id.get(pid)
        times = copies.get((channel, key)) or ([row.sent_at] if channel == "web_page" and row and row.sent_at
                                               else [])
        if row is not None and times:
            lines[(row.campaign, channel, partner_of(pid))].append((row.scheduled_at, min(times), pid))
    early = []
    for items in lines.values():
        items.sort()
        for i, (at, first, pid) in enumerate(items):
            if any(other_at < at and other_first > first for other_at, other_first, _ in items[:i]):
                early.append(pid)
    return early


PACER_OF = {"graph_mail": "graph_mail", "teams_channel": "teams", "x": "x", "mastodon": "mastodon",
            "bluesky": "bluesky"}  # connector → first part of its pacer's key


def _account_of(row: Any) -> str:
    """The hub account a publication's row publishes through (``pNN`` from block ``pNN-<kind>``)."""
    block = row.route[1] if row.route else ""
    return block.rsplit("-", 1)[0] if block else ""


def _reservations(path: Path) -> dict[str, list[tuple[float, float, bool]]]:
    """(asked, slot, held back) of every paced request, by pacer key (``PRACTICEWEEK_RATE_LOG`` of the
    workers)."""
    out: dict[str, list[tuple[float, float, bool]]] = defaultdict(list)
    if path.exists():
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError, KeyError):
                rec = json.loads(line)
                out[rec["key"]].append((rec["asked"], rec["slot"], bool(rec.get("held", True))))
    return out


def _backlog_per_account(calls: dict[str, list[float]], pacers: dict[str, list[tuple[float, float, bool]]],
                         limit: int, interval: float) -> tuple[float, float | None]:
    """:func:`_backlog` of each pacer against the calls of its account, combined (time-weighted). A pacer's
    key is a digest of its account's credentials: its account is the one whose calls follow its slots."""
    total, used = 0.0, 0.0
    for slots in pacers.values():
        def near(account: str, slots: list[tuple[float, float, bool]] = slots) -> int:
            return sum(1 for _, s, _ in slots if any(0 <= t - s < 1.0 for t in calls[account]))

        account = max(calls, key=near)
        seconds, share = _backlog(calls[account], [(a, s) for a, s, held in slots if held], limit, interval)
        if share is not None:
            total, used = total + seconds, used + seconds * share
    return total, (used / total if total else None)


def _backlog(calls: list[float], reserved: list[tuple[float, float]], limit: int, interval: float
             ) -> tuple[float, float | None]:
    """While the pacer held a request back (from asking for a slot to the slot it got, merged): how long,
    and the provider's limit in use, averaged over that time: at each moment, the requests that reached
    the provider in the ``interval`` before it, over ``limit`` (1.0: the whole limit was in use)."""
    import bisect

    held = sorted((a, s) for a, s in reserved if s > a)  # the reservations the limit held back
    merged: list[list[float]] = []
    for a, s in held:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s)
        else:
            merged.append([a, s])
    seconds = sum(e - b for b, e in merged)
    if seconds <= 0:
        return 0.0, None
    calls = sorted(calls)
    step = min(0.05, interval / 100)
    used, samples = 0.0, 0
    for b, e in merged:
        t = b + step / 2
        while t < e:
            in_window = bisect.bisect_right(calls, t) - bisect.bisect_right(calls, t - interval)
            used += min(1.0, in_window / limit)
            samples += 1
            t += step
    return seconds, (used / samples if samples else None)


class Rig:
    """The production stack plus the provider servers, in one temporary folder."""

    def __init__(
        self,
        workers: int,
        fault_rate: float = 0.0,
        seed: int = 1,
        root: Path | None = None,
        limits: dict[str, str] | None = None,
        ha: bool = False,
        servers: int = 2,
        accounts: int = 0,
        hosts: int = 0,
    ) -> None:
        """``accounts``: provider accounts of their own for that many partnerships (the rest, if any, share
        the default account). ``hosts``: that many hosts, each an API server and a worker (``servers`` and
        ``workers`` are then both ``hosts``), struck whole by the blows ``host-kill`` and ``host-freeze``."""
        if hosts:
            workers, servers, ha = hosts, hosts, True
        self.root = root or Path(tempfile.mkdtemp(prefix="practiceweek-chaos-"))
        os.chmod(self.root, 0o711)
        self.workers = workers
        self.struck_at: dict[str, int] = {}  # part → size of its log when last struck
        self.hub, provider_env = start_hub(self.root / "providers", fault_rate, seed, accounts)
        self.stack = open_stack(self.root / "stack", ha, servers)
        self.stack.workers = workers  # their work queues, for the window runs' standbys (client_env)
        self.hosts = Hosts(self.stack, hosts, random.Random(seed + 27)) if hosts else None
        self.stack.extra_env = {
            **provider_env,
            "PRACTICEWEEK_REPO": snapshot_repo(ROOT, self.root / "repo"),
            "PRACTICEWEEK_BRANCH": "main",
            "PRACTICEWEEK_STATE": str(self.root / "state"),
            "PRACTICEWEEK_RATE_LOG": str(self.root / "rate.jsonl"),
            **(limits or {}),
        }
        (self.root / "limits.json").write_text(json.dumps(limits or {}))

    @classmethod
    def attach(cls, root: Path, workers: int) -> Rig:
        """The rig another process started in ``root`` (its servers and workers keep running)."""
        rig = cls.__new__(cls)
        rig.root, rig.workers, rig.hub, rig.struck_at, rig.hosts = root, workers, None, {}, None
        provider_env = json.loads((root / "providers" / "providers.env.json").read_text())
        rig.stack = open_stack(root / "stack")
        rig.stack.workers = workers
        rig.stack.extra_env = {**provider_env, "PRACTICEWEEK_REPO": f"file://{root / 'repo'}",
                               "PRACTICEWEEK_BRANCH": "main", "PRACTICEWEEK_STATE": str(root / "state"),
                               "PRACTICEWEEK_RATE_LOG": str(root / "rate.jsonl")}
        limits = root / "limits.json"
        rig.stack.extra_env.update(json.loads(limits.read_text()) if limits.exists() else {})
        return rig

    def up(self) -> None:
        self.stack.up(self.workers)
        self.stack.deploy()

    def client(self) -> None:
        """Make this process a client of the rig (before it imports Prefect): API, auth string, ledger."""
        os.environ.update(
            {k: v for k, v in self.stack.client_env().items() if k.startswith(("PREFECT_", "PRACTICEWEEK_"))}
        )

    def down(self, keep: bool = False) -> None:
        self.stack.down(grace=3)  # a rig's runs are over (or their effects already counted): no need to wait
        if self.hub is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.hub.pid, signal.SIGKILL)
            self.hub.wait()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def rehearse(
        self,
        campaigns: int,
        minutes: float,
        worker_kills: int = 0,
        server_kills: int = 0,
        revoke_at: float | None = None,
        heal_every: float = 3.0,
        grace: float = 300.0,
        seed: int = 1,
        alert_wait: float = 90.0,
        more: dict[str, int] | None = None,
        outage: tuple[float, float] | None = None,
        revoke_partner: bool = False,
    ) -> dict[str, Any]:
        """Rehearse ``campaigns`` weeks compressed into ``minutes``, killing and healing on the way.
        ``server_kills`` kill the Prefect server (an API server in the HA set-up); ``more`` asks for other
        blows by kind: ``services`` (kill -9 the services process), ``redis`` and ``postgres`` (restarts).
        ``outage`` = (fraction of the week, seconds): every Prefect server process down at once, that long.
        With hosts, ``more`` may ask for ``host-kill`` and ``host-freeze`` too (bench/chaos_hosts.py).
        ``revoke_partner``: at ``revoke_at`` revoke only one joint-week partner's Mastodon token."""
        from ledger import TERMINAL, Ledger
        from practiceweek.accounts import route_label
        from practiceweek.loader import load
        from practiceweek.planner import plan

        rng = random.Random(seed)
        stack = self.stack
        events: list[dict[str, Any]] = []
        t_start = time.time()
        monday = dt.date.today() + dt.timedelta(days=7 - dt.date.today().weekday())
        own = save_accounts(self.root / "providers", accounts_needed(campaigns))  # each partnership's own
        paths = variants(campaigns, self.root / "campaigns", start=monday, accounts=own)  # the same dates
        want = expected(paths)
        target = revoke_target(paths) if revoke_partner else None  # None: every account's token
        spans = [[p.at.timestamp() for p in plan(load(path).model)] for path in paths]
        speed = max(1.0, max(max(t) - min(t) for t in spans) / (minutes * 60))
        # from the start: a week's first runs begin while the later weeks are still being scheduled
        watch = TakeoverWatch(Ledger(stack.ledger.url()), trace=self.root / "windows-trace.jsonl")
        watch.start()
        schedule_all(paths, speed)
        led = Ledger(stack.ledger.url())
        rows = led.rows()
        first, last = min(r.scheduled_at for r in rows), max(r.scheduled_at for r in rows)
        # random moments over what is left of the week (scheduling a loaded machine's weeks can take longer
        # than the first ones' lead: moments already past would all strike at once, a burst, not chaos)
        begin = max(first, time.time())
        kills = sorted(
            (rng.uniform(begin, last), kind)
            for kind, n in (("worker", worker_kills), ("server", server_kills), *(more or {}).items())
            for _ in range(n) if kind not in HOST_BLOWS
        )
        # host blows one at a time, spread over the week (bench/chaos_hosts.py): each (at, kind, seconds)
        host_plan = plan_blows({k: n for k, n in (more or {}).items() if k in HOST_BLOWS}, begin, last,
                               random.Random(seed + 29)) if self.hosts is not None else []
        kills = sorted([*kills, *((at, kind) for at, kind, _ in host_plan)])
        lasting = {round(at, 3): seconds for at, _, seconds in host_plan}  # a host blow's length, by its time
        if outage is not None:  # all of Prefect down at once, then back
            kills += [(first + outage[0] * (last - first), "outage"),
                      (first + outage[0] * (last - first) + outage[1], "outage-end")]
            kills.sort()
        revoke_time = _revoke_time(rows, revoke_at, target)
        revoked = None
        postponed = 0  # blows put off a second while a part of their kind was still restarting
        deadline = last + grace
        # the production supervisor restarts what was killed and heals, as it would in production
        stop = threading.Event()
        supervisor = threading.Thread(
            target=stack.supervise, args=(self.workers,), kwargs={"heal_every": heal_every, "stop": stop},
            daemon=True, name="supervisor",
        )
        supervisor.start()
        try:
            while True:
                now = time.time()
                if kills and now >= kills[0][0]:
                    at, kind = kills.pop(0)
                    lasts = lasting.pop(round(at, 3), None)
                    victim = self._strike(kind, rng, lasts)
                    if victim is None:  # every part of that kind is down already (restarting): a moment later
                        kills = sorted([*kills, (now + 1.0, kind)])
                        if lasts is not None:  # a host blow keeps its planned length
                            lasting[round(now + 1.0, 3)] = lasts
                        postponed += 1
                    else:
                        events.append({"t": round(now - t_start, 1), "killed": victim,
                                       **({"at": now} if victim.startswith("outage") else {})})
                for back in self.hosts.bring_back() if self.hosts else ():
                    events.append({"t": round(now - t_start, 1), "back": back})
                if revoke_time is not None and revoked is None and now >= revoke_time:
                    command = " ".join(filter(None, ("revoke mastodon", target)))
                    (self.root / "providers" / "providers.control").write_text(command + "\n")
                    revoked = now
                    events.append({"t": round(now - t_start, 1), "revoked": command.split(" ", 1)[1]})
                try:
                    rows = led.rows()
                except Exception:  # noqa: BLE001 - the ledger's PostgreSQL is restarting: look again
                    rows = [None]  # type: ignore[list-item]
                struck = self.hosts is not None and self.hosts.struck
                if not kills and not struck and all(r is not None and r.state in TERMINAL for r in rows):
                    break
                if now > deadline:
                    events.append({"t": round(now - t_start, 1), "timeout": True})
                    break
                time.sleep(0.5)
        finally:
            if self.hosts is not None:
                self.hosts.bring_back(force=True)  # a host still frozen at a timeout: wake it to stop it
            watch.stop.set()
            stop.set()
            supervisor.join(timeout=60)
        rows = led.rows()
        failed = [r.id for r in rows if r.state in ("failed", "skipped")]
        alerted = self._wait_for_alerts(failed, timeout=alert_wait)
        time.sleep(1)  # let the provider log settle
        down = [e["at"] for e in events if "at" in e]
        result = analyse(self.root / "providers", rows, want, revoked, _limits(),
                         (down[0], down[1]) if len(down) == 2 else None, target)
        result["failed_alerted"] = f"{len(alerted)}/{len(failed)}"
        result.update(self._takeovers(watch.takeovers, t_start))
        result["failed_not_alerted"] = sorted(set(failed) - alerted)[:20]
        if revoked is not None:
            recs = [
                json.loads(x) for x in (self.root / "providers" / "providers.jsonl").read_text().splitlines()
            ]
            result["mastodon_requests_after_revoke"] = sum(
                1 for r in recs if r["type"] == "request" and r["provider"] == "mastodon" and r["t"] > revoked
                and target in (None, r.get("account"))
            )
        if "revoked_account" in result:  # its held posts the operators were told about, and what stopped
            one = result["revoked_account"]
            one["held_alerted"] = len(set(one.pop("held_ids")) & alerted)
            one["revoked_at_fraction"] = revoke_at
            one["partner"] = next(f"{key} of {path.stem}" for path in paths
                                  for key, acc in _partner_accounts(path).items() if acc == target)
            one["stopped"] = sorted(route_label(c, a) for c, a in led.stopped())
        result.update(
            {
                "workers": self.workers,
                "campaigns": campaigns,
                "accounts_per_partnership": own,
                "speed": round(speed, 1),
                "week_minutes": minutes,
                "worker_kills": sum(1 for e in events if e.get("killed", "").startswith("worker")),
                "server_kills": sum(1 for e in events if e.get("killed", "").startswith(("server", "api-"))),
                "services_kills": sum(1 for e in events if e.get("killed") == "services"),
                "redis_restarts": sum(1 for e in events if e.get("killed") == "redis"),
                "postgres_restarts": sum(1 for e in events if e.get("killed") == "ledger-postgres"),
                "parts": [name for name, _ in stack.parts()],
                "events": events,
                "wall_s": round(time.time() - t_start, 1),
                "started_at": t_start,
                "kills_postponed": postponed,  # events' "t" count from here (to line them up with the logs)
            }
        )
        return result

    READY = {"worker": "started!", "services": "Starting services"}  # log line of a part that is ready

    def _up(self, name: str) -> bool:
        """Whether part ``name`` is running and ready: an API server answering, a worker or the services
        having logged that they started since they were last struck, Redis answering."""
        stack = self.stack
        if not stack.running(name):
            return False
        if name.startswith("api-") and hasattr(stack, "api_healthy"):
            return bool(stack.api_healthy(int(name.split("-")[1])))
        if name == "redis" and getattr(stack, "redis", None) is not None:
            return bool(stack.redis.answers())
        marker = self.READY.get(name.split("-")[0])
        if marker is not None:
            log = stack.logs / f"{name}.log"
            with contextlib.suppress(OSError), open(log, "rb") as fh:
                fh.seek(self.struck_at.get(name, 0))
                return marker.encode() in fh.read()
            return False
        return name != "server" or stack.healthy()

    def _strike(self, kind: str, rng: random.Random, lasts: float | None = None) -> str | None:
        """One blow of ``kind``: one part of that kind down while the others of its kind are up (the failure
        the HA set-up must absorb; every Prefect server down at once is ``outage``), not counting the parts
        of a host struck whole (a worker or API server of another host may be killed meanwhile); the
        supervisor brings the victim back. Returns the victim's name, or None while a part of that kind is
        still restarting from an earlier blow (the blow comes a moment later). ``lasts``: a host blow's
        planned length."""
        stack = self.stack
        apis = [name for name, _ in stack.parts() if name.startswith("api-")]
        if kind in HOST_BLOWS:
            return self._strike_host(kind, lasts)
        struck = {name for i in (self.hosts.struck if self.hosts else ()) for name in host_parts(i)}
        if kind in ("outage", "outage-end"):
            prefect = [name for name, _ in stack.parts() if name not in ("redis", "haproxy")]
            if kind == "outage-end":
                stack.held.clear()
                return "outage over"
            stack.held.update(prefect)
            for name in prefect:
                stack.kill(name)
            return "outage: " + ", ".join(prefect)
        if kind == "postgres":  # the ledger's PostgreSQL stops as after a crash (no checkpoint)
            if not stack.ledger.running():
                return None
            with contextlib.suppress(subprocess.CalledProcessError):
                stack.ledger.stop(mode="immediate")
            return "ledger-postgres"
        candidates = {"worker": [f"worker-{i}" for i in range(1, self.workers + 1)],
                      "server": apis or ["server"]}.get(kind, [kind])
        candidates = [name for name in candidates if name not in struck]
        if not all(self._up(name) for name in candidates):
            return None
        victim = rng.choice(candidates)
        log = stack.logs / f"{victim}.log"
        self.struck_at[victim] = log.stat().st_size if log.exists() else 0  # ready again once it logs so
        # SIGKILL to the worker's process group. Its flow runs are not in it (Prefect starts each in a
        # session of its own) and live on, as in every chaos run so far; killing them too (as systemd stops a
        # unit's control group) was tried once: each kill then took a third of all window runs, replacements
        # took longer to start than the 30 s between kills on two cores, and 228 of 438 were skipped
        # (bench/RESULTS.md, chaos-hosts, hosts29)
        stack.kill(victim)
        return victim

    def _strike_host(self, kind: str, lasts: float | None = None) -> str | None:
        """Kill or freeze a whole host (bench/chaos_hosts.py) for ``lasts`` seconds; a killed worker is
        ready again once it logs that it started."""
        if self.hosts is None:
            raise ValueError(f"{kind} needs --hosts")
        sizes = {p.stem: p.stat().st_size for p in self.stack.logs.glob("worker-*.log")}
        victim = self.hosts.strike(kind, self.stack.running, lasts)
        if victim is not None and kind == "host-kill":
            for index in self.hosts.struck:
                self.struck_at[f"worker-{index}"] = sizes.get(f"worker-{index}", 0)
        return victim

    def _takeovers(self, takeovers: list[dict[str, Any]], t0: float) -> dict[str, Any]:
        """Window takeovers seen in the ledger (the slowest: from the old owner's last beat to the new
        owner's take; each, with its times from the start, to lay beside the blows' ``events``), those each
        host blow caused, and the late sends and claims the fence refused (the workers' logs carry their
        flow runs' output)."""
        logs = " ".join(p.read_text(errors="replace") for p in self.stack.logs.glob("worker-*.log"))
        out: dict[str, Any] = {
            "takeovers": len(takeovers),
            "slowest_takeover_s": max((t["seconds"] for t in takeovers), default=None),
            "takeover_list": [{"t_last_beat": round(t["last_beat"] - t0, 1), "seconds": t["seconds"],
                               "lane": t["lane"], "to_queue": t["queue"]} for t in takeovers],
            "fenced_refusals": logs.count("is no longer current)"),
            "lost_window_stops": logs.count("another run took this window over"),
        }
        if self.hosts is not None:
            out.update(self.hosts.summary(takeovers, t0))
            out["hosts"] = self.hosts.count
        return out

    def _wait_for_alerts(self, failed: list[str], timeout: float) -> set[str]:
        """Publications among ``failed`` the operators were told about (alert-operators wrote the outbox)."""
        from flows.runtime.names import artifact_key

        outbox = self.root / "providers" / "outbox" / "operators"
        deadline = time.time() + timeout
        while True:
            names = " ".join(p.name for p in outbox.rglob("*alert-*")) if outbox.exists() else ""
            alerted = {pid for pid in failed if f"-{artifact_key(pid)}-" in names}
            if len(alerted) == len(failed) or time.time() > deadline:
                return alerted
            time.sleep(2)


def _limits() -> dict[str, tuple[int, float]]:
    """Each connector's limit as the workers pace to it (PRACTICEWEEK_RATE_LIMIT_* included)."""
    from connectors.registry import rate_limit

    out = {}
    for name in set(CONNECTOR_OF.values()):
        limit, per = rate_limit(name)
        if limit:
            out[name] = (limit, per)
    return out


def limit_env(spec: str) -> dict[str, str]:
    """``graph_mail=3/10,x=3/10`` → PRACTICEWEEK_RATE_LIMIT_* settings for the workers."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, value = part.partition("=")
        out[f"PRACTICEWEEK_RATE_LIMIT_{name.strip().upper()}"] = value.strip()
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--attach", type=Path, default=None, help="use the rig already running in this folder")
    p.add_argument(
        "--campaigns", type=int, default=9, help="partnerships' weeks (about 36 publications each)"
    )
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--minutes", type=float, default=12.0, help="how long the rehearsed week lasts")
    p.add_argument("--worker-kills", type=int, default=20)
    p.add_argument("--server-kills", type=int, default=20,
                   help="kill -9 of the server (with --ha: of an API server)")
    p.add_argument("--ha", action="store_true",
                   help="Prefect's HA topology (deploy/ha.py): API servers behind HAProxy, services, Redis")
    p.add_argument("--api-servers", type=int, default=2, help="API servers behind HAProxy (with --ha)")
    p.add_argument("--hosts", type=int, default=0, help="that many hosts, each an API server and a worker "
                   "with its own queue and window runs (implies --ha; --workers, --api-servers ignored)")
    p.add_argument("--host-kills", type=int, default=0, help="kill -9 of every process of one host at once "
                   "(with --hosts); the host comes back after 30 s")
    p.add_argument("--host-freezes", type=int, default=0, help="SIGSTOP of every process of one host for "
                   "20 to 90 s, then SIGCONT (with --hosts)")
    p.add_argument("--services-kills", type=int, default=None, help="kill -9 of the services process "
                   "(default: 20 with --ha)")
    p.add_argument("--redis-restarts", type=int, default=None, help="kill -9 of Redis, restarted by the "
                   "supervisor (default: 3 with --ha)")
    p.add_argument("--pg-restarts", type=int, default=None, help="crash-stops of the ledger's PostgreSQL "
                   "(pg_ctl -m immediate), restarted by the supervisor (default: 3 with --ha, else 0)")
    p.add_argument(
        "--fault-rate",
        type=float,
        default=0.23,
        help="chance that a provider request is answered with a fault; 0.2 measured 17.4 %% of all requests "
        "faulted in two runs, so the default is set for a measured share of at least 20 %%",
    )
    p.add_argument(
        "--revoke-at",
        type=float,
        default=None,
        help="revoke the Mastodon token at this fraction of the week (0..1)",
    )
    p.add_argument("--revoke-partner", action="store_true",
                   help="revoke only one joint-week partner's Mastodon token (at --revoke-at of that "
                   "partner's own week, default 0.4): its posts there are held, every other account's go "
                   "out; needs --campaigns 3 or more")
    p.add_argument("--outage-at", type=float, default=None,
                   help="stop every Prefect server process (API servers, services) at this fraction of the "
                   "week and keep them down for --outage-s")
    p.add_argument("--outage-s", type=float, default=60.0, help="how long that outage lasts, seconds")
    p.add_argument("--heal-every", type=float, default=3.0, help="the supervisor's healing period, seconds")
    p.add_argument("--grace", type=float, default=300.0, help="seconds to wait after the last publication")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--limits",
        default="graph_mail=3/10,mastodon=3/5,bluesky=3/5,x=3/10",
        help="provider limits the workers pace to (PRACTICEWEEK_RATE_LIMIT_*), tight enough that the "
        "partnerships' posts queue behind them; '' keeps each connector's real limit",
    )
    p.add_argument("--alert-wait", type=float, default=90.0, help="seconds to wait for operator alerts")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    if a.revoke_partner and a.revoke_at is None:
        a.revoke_at = 0.4
    if a.revoke_partner and a.campaigns < 3:
        p.error("--revoke-partner needs a joint week: --campaigns 3 or more")
    rig = (
        Rig.attach(a.attach, a.workers)
        if a.attach
        else Rig(a.workers, a.fault_rate, a.seed, limits=limit_env(a.limits), ha=a.ha or a.hosts > 0,
                 servers=a.api_servers, accounts=accounts_needed(a.campaigns), hosts=a.hosts)
    )
    if (a.host_kills or a.host_freezes) and not a.hosts:
        p.error("--host-kills and --host-freezes need --hosts")
    more = {"services": a.services_kills, "redis": a.redis_restarts, "postgres": a.pg_restarts}
    ha = a.ha or a.hosts > 0
    more = {k: (v if v is not None else ({"services": 20}.get(k, 3) if ha else 0)) for k, v in more.items()}
    more.update({"host-kill": a.host_kills, "host-freeze": a.host_freezes})
    try:
        if not a.attach:
            rig.up()
        rig.client()
        result = rig.rehearse(
            a.campaigns, a.minutes, a.worker_kills, a.server_kills, a.revoke_at, a.heal_every, a.grace,
            a.seed, a.alert_wait, more, (a.outage_at, a.outage_s) if a.outage_at is not None else None,
            revoke_partner=a.revoke_partner,
        )
    finally:
        if not a.attach:
            rig.down(keep=a.keep)
    paced = "" if a.attach else a.limits
    result.update({"fault_rate": a.fault_rate, "seed": a.seed, "paced_limits": paced})
    result["command"] = "bench/chaos.py " + " ".join(argv)
    ok = result["duplicates"] == 0 and result["missing"] == 0 and result["late"] == 0
    one = result.get("revoked_account")
    if one:  # its posts held, none lost; every other account's delivered
        ok = ok and one["lost"] == 0 and one["others_delivered"] == one["others_due"]
    if a.hosts:  # the target: no takeover after a host's loss slower than 20 s
        result["load_average"] = os.getloadavg()
        ok = ok and (result.get("slowest_takeover_after_host_loss_s") or 0) < 20
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
