"""Read YAML into plain data while remembering where every key and value sits.

Scalars follow the YAML 1.2 core schema, not PyYAML's 1.1 defaults, so
``13:30`` stays a time (not 810), ``no`` stays a word (not False) and dates
stay text until the model checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import Problem

Path = tuple[str | int, ...]

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
MAX_NODES = 200_000  # aliases can make a small file expand enormously ("billion laughs")
MAX_DEPTH = 100


class _TooBig(Exception):
    """The document expands to more values, or nests deeper, than any campaign needs."""


@dataclass
class Source:
    """A parsed YAML document plus the 1-based position of every path in it."""

    file: str
    data: Any
    value_at: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_at: dict[Path, tuple[int, int]] = field(default_factory=dict)
    text: str = ""  # the file as read, for a place inside a long value (checks_text)

    def position(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Best position for ``path``: the exact node, else its nearest parent."""
        table = self.key_at if key else self.value_at
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if not key and probe in self.key_at:
                return self.key_at[probe]
            probe = probe[:-1]
        return self.value_at.get((), (1, 1))

    def problem(
        self, path: Path, message: str, *, key: bool = False, severity: str = "error", hint: str = ""
    ) -> Problem:
        line, column = self.position(path, key=key)
        return Problem(self.file, line, column, format_path(path), message, severity, hint)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _scalar(node: yaml.ScalarNode) -> Any:
    value = node.value
    if node.style or node.tag == "tag:yaml.org,2002:str":  # quoted or explicitly tagged text
        return value
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.match(value):
        return int(value) if len(value) < 100 else value  # huge numbers stay text
    if _FLOAT.match(value) and any(ch.isdigit() for ch in value):
        return float(value)
    return value


_KEY_LINE = re.compile(r"\n[ \t]*(?:- )?[A-Za-z_][\w-]*:(?:[ \t]|$)", re.M)


def _unclosed_quote(text: str, exc: yaml.MarkedYAMLError) -> tuple[int, int] | None:
    """Line and column (1-based) where a quote opens that is never closed (or is closed only lines later,
    after swallowing 'key:' lines): the place to fix, not where the parser gave up."""
    if (exc.context or "").startswith("while scanning a quoted scalar") and exc.context_mark is not None:
        return _mark_of(exc.context_mark)
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'"):
                raw = text[token.start_mark.index:token.end_mark.index]
                if _KEY_LINE.search(raw):
                    return _mark_of(token.start_mark)
    except yaml.YAMLError:
        pass
    return None


