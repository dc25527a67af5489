"""The one error type of practiceweek, and the problems it carries.

Every problem names the file, line and column, the field path (with the day's
weekday where it goes through ``days[N]``), and what was expected, so the person
who must fix the campaign can go straight to it.
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
    day: str = field(default="", compare=False)  # the weekday of the days[N] the path goes through

    @property
    def named_path(self) -> str:
        """The field path with its day named as a person would: "Monday (days[0]).themes[1].title"."""
        if not self.day or not self.path.startswith("days["):
            return self.path
        head, _, rest = self.path.partition("]")
        return f"{self.day} ({head}]){rest}"

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field_part = f" {self.named_path}:" if self.path else ""
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
