"""Load a campaign file: parse, check against the model, then check the week makes sense.

Every problem in a file is collected and raised together as one CampaignError.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from .daynames import name_days
from .errors import CampaignError, Problem
from .fields import kind_of
from .model import WEEKDAYS, CampaignFile
from .partners import partner_keys, view
from .yamlsource import Path, Source, parse

MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Loaded:
    """A campaign that passed every check, with where it came from and its warnings."""

    path: FsPath
    model: CampaignFile
    source: Source
    warnings: list[Problem] = field(default_factory=list)
    text: str = ""  # the YAML as loaded

    @property
    def id(self) -> str:
        return self.model.campaign.id

    @property
    def partners(self) -> list[str]:
        """A joint week's partner keys in file order; [] for a week one partnership runs."""
        return partner_keys(self.model)

    def for_partner(self, partner: str) -> Loaded:
        """This campaign as ``partner`` publishes it: a single-partner campaign (itself if not joint, or
        already one partner's view); the lead partner's for ''."""
        if not self.partners:
            return self
        return replace(self, model=view(self.model, partner or self.partners[0]))


def load(path: str | FsPath) -> Loaded:
    """Load and check one campaign file. Raises CampaignError listing every problem."""
    fs_path = FsPath(path)
    name = str(path)
    try:
        raw = fs_path.read_bytes()
    except OSError as exc:
        raise CampaignError(
            [Problem(name, 1, 1, "", f"cannot read the file: {exc.strerror or exc}")]
        ) from None
    if len(raw) > MAX_BYTES:
        raise CampaignError(
            [Problem(name, 1, 1, "", f"file is {len(raw)} bytes; a campaign must be under {MAX_BYTES} bytes")]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CampaignError(
            [Problem(name, line, 1, "", "file is not UTF-8 text; save it as UTF-8")]
        ) from None
    return load_text(text, name, base=fs_path)


def load_text(text: str, name: str = "<campaign>", base: FsPath | None = None) -> Loaded:
    """Load and check campaign YAML given as text."""
    source, problems = parse(text, name)
    if source is None:
        raise CampaignError(problems)
    if not isinstance(source.data, dict):
        got = "an empty file" if source.data is None else f"a {kind_of(source.data)}"
        raise CampaignError(
            [*problems, source.problem((), "expected the sections campaign:, channels: and days:, each on "
                                       f"its own line; got {got}")]
        )
    model: CampaignFile | None = None
    try:
        model = CampaignFile.model_validate(source.data)
    except ValidationError as exc:
        problems.extend(_translate(exc, source))
    except (RecursionError, OverflowError) as exc:  # pathological nesting or numbers
        problems.append(source.problem((), f"file cannot be read as a campaign: {type(exc).__name__}"))
    if model is not None and not [p for p in problems if p.severity == "error"]:
        from .checks import check  # semantic checks need a valid model

        try:
            problems.extend(check(model, source, base))
        except (ValueError, OverflowError, KeyError, LookupError) as exc:  # a value no check foresaw
            problems.append(source.problem((), f"file cannot be checked: {type(exc).__name__}: {exc}"))
    problems = list(dict.fromkeys(problems))  # one report per place, however many days share it
    problems = name_days(problems, source.data)  # "Monday (days[0])", not only days[0]
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CampaignError(problems)
    assert model is not None
    return Loaded(
        path=base or FsPath(name),
        model=model,
        source=source,
        warnings=sorted(p for p in problems if p.severity != "error"),
        text=text,
    )


# --- turning pydantic's errors into messages for people ---

_KIND_NAMES = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list (lines starting '- ')",
    "dict_type": "'name: value' lines",
    "model_type": "fields written 'name: value', each on its own line",
    "model_attributes_type": "fields written 'name: value', each on its own line",
    "float_type": "a number",
}


