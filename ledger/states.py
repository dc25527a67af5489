"""The states of a publication, the two sets the rest of the code asks about, and approvers' verdicts."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class State(StrEnum):
    """Where a publication stands. Members equal their strings, so ``row.state == "sent"`` still holds.

    pending → sending → sent | failed | unknown | skipped | cancelled; unknown → sending after
    reconciliation.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Verdict(StrEnum):
    """What the approver of a week (``approval: required``) decided."""

    APPROVED = "approved"
    REJECTED = "rejected"


TERMINAL: frozenset[State] = frozenset({State.SENT, State.FAILED, State.SKIPPED, State.CANCELLED})
"""Nothing more happens to a publication in these states (short of a re-plan)."""

OPEN: frozenset[State] = frozenset({State.PENDING, State.UNKNOWN, State.SENDING})
"""A publication in these states may still go out."""


def sql_list(states: Iterable[State]) -> str:
    """The states as an SQL list of literals: ``'pending', 'unknown'``."""
    return ", ".join(f"'{s.value}'" for s in states)
