"""The settings table, generated from the settings objects (the core's and every connector's).

``practiceweek settings`` prints it; the documentation site's settings reference (docs/reference/settings.md)
is generated from it each time the site is built (docs/hooks.py).
"""

from __future__ import annotations

import sys
from typing import Any

from connectors.settings import SETTINGS_CLASSES
from practiceweek.settings import Settings, env_name


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(value: Any) -> str:
    if value is None or value == "" or value == {}:
        return "unset" if value is None or value == {} else '`""`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def rows() -> list[tuple[str, str, str, str, bool]]:
    """(group, variable, default, description, secret) for every setting, connectors' included."""
    out: list[tuple[str, str, str, str, bool]] = []
    for name, info in Settings.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        default = info.get_default(call_default_factory=True)
        secret = "SecretStr" in str(info.annotation)
        out.append((str(extra.get("group", "")), env_name(name), _default(default),
                    info.description or "", secret))
    for cls in SETTINGS_CLASSES:
        for var, default, description, secret in cls.documentation():
            out.append((f"Connector credentials: {cls.title}", var, _default(default), description, secret))
    return out


def markdown_table() -> str:
    """The Markdown table of every setting (the site's settings reference is generated from it)."""
    lines = ["| variable | default | description |", "|---|---|---|"]
    group = None
    for grp, var, default, description, secret in rows():
        if grp != group:
            lines.append(f"| **{_cell(grp)}** | | |")
            group = grp
        desc = ("**Secret** (never printed). " if secret else "") + description
        lines.append(f"| `{var}` | {default} | {_cell(desc)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        print("usage: practiceweek settings", file=sys.stderr)
        return 2
    sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
