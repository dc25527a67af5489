"""Approving a week: the ledger keeps every decision (a rejection with its alert, in one transaction), the
Resume form refuses an untouched decision, and the schedule run is named after its week."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from flows.plan.apply import held_partners, planned_rows
from flows.planning.approval import (
    Approval,
    Choice,
    date_span,
    form_description,
    partner_plan,
    rejected_state,
    run_title,
    week_label,
)
from ledger import Decision, Ledger, Verdict
from practiceweek.loader import Loaded, load, load_text
from practiceweek.partners import approval_mode, approving_partners
from practiceweek.planner import partner_of
from tests.helpers import CAMPAIGNS, ROOT

IOW = CAMPAIGNS / "iowscp-domestic-abuse-2024.yaml"


def _ledger(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")


def test_a_rejection_is_recorded_with_its_alert_and_withdraws_the_approval(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    led.set_campaign("c1", "/x.yaml", approval="required")
    led.decide(Decision("c1", Verdict.APPROVED, "Jo", 1000.0, "fine", "run-1"))
    camp = led.campaign("c1")
    assert camp is not None and (camp.approver, camp.approved_at) == ("Jo", 1000.0)
    assert not led.alerts()  # an approval alerts nobody

    led.decide(Decision("c1", Verdict.REJECTED, "Sam", 2000.0, "wrong dates", "run-2"), "subject", "text")
    camp = led.campaign("c1")
    assert camp is not None and camp.approver is None and camp.approved_at is None
    assert [(d.verdict, d.approver, d.comment, d.flow_run_id) for d in led.decisions("c1")] == [
        ("rejected", "Sam", "wrong dates", "run-2"),
        ("approved", "Jo", "fine", "run-1"),
    ]
    (alert,) = led.alerts(unsent_only=True)
    assert (alert.kind, alert.subject, alert.reason) == ("rejected", "subject", "text")


def test_a_campaign_never_scheduled_can_be_rejected_and_forgetting_keeps_decisions(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    led.decide(Decision("new", Verdict.REJECTED, "Sam", 1.0, "", ""), "s", "t")
    assert led.campaign("new") is None and len(led.decisions("new")) == 1
    led.set_campaign("new", "/x.yaml")
    led.forget("new")  # a finished rehearsal started again
    assert [d.verdict for d in led.decisions("new")] == [Verdict.REJECTED]


def test_the_form_needs_an_explicit_decision_and_an_approver() -> None:
    with pytest.raises(ValidationError, match="decision"):
        Approval(approver="Sam Manager")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="approver"):
        Approval(decision=Choice.REJECT)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Approval(decision="Yes", approver="Sam Manager")  # type: ignore[arg-type]
    for blank in ("", "  \n"):  # a rejection says why
        with pytest.raises(ValidationError, match="a rejection needs a comment"):
            Approval(decision="Reject", approver="Sam Manager", comment=blank)  # type: ignore[arg-type]
    answer = Approval(decision="Reject", approver="Sam Manager", comment="Wrong toolkit")  # type: ignore[arg-type]
    assert answer.decision is Choice.REJECT and answer.comment == "Wrong toolkit"
    assert Approval(decision="Approve", approver="Sam Manager").comment == ""  # type: ignore[arg-type]
    schema = Approval.model_json_schema()
    assert schema["required"] == ["decision", "approver"]  # no default for the decision: nothing implied
    assert all(field.get("description") for field in schema["properties"].values())
    assert schema["properties"]["decision"]["enum"] == ["Approve", "Reject"]  # inline: both UIs offer it


def test_the_schedule_run_is_named_after_its_week() -> None:
    loaded = load(IOW)
    assert week_label(loaded) == "IOWSCP practice week 25–29 Nov 2024"
    assert run_title(loaded, "Approve") == (
        "Approve: IOWSCP practice week 25–29 Nov 2024 · "
        "Safeguarding children who are victims of domestic abuse"
    )


def test_a_week_across_months_or_years_names_both_ends() -> None:
    assert date_span(dt.date(2025, 3, 31), dt.date(2025, 4, 4)) == "31 Mar – 4 Apr 2025"
    assert date_span(dt.date(2024, 12, 30), dt.date(2025, 1, 3)) == "30 Dec 2024 – 3 Jan 2025"
    assert date_span(dt.date(2024, 6, 24), dt.date(2024, 6, 28)) == "24–28 Jun 2024"


def test_a_rejected_run_ends_cancelled_under_the_name_rejected_with_who_and_why() -> None:
    state = rejected_state(Decision("c", Verdict.REJECTED, "Sam", 1.0, "wrong dates", ""))
    assert state.is_cancelled() and state.name == "Rejected"
    assert state.message == "Rejected by Sam: wrong dates"


def test_the_approver_is_kept_when_a_rehearsal_starts_again(tmp_path: Path) -> None:
    """Approving creates the campaign's row before the rehearsal's time mapping replaces it (the row is
    forgotten and made again): the approver and time survive, as when a finished rehearsal restarts."""
    led, loaded = _ledger(tmp_path), load(IOW)
    led.set_campaign(loaded.id, str(IOW), approval="required")
    led.decide(Decision(loaded.id, Verdict.APPROVED, "Jo", 1000.0, "", ""))
    planned_rows(loaded, led, rehearse=True, now=5000.0)
    camp = led.campaign(loaded.id)
    assert camp is not None and camp.rehearsal and (camp.approver, camp.approved_at) == ("Jo", 1000.0)
    planned_rows(loaded, led, rehearse=True, speed=2.0, now=6000.0)  # a new speed: the mapping is made again
    camp = led.campaign(loaded.id)
    assert camp is not None and camp.speed == 2.0 and (camp.approver, camp.approved_at) == ("Jo", 1000.0)


# --- approval per partner (joint weeks) -------------------------------------------------------------------

SCW = ROOT / "campaigns" / "safeguarding-children-week-2023.yaml"
SCW_HEAD = "  hashtags: [SafeguardingChildrenWeek]\n"


def _scw(approval: str) -> Loaded:
    """The joint SCW 2023 seed with ``approval`` written under campaign."""
    text = SCW.read_text()
    return load_text(text.replace(SCW_HEAD, f"{SCW_HEAD}  approval: {approval}\n", 1), str(SCW))


def test_approval_per_partner_names_who_decides_and_each_view_knows_its_own() -> None:
    every, some, one = _scw("per_partner"), _scw("[isle-of-wight]"), _scw("required")
    assert approving_partners(every.model) == ["hampshire", "isle-of-wight"]
    assert approving_partners(some.model) == ["isle-of-wight"]
    assert approving_partners(one.model) == [] and approving_partners(load(SCW).model) == []
    assert [approval_mode(x.model) for x in (every, some, one)] == ["per_partner", "per_partner", "required"]
    assert some.for_partner("isle-of-wight").model.campaign.approval == "required"
    assert some.for_partner("hampshire").model.campaign.approval == "none"
    assert one.for_partner("hampshire").model.campaign.approval == "required"  # one approver for all


def test_a_partners_decision_is_its_own_and_the_latest_counts(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    led.set_campaign("j", "/x.yaml", approval="per_partner")
    led.decide(Decision("j", Verdict.REJECTED, "Sam", 1.0, "wrong link", "r1", "iow"), "subject", "text")
    led.decide(Decision("j", Verdict.APPROVED, "Jo", 2.0, "", "r1", "hants"))
    camp = led.campaign("j")
    assert camp is not None and camp.approved_at is None  # a partner's approval is not the week's
    assert led.approved_partners("j") == {"hants"}
    assert {k: d.verdict for k, d in led.partner_decisions("j").items()} == {"iow": "rejected",
                                                                               "hants": "approved"}
    (alert,) = led.alerts()
    assert alert.key.startswith("rejected:j/iow:") and alert.reason == "text"
    led.decide(Decision("j", Verdict.APPROVED, "Ali", 3.0, "fixed", "r2", "iow"))  # proposed again
    assert led.approved_partners("j") == {"hants", "iow"}


def test_only_approved_partners_publications_are_applied(tmp_path: Path) -> None:
    led, loaded = _ledger(tmp_path), _scw("per_partner")
    assert held_partners(loaded, led) == {"hampshire", "isle-of-wight"}
    led.decide(Decision(loaded.id, Verdict.APPROVED, "Jo", 1.0, "", "", "hampshire"))
    held = held_partners(loaded, led)
    assert held == {"isle-of-wight"}
    rows = planned_rows(loaded, led, rehearse=True, now=5000.0, held=held)
    assert rows and {partner_of(r.id) for r in rows} == {"hampshire"}
    whole = planned_rows(loaded, led, rehearse=True, now=5000.0)
    assert len(whole) == 2 * len(rows)
    assert held_partners(_scw("[isle-of-wight]"), led) == {"isle-of-wight"}
    assert held_partners(_scw("required"), led) == frozenset()


def test_a_partners_form_and_state_name_the_partner() -> None:
    loaded = _scw("per_partner")
    title = run_title(loaded, "Approve", "isle-of-wight")
    assert title.startswith("Approve: IOWSCP practice week 2–6 Oct 2023"), title
    assert week_label(loaded) == "HSCP and IOWSCP practice week 2–6 Oct 2023"
    pubs = partner_plan(loaded, "isle-of-wight")
    text = form_description(loaded, pubs, "", "no preview", "isle-of-wight")
    assert "For Isle of Wight Safeguarding Children Partnership only" in text and f"its {len(pubs)} " in text
    both = rejected_state(Decision("c", Verdict.REJECTED, "Sam", 1.0, "no", "", "hampshire"),
                          Decision("c", Verdict.REJECTED, "Ali", 2.0, "", "", "isle-of-wight"))
    assert both.message == "Rejected by Sam (hampshire): no; Rejected by Ali (isle-of-wight)"


def test_a_ledger_made_before_approval_per_partner_keeps_its_decisions(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as db:  # the decisions table as an older version made it
        db.execute("CREATE TABLE decisions (campaign TEXT NOT NULL, verdict TEXT NOT NULL, "
                   "approver TEXT NOT NULL, decided_at DOUBLE PRECISION NOT NULL, "
                   "comment TEXT NOT NULL DEFAULT '', flow_run_id TEXT NOT NULL DEFAULT '', "
                   "PRIMARY KEY (campaign, decided_at))")
        db.execute("INSERT INTO decisions VALUES ('old', 'approved', 'Jo', 1.0, '', '')")
    led = Ledger(f"sqlite:///{path}")
    assert [(d.approver, d.partner) for d in led.decisions("old")] == [("Jo", "")]
    assert led.partner_decisions("old") == {}
    led.decide(Decision("old", Verdict.REJECTED, "Sam", 2.0, "no", "", "north"), "s", "t")
    assert led.partner_decisions("old")["north"].verdict == Verdict.REJECTED
