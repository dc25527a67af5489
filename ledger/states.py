"""The ledger's vocabularies (:mod:`practiceweek.states`, where the core can name them too) and how they are
written into SQL."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from practiceweek.states import ENDED, OPEN, TERMINAL, WAITING, ReadingState, State, Verdict, WindowState

__all__ = [
    "ENDED", "OPEN", "TERMINAL", "WAITING", "ReadingState", "State", "Verdict", "WindowState", "sql_list",
]


def sql_list(states: Iterable[StrEnum]) -> str:
    """The states as an SQL list of literals: ``'pending', 'unknown'``."""
    return ", ".join(f"'{s.value}'" for s in states)