def _mark_of(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


_PLAIN = {  # PyYAML's words → what to do about it
    "expected <block end>, but found '}'": "a '}' with no '{' before it on this line",
    "expected <block end>, but found ']'": "a ']' with no '[' before it on this line",
    "expected <block end>, but found '?'": "a 'key: value' line among '- ' list items at the same "
    "indentation; indent the list under its key, or write every line alike",
    "expected <block end>, but found '-'": "a '- ' list item among 'key: value' lines at the same "
    "indentation; indent the list under its key",
    "expected <block end>": "this line is not indented in line with the lines above it",
    "expected ',' or '}'": "a '{ … }' group of fields is not closed properly here; separate fields with "
    "', ', end with '}', and put quotes around text that contains ',' or ': '",
    "expected ',' or ']'": "a '[ … ]' list is not closed properly here; separate items with ', ', end with "
    "']', and put quotes around text that contains ',' or ': '",
    "found character '\\t'": "a tab character; indent with spaces only",
    "mapping values are not allowed here": "a ': ' where a value was expected; put quotes around text "
    "that contains ': '",
    "could not find expected ':'": "a key without its ':' (write key: value)",
    "found undefined alias": "an alias (*name) with no anchor (&name) before it",
    "found unexpected end of stream": "the file ends in the middle of a value",
    "found unexpected ':'": "a ':' where it cannot be; put quotes around text that contains ':'",
    "found character that cannot start any token": "a character that cannot start a value here "
    "(` or @); put quotes around the text",
    "did not find expected key": "a line that is neither 'key: value' nor in line with the keys above it",
    "did not find expected '-' indicator": "a line that is not a '- ' item, in a list of them",
    "did not find expected node content": "a value is missing here",
    "found a tab character": "a tab character; indent with spaces only",
}
_PARSER_WORDS = [  # anything else PyYAML says, in plain words
    (re.compile(r"flow mapping"), "'{ … }' group"),
    (re.compile(r"flow sequence"), "'[ … ]' list"),
    (re.compile(r"block (mapping|collection)"), "group of indented lines"),
    (re.compile(r"block sequence"), "list of '- ' items"),
    (re.compile(r"<block end>"), "the end of the indented lines"),
    (re.compile(r"<block mapping start>"), "a new group of lines"),
    (re.compile(r"<scalar>|scalar"), "a value"),
    (re.compile(r"mapping"), "group of 'key: value' lines"),
    (re.compile(r"sequence"), "list"),
    (re.compile(r"end of stream|<stream end>"), "the end of the file"),
    (re.compile(r"simple key"), "key"),
    (re.compile(r"<document start>|document start"), "a '---' line"),
]


def plain_words(message: str) -> str:
    """``message`` with the YAML parser's vocabulary replaced by words a comms officer uses."""
    for pattern, words in _PARSER_WORDS:
        message = pattern.sub(words, message)
    return message


def _syntax(text: str, file: str, exc: yaml.MarkedYAMLError) -> Problem:
    """One syntax problem, at the place to fix it, in plain words."""
    mark = exc.problem_mark or exc.context_mark
    line, column = _mark_of(mark) if mark else (1, 1)
    what = exc.problem or "not valid YAML"
    opened = _unclosed_quote(text, exc)
    if opened is not None and opened <= (line, column):
        return Problem(file, *opened, "", "YAML syntax: a quoted value starts on this line and is never "
                       f"closed (the file cannot be read from line {line} on)", hint="add the closing quote")
    plain = next((words for start, words in _PLAIN.items() if what.startswith(start)), None)
    message = f"YAML syntax: {plain or plain_words(what)}"
    return Problem(file, line, column, "", message, hint="check indentation, colons and quotes on this line")


def parse(text: str, file: str) -> tuple[Source | None, list[Problem]]:
    """Parse one YAML document. Returns the source, or None and the problems."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax(text, file, exc)]
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error we know is marked
        return None, [Problem(file, 1, 1, "", f"YAML syntax: {plain_words(str(exc))}")]
    except RecursionError:
        return None, [
            Problem(file, 1, 1, "", f"YAML nests deeper than {MAX_DEPTH} levels; a campaign never needs that")
        ]
    source = Source(file=file, data=None, text=text)
    problems: list[Problem] = []
    if root is None:
        source.data = None
        return source, problems
    try:
        source.data = _walk(root, (), source, problems, [0])
    except _TooBig as exc:
        return None, [Problem(file, 1, 1, "", str(exc))]
    return source, problems


def _walk(node: yaml.Node, path: Path, source: Source, problems: list[Problem], count: list[int]) -> Any:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise _TooBig(
            f"the YAML expands to more than {MAX_NODES} values (anchors and aliases?); "
            "a campaign never needs that"
        )
    if len(path) > MAX_DEPTH:
        raise _TooBig(f"YAML nests deeper than {MAX_DEPTH} levels; a campaign never needs that")
    source.value_at[path] = _mark(node)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), source, problems, count) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, column = _mark(key_node)
                problems.append(
                    Problem(
                        source.file,
                        line,
                        column,
                        format_path(path),
                        "keys must be plain words, not lists or groups of fields",
                    )
                )
                continue
            key = key_node.value
            if key == "<<":
                problems.append(
                    Problem(
                        source.file,
                        *_mark(key_node),
                        format_path(path),
                        "YAML merge keys (<<) are not supported; write the fields out",
                    )
                )
                continue
            child = (*path, key)
            if key in out:
                first = source.key_at[child]
                problems.append(
                    Problem(
                        source.file,
                        *_mark(key_node),
                        format_path(child),
                        f"duplicate key '{key}' (first given on line {first[0]})",
                        hint="remove one of them",
                    )
                )
                continue
            source.key_at[child] = _mark(key_node)
            out[key] = _walk(value_node, child, source, problems, count)
        return out
    return None  # pragma: no cover
