"""Small functions: none in production code is longer than 60 lines (CONTRIBUTING.md), from its ``def`` to
its last line."""

from __future__ import annotations

import ast

from tests.helpers import ROOT

PRODUCTION = ("practiceweek", "ledger", "connectors", "flows", "cli", "deploy")
LIMIT = 60


def test_no_production_function_is_longer_than_60_lines() -> None:
    long = []
    for folder in PRODUCTION:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > LIMIT:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} ({lines} lines)")
    assert not long, f"split these (at most {LIMIT} lines each):\n" + "\n".join(long)