def _data_path(loc: tuple[Any, ...], data: Any) -> Path:
    """Keep the parts of a pydantic location that address the YAML data."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif (
            isinstance(node, dict)
            and isinstance(part, str)
            and part not in node
            and not part.startswith(("[", "function-"))
            and part not in ("str", "int", "literal", "enum", "bool", "none")
        ):
            out.append(part)  # a missing key
            node = None
    return tuple(out)


def _model_at(path: Path) -> type[BaseModel] | None:
    """The model class that holds the mapping at ``path``."""
    current: Any = CampaignFile
    for part in path:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(part)
            current = info.annotation if info else None
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        real = [a for a in typing.get_args(tp) if a is not type(None)]
        return _unwrap(real[0]) if len(real) == 1 else tp
    return tp


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        close = [o for o in options if o.replace("_", "") == word.replace("_", "").replace("-", "").lower()]
    return f"did you mean '{close[0]}'?" if close else ""


def _missing_at(exc: ValidationError, parent: Path, source: Source) -> list[str]:
    """Names of required fields missing from the mapping at ``parent``."""
    out = []
    for err in exc.errors(include_url=False):
        if err["type"] == "missing":
            path = _data_path(err["loc"], source.data)
            name = str(err["loc"][-1])
            if (path[:-1] if path and path[-1] == name else path) == parent:
                out.append(name)
    return out


def _pair_misspellings(problems: list[Problem]) -> list[Problem]:
    """Drop 'missing field X' where a sibling unknown key already says 'did you mean X'."""
    suggested = {(p.path.rsplit(".", 1)[0] if "." in p.path else "", p.hint) for p in problems if p.hint}
    keep = []
    for p in problems:
        name = p.message.split("'")[1] if p.message.startswith("missing required field '") else None
        if name is not None and (p.path, f"did you mean '{name}'?") in suggested:
            continue
        keep.append(p)
    return keep


_SINGULAR = {"days": "day", "themes": "theme", "resources": "resource", "events": "event",
             "announcements": "announcement", "follow_ups": "follow-up", "extra": "extra slot"}
_LEAD_KEY = {"ExtraSlot": "at", "Notice": "date", "Event": "id"}


def _fields_expected(path: Path, given: Any) -> str:
    """What to write where a group of fields was expected but a single value was given."""
    model = _model_at(path)
    if model is None:
        return "expected fields written 'name: value', each on its own line"
    name = model.__name__
    key = _LEAD_KEY.get(name, "title" if "title" in model.model_fields else next(iter(model.model_fields)))
    if name == "Day" and str(given).strip().lower() in WEEKDAYS:
        key = "weekday"
    shown = "…" if given is None else str(given)
    if path and isinstance(path[-1], int) and len(path) > 1:
        what = _SINGULAR.get(str(path[-2]), "item")
        return (f"write each {what} as \"- {key}: {shown}\" with its other fields below it, indented in line "
                f"with '{key}'")
    field_name = path[-1] if path else "file"
    return f"write {field_name}'s fields on the lines below it, indented, e.g. \"{key}: {shown}\""


def _translate(exc: ValidationError, source: Source) -> list[Problem]:
    """pydantic's errors as problems a comms officer can act on, one per place."""
    problems = [_problem_of(err, exc, source) for err in exc.errors(include_url=False)]
    problems = _pair_misspellings(problems)
    seen: set[tuple[int, int, str]] = set()  # pydantic reports each union branch; keep one per place
    unique = []
    for p in problems:
        place = (p.line, p.column, p.path)
        if place not in seen:
            seen.add(place)
            unique.append(p)
    return unique


def _problem_of(err: Any, exc: ValidationError, source: Source) -> Problem:
    """One pydantic error, said for the person who must fix it."""
    kind = err["type"]
    path = _data_path(err["loc"], source.data)
    given = err.get("input")
    if kind == "extra_forbidden":
        return _unknown_field(err, exc, source, path)
    if kind == "missing":
        return _missing_field(err, source, path)
    if kind in ("value_error", "assertion_error"):
        message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return source.problem(path, message)
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        hint = _did_you_mean(str(given), options)
        return source.problem(path, f"expected one of {expected}; got {given!r}", hint=hint)
    if kind == "string_pattern_mismatch":
        return source.problem(path, f"expected a colour written #RRGGBB (e.g. #005EB8); got {given!r}")
    if kind in ("too_short", "too_long"):
        ctx = err.get("ctx", {})
        if kind == "too_short":
            return source.problem(path, f"needs at least {ctx.get('min_length', 1)} item(s)")
        return source.problem(path, f"has too many items: at most {ctx.get('max_length')}")
    if kind in ("greater_than_equal", "less_than_equal"):
        return source.problem(path, f"{given!r} is out of range: {err['msg'].lower()}")
    if kind in ("model_type", "model_attributes_type") and not isinstance(given, dict | list):
        return source.problem(path, _fields_expected(path, given))
    if kind in _KIND_NAMES:
        return source.problem(path, f"expected {_KIND_NAMES[kind]}, got a {kind_of(given)}")
    return source.problem(path, str(err["msg"]))


def _unknown_field(err: Any, exc: ValidationError, source: Source, path: Path) -> Problem:
    key = str(path[-1]) if path else str(err["loc"][-1])
    model = _model_at(path[:-1])
    options = sorted(model.model_fields) if model else []
    hint = _did_you_mean(key, options)
    if not hint:  # a single unknown key next to a single missing one is almost surely meant as it
        missing = _missing_at(exc, path[:-1], source)
        unknown = [
            e
            for e in exc.errors(include_url=False)
            if e["type"] == "extra_forbidden" and _data_path(e["loc"], source.data)[:-1] == path[:-1]
        ]
        if len(missing) == 1 and len(unknown) == 1:
            hint = f"did you mean '{missing[0]}'?"
    allowed = ", ".join(options)
    return source.problem(path, f"unknown field '{key}'; expected one of: {allowed}", key=True, hint=hint)


def _missing_field(err: Any, source: Source, path: Path) -> Problem:
    field_name = str(err["loc"][-1])
    parent = path[:-1] if path and path[-1] == field_name else path
    model = _model_at(parent)
    info = model.model_fields.get(field_name) if model else None
    if field_name == "alt":
        message = "image has no alt text; add 'alt:' describing what the image shows"
    else:
        what = f" ({info.description})" if info and info.description else ""
        message = f"missing required field '{field_name}'{what}"
    return source.problem(parent, message, key=True)
