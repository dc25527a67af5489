"""MkDocs hook: the pages generated from the code at build time, never copied by hand.

A page asks for generated text with a marker on a line of its own:

- ``<!-- generate:commands -->``: every ``practiceweek`` command, from the Typer application (``cli.app``);
- ``<!-- generate:settings -->``: every ``PRACTICEWEEK_*`` setting, from the settings objects
  (``cli.settings_doc.markdown_table``, what ``practiceweek settings`` prints);
- ``<!-- generate:fields -->``: every field of a campaign file, from its JSON Schema
  (``practiceweek.schema.campaign_schema``, what ``practiceweek schema`` prints).

An unknown marker fails the build. The functions are plain, so tests can call them too.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

MARKER = re.compile(r"^<!-- generate:([a-z]+) -->$", re.M)


def _text(value: str) -> str:
    """Help text as Markdown: one line, table-safe, no accidental emphasis or HTML."""
    one_line = " ".join(value.split())
    return html.escape(one_line, quote=False).replace("|", "\\|").replace("*", "\\*")


# ---- commands ------------------------------------------------------------------------------------------


def _commands() -> Iterator[tuple[list[str], Any, Any]]:
    """(words after ``practiceweek``, command, its context) for every command, sub-commands included."""
    import typer
    import typer._click as click  # typer's own click: its commands are not the click package's

    from cli.app import app

    def walk(cmd: Any, ctx: Any, path: list[str]) -> Iterator[tuple[list[str], Any, Any]]:
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                yield from walk(sub, click.Context(sub, info_name=name, parent=ctx), [*path, name])
        else:
            yield path, cmd, ctx

    root = typer.main.get_command(app)
    yield from walk(root, click.Context(root, info_name="practiceweek"), [])


def _usage(path: list[str], cmd: Any, ctx: Any) -> str:
    words = ["practiceweek", *path]
    params = [p for p in cmd.get_params(ctx) if p.name != "help"]
    if any(p.param_type_name == "option" for p in params):
        words.append("[OPTIONS]")
    for p in params:
        if p.param_type_name == "argument":
            words.append(p.name.upper() + ("..." if p.nargs == -1 else ""))
    return " ".join(words)


def commands_markdown() -> str:
    """One section per command: what it does, its usage, its arguments and options."""
    out = []
    for path, cmd, ctx in _commands():
        name = " ".join(path)
        anchor = "-".join(path)
        out += [f"## `practiceweek {name}` {{ #{anchor} }}", "", _text(cmd.help or ""), "",
                "```text", _usage(path, cmd, ctx), "```", ""]
        rows = []
        for param in cmd.get_params(ctx):
            record = param.get_help_record(ctx)
            if param.name == "help" or record is None:
                continue
            kind = "argument" if param.param_type_name == "argument" else "option"
            rows.append(f"| `{record[0]}` | {kind} | {_text(record[1])} |")
        if rows:
            out += ["| name | kind | what it does |", "|---|---|---|", *rows, ""]
    return "\n".join(out)


# ---- settings ------------------------------------------------------------------------------------------


def settings_markdown() -> str:
    """The table ``practiceweek settings`` prints."""
    from cli.settings_doc import markdown_table

    return markdown_table()


# ---- campaign fields -----------------------------------------------------------------------------------

_TITLES = {"CampaignFile": "The file"}


def _ref(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _choices(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]


def _type(schema: dict[str, Any]) -> str:
    """A field's type, in words, linking to the section of an object it holds."""
    parts = []
    for s in _choices(schema):
        name = _ref(s)
        if name:
            parts.append(f"[{name}](#{name.lower()})")
        elif "enum" in s:
            parts.append("one of " + ", ".join(f"`{v}`" for v in s["enum"]))
        elif "const" in s:
            parts.append(f"`{s['const']}`")
        elif s.get("type") == "array":
            parts.append("list of " + _type(s.get("items", {})))
        elif s.get("type") == "object" and _values(s):
            parts.append("map of id → " + " or ".join(_type(v) for v in _values(s)))
        else:
            parts.append(_scalar(s))
    return " or ".join(parts) or "any"


