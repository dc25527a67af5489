"""Approving a week: the ledger keeps every decision (a rejection with its alert, in one transaction), the
Resume form refuses an untouched decision, and the schedule run is named after its week."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from flows.plan.apply import planned_rows
from flows.planning.approval import Approval, Choice, date_span, rejected_state, run_title, week_label
from ledger import Decision, Ledger, Verdict
from practiceweek.loader import load
from tests.helpers import CAMPAIGNS

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
