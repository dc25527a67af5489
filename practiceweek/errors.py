"""The one error type of practiceweek, and the problems it carries.

Every problem names the file, line and column, the field path, and what was
expected, so the person who must fix the campaign can go straight to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or worth a warning) in a campaign file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"
    hint: str = field(default="", compare=False)

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field_part = f" {self.path}:" if self.path else ""
        text = f"{where}: {self.severity}:{field_part} {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class CampaignError(Exception):
    """A campaign cannot be used as written. Carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(p.render() for p in self.problems) or "invalid campaign")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]