def _values(s: dict[str, Any]) -> list[dict[str, Any]]:
    """The schemas of a map's values (``additionalProperties`` or ``patternProperties``)."""
    extra = s.get("additionalProperties")
    return [extra] if isinstance(extra, dict) else list(s.get("patternProperties", {}).values())


def _scalar(s: dict[str, Any]) -> str:
    words = {"string": "text", "integer": "whole number", "number": "number", "boolean": "true/false"}
    kinds = s.get("type", "any")
    kind = "text" if isinstance(kinds, list) and "string" in kinds else words.get(str(kinds), str(kinds))
    kind = s.get("format") or kind
    limits = []
    signs = (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"), ("maxLength", "length ≤"))
    for key, sign in signs:
        if key in s:
            limits.append(f"{sign} {s[key]}")
    return kind + (f" ({', '.join(limits)})" if limits else "")


def _example(schema: dict[str, Any]) -> str:
    examples = schema.get("examples")
    if not examples:
        return ""
    text = json.dumps(examples[0], ensure_ascii=False)
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}…`"


def _default(schema: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in schema or schema["default"] in (None, [], {}):
        return ""
    return f"`{json.dumps(schema['default'], ensure_ascii=False)}`"


def _where(schema: dict[str, Any]) -> dict[str, list[str]]:
    """Each object's YAML paths in a campaign file (``campaign.organiser``, ``days[].themes[]``)."""
    defs = schema.get("$defs", {})
    found: dict[str, list[str]] = {}

    def visit(node: dict[str, Any], path: str, seen: tuple[str, ...]) -> None:
        for field, sub in node.get("properties", {}).items():
            for s in _choices(sub):
                for target, suffix in _targets(s):
                    where = f"{path}.{field}{suffix}".lstrip(".")
                    if where not in found.setdefault(target, []):
                        found[target].append(where)
                    if target not in seen:
                        visit(defs.get(target, {}), where, (*seen, target))

    visit(schema, "", ())
    return found


def _targets(s: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if _ref(s):
        yield _ref(s) or "", ""
    elif s.get("type") == "array":
        for inner in _choices(s.get("items", {})):
            yield from ((t, "[]" + x) for t, x in _targets(inner))
    else:
        for value in _values(s):
            for inner in _choices(value):
                yield from ((t, ".<id>" + x) for t, x in _targets(inner))


def _object_section(name: str, node: dict[str, Any], where: list[str]) -> list[str]:
    title = _TITLES.get(name, name)
    out = [f"## {title} {{ #{name.lower()} }}", ""]
    if where:
        out += ["Written at " + ", ".join(f"`{w}`" for w in where) + ".", ""]
    if node.get("description"):
        out += [_text(node["description"]), ""]
    if "enum" in node:
        out += ["One of: " + ", ".join(f"`{v}`" for v in node["enum"]) + ".", ""]
        return out
    required = set(node.get("required", []))
    props = node.get("properties", {})
    if props:
        out += ["| field | type | default | what it means | example |", "|---|---|---|---|---|"]
        for field, sub in props.items():
            out.append(f"| `{field}` | {_type(sub)} | {_default(sub, field in required)} | "
                       f"{_text(sub.get('description', ''))} | {_example(sub)} |")
        out.append("")
    return out


def fields_markdown() -> str:
    """Every object of the campaign file's JSON Schema, in the order a reader meets them from the top."""
    from practiceweek.schema import campaign_schema

    schema = campaign_schema()
    defs = schema.get("$defs", {})
    where = _where(schema)
    order = ["CampaignFile", *[n for n in where if n in defs], *[n for n in defs if n not in where]]
    out: list[str] = []
    for name in order:
        out += _object_section(name, schema if name == "CampaignFile" else defs[name], where.get(name, []))
    return "\n".join(out)


GENERATORS: dict[str, Callable[[], str]] = {
    "commands": commands_markdown,
    "settings": settings_markdown,
    "fields": fields_markdown,
}


def generate(markdown: str) -> str:
    """``markdown`` with every generate marker replaced by its generated text."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"unknown marker <!-- generate:{name} -->; known: {', '.join(GENERATORS)}")
        return GENERATORS[name]()

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs event: fill the page's generate markers."""
    return generate(markdown)
