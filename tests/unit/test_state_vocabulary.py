"""One vocabulary: the ledger's states (publications, window runs, readings, verdicts) are named through their
enums (``practiceweek/states.py``, which ``ledger.states`` re-exports) in every production package, the core
included, never as string literals compared, passed, looped over, used as keys or written into SQL."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from practiceweek.states import ReadingState, State, Verdict, WindowState
from tests.helpers import ROOT

PRODUCTION = ("practiceweek", "flows", "cli", "connectors", "ledger", "deploy")
ENUM_MODULE = Path("practiceweek/states.py")
VOCABULARY = {m.value for enum in (State, WindowState, ReadingState, Verdict) for m in enum}
NAMES = {"state", "states", "from_states"}  # parameters that take a state
SQL_STATE = re.compile("'({})'".format("|".join(sorted(VOCABULARY))))
SQL_WORDS = re.compile(r"\b(UPDATE|INSERT|SELECT|WHERE)\b")


def _literal(node: ast.AST | None) -> bool:
    """A state string, or a tuple/list/set holding one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value in VOCABULARY
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_literal(e) for e in node.elts)
    return False


def _all_literal(nodes: list[ast.expr | None] | list[ast.expr]) -> bool:
    """Every one of ``nodes`` a state string: a set or mapping of states, not names among which one
    happens to be a state's word (a table's columns "due" and "sent")."""
    return bool(nodes) and all(_literal(n) for n in nodes)


def _defaults(node: ast.arguments) -> list[tuple[ast.arg, ast.expr | None]]:
    positional = [*node.posonlyargs, *node.args]
    pairs: list[tuple[ast.arg, ast.expr | None]] = list(
        zip(positional[len(positional) - len(node.defaults):], node.defaults, strict=True)
    )
    return pairs + list(zip(node.kwonlyargs, node.kw_defaults, strict=True))


def _use(node: ast.AST) -> str | None:
    """How ``node`` uses a state string as a state, if it does."""
    if isinstance(node, ast.Compare) and any(_literal(n) for n in [node.left, *node.comparators]):
        return "compared"
    if isinstance(node, ast.keyword) and node.arg in NAMES and _literal(node.value):
        return "passed"
    if isinstance(node, ast.arguments) and any(a.arg in NAMES and _literal(d) for a, d in _defaults(node)):
        return "a default"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return "in SQL" if SQL_STATE.search(node.value) and SQL_WORDS.search(node.value) else None
    if isinstance(node, ast.Subscript) and _literal(node.slice):
        return "a key"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return "a key" if node.args and _literal(node.args[0]) else None
    if isinstance(node, ast.Dict) and len(node.keys) >= 2 and _all_literal(node.keys):
        return "keys"
    if isinstance(node, ast.comprehension | ast.For) and _literal(node.iter):
        return "looped over"
    return None


def _offenders(path: Path, base: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    found = []
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        use = _use(node)
        if use:
            found.append(f"{path.relative_to(base)}:{getattr(node, 'lineno', '?')}: a state string {use}")
    for node in ast.walk(tree):  # a set of states named at module level (prerender once had its own OPEN)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple | ast.List | ast.Set):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if names != ["__all__"] and _all_literal(node.value.elts):
                found.append(f"{path.relative_to(base)}:{node.lineno}: a set of state strings")
    return found


def test_no_state_strings_in_production_code() -> None:
    offenders = [
        line
        for folder in PRODUCTION
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.relative_to(ROOT) != ENUM_MODULE
        for line in _offenders(path)
    ]
    said = "name these through practiceweek.states (State, WindowState, …):\n"
    assert not offenders, said + "\n".join(offenders)


FOUND = [
    'if row.state == "sent": pass',
    'led.claim(pid, from_states=("unknown",))',
    'def beat(state: str = "running") -> None: ...',
    "q = \"UPDATE windows SET state='done' WHERE start=?\"",
    'n = counts.get("sent", 0)',
    'OPEN = ("pending", "unknown")',
    'counts = {s: 0 for s in ("sent", "failed")}',
    'ICONS = {"sent": "✅", "failed": "❌"}',
    'late = sum(x.state == "failed" for x in lines)',
    'waiting = sum(x.state in ("pending", "sending", "unknown") for x in lines)',
    'if "done" != run.state: pass',
]
LEFT = [  # a table's labels, or a word that is not used as a state: no false positive
    'counts = {"publications": 3, "sent": 2, "on time": 1}',  # labels of a summary, one of them a state's
    'COLUMNS = ("id", "due", "sent at", "state")',
    'if kind == "reposts": pass',
    'header = "sent at"',
]


@pytest.mark.parametrize(("source", "found"), [(s, True) for s in FOUND] + [(s, False) for s in LEFT])
def test_the_check_finds_state_strings_and_only_those(tmp_path: Path, source: str, found: bool) -> None:
    """Each way a state string was used before the enums named them is found (so the check can fail), and
    what merely shares a state's word is left alone."""
    module = tmp_path / "probe.py"
    module.write_text(source + "\n", encoding="utf-8")
    assert bool(_offenders(module, tmp_path)) == found, source


def test_the_check_covers_the_core_report() -> None:
    """The core's report is scanned too (it once compared ``line.state == "sent"``)."""
    scanned = {p.relative_to(ROOT) for folder in PRODUCTION for p in (ROOT / folder).rglob("*.py")}
    assert Path("practiceweek/report.py") in scanned
