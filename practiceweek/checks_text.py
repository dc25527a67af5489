"""Checks of what campaign text says, as warnings: times written other than the way every rendered
email, card, post and poster writes them (GOV.UK's "1:30pm to 3pm", "9am", "midday")."""

from __future__ import annotations

from typing import Any

from .errors import Problem
from .timestyle import other_styles
from .yamlsource import Path, Source, format_path

# keys whose values are words people read (not addresses, ids, channel names or clock settings)
TEXT_KEYS = {"title", "summary", "key_messages", "one_thing", "description", "text", "x", "bluesky",
             "mastodon", "alt"}
STYLE = "'1:30pm to 3pm', '9am', 'midday'"


def check_time_style(source: Source, out: list[Problem]) -> None:
    """Warn where campaign text writes a time another way than the rendered artifacts do."""
    for path, text in _texts(source.data, ()):
        for found in other_styles(text):
            line, column = _place(source, path, found.written)
            out.append(Problem(
                source.file, line, column, format_path(path),
                f"'{found.written}' is written differently from the times in the emails, cards and posts; "
                f"write '{found.instead}' so readers see one style",
                severity="warning", hint=f"times are written like {STYLE}"))


def _texts(data: Any, path: Path) -> list[tuple[Path, str]]:
    """Every string under a text key, with its path."""
    out: list[tuple[Path, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(_texts(value, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.extend(_texts(value, (*path, i)))
    elif isinstance(data, str):
        keys = [p for p in path if isinstance(p, str)]
        if keys and keys[-1] in TEXT_KEYS:
            out.append((path, data))
    return out


def _place(source: Source, path: Path, written: str) -> tuple[int, int]:
    """The line and column of ``written`` in the file: inside a value folded over several lines, the
    line it is on, not the value's first."""
    line, column = source.position(path)
    lines = source.text.splitlines()
    later = [at for at in (*source.key_at.values(), *source.value_at.values()) if at > (line, column)]
    last = min(later)[0] if later else len(lines)  # the value ends where the next key or value starts
    word = written.split()[0]
    for i in range(line - 1, min(len(lines), last)):
        at = lines[i].find(word, column - 1 if i == line - 1 else 0)
        if at >= 0:
            return i + 1, at + 1
    return line, column

