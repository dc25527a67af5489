"""The ledger's vocabularies: the states of a publication (and the sets of them the rest of the code asks
about), of a window run and of an engagement reading, and approvers' verdicts.

They live in the core so that every layer names them, the core's report as well (``ledger.states`` holds
them for the ledger and the layers above, with the SQL helper).

Members equal their strings (``StrEnum``): the database holds the strings, and a row read back compares
equal to the member. Code outside this module names the member, never the string
(``tests/unit/test_state_vocabulary.py``).
"""

from __future__ import annotations

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


class WindowState(StrEnum):
    """Where a window run (one publishing flow run per window lane) stands: scheduled → running → done."""

    SCHEDULED = "scheduled"
    RUNNING = "running"
    DONE = "done"


class ReadingState(StrEnum):
    """Where an engagement reading stands: due, then read (figures) or unavailable (a reason)."""

    DUE = "due"
    READ = "read"
    UNAVAILABLE = "unavailable"


class Verdict(StrEnum):
    """What the approver of a week (``approval: required``) decided."""

    APPROVED = "approved"
    REJECTED = "rejected"


TERMINAL: frozenset[State] = frozenset({State.SENT, State.FAILED, State.SKIPPED, State.CANCELLED})
"""Nothing more happens to a publication in these states (short of a re-plan)."""

OPEN: frozenset[State] = frozenset({State.PENDING, State.UNKNOWN, State.SENDING})
"""A publication in these states may still go out."""

ENDED: tuple[State, ...] = (State.SENT, State.FAILED, State.SKIPPED, State.CANCELLED)
"""``TERMINAL`` in the order summaries count them."""

WAITING: frozenset[State] = frozenset({State.PENDING, State.UNKNOWN})
"""A publication in these states waits for a window run to take it (open, and nobody is sending it)."""
