"""flows/ is split by role, and the publish task's import closure excludes approval and scheduling.

The closure is walked on the import graph (function-level imports included), so a re-plan or an alert that
one day reaches planning from a publishing step shows up here, not only as an import-linter error."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import grimp

from tests.helpers import ROOT

PACKAGES = ("flows", "connectors", "ledger", "practiceweek")
PUBLISH_TASK = "flows.publishing.publish_one"  # the ``publish`` task and its steps
WINDOW_RUN = "flows.publishing.publish"  # the ``publish-window`` flow that submits it
ROLES = {"serving", "planning", "publishing", "plan", "operators", "runtime"}


def closure(graph: grimp.ImportGraph, module: str) -> set[str]:
    """Every module ``module`` imports, directly or through others."""
    return set(graph.find_upstream_modules(module))


def planning_in(modules: set[str]) -> list[str]:
    """The modules of approval or scheduling among ``modules``."""
    above = ("flows.planning", "flows.serving")
    named = ("approval", "schedule")
    return sorted(m for m in modules if m.startswith(above) or m.rsplit(".", 1)[-1] in named)


def test_the_publish_task_imports_nothing_of_approval_or_scheduling() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    for module in (PUBLISH_TASK, WINDOW_RUN):
        reached = closure(graph, module)
        assert planning_in(reached) == [], module
        # what it does need is reached: re-planning an edited file, and the runtime
        assert {"flows.plan.apply", "flows.runtime.process"} <= reached, module


def test_the_closure_walk_finds_planning_behind_a_function_level_import(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "house"
    for pkg in ("", "publishing", "plan", "planning"):
        (root / pkg).mkdir(exist_ok=True)
        (root / pkg / "__init__.py").write_text("")
    (root / "publishing" / "task.py").write_text("from ..plan import apply\n")
    (root / "plan" / "apply.py").write_text("def replan():\n    from ..planning import approval\n")
    (root / "planning" / "approval.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    reached = closure(grimp.build_graph("house", cache_dir=None), "house.publishing.task")
    assert planning_in(reached) == ["house.planning.approval"]


def test_every_flows_module_belongs_to_a_role_the_layers_contract_names() -> None:
    loose = sorted(p.name for p in (ROOT / "flows").glob("*.py") if p.name != "__init__.py")
    packages = {p.parent.name for p in (ROOT / "flows").glob("*/__init__.py")}
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layered = next(
        c for c in config["tool"]["importlinter"]["contracts"] if c.get("containers") == ["flows"]
    )
    named = {role.strip() for layer in layered["layers"] for role in layer.split("|")}
    assert loose == []
    assert packages == ROLES == named


def test_code_that_finds_the_repository_from_its_own_file_finds_it() -> None:
    """The served flows run from the folder holding flows/ (their entrypoints are relative to it), and the
    render-ahead pool imports from it: both are found from their module's own path, one level deeper now."""
    from flows.planning.prerender import CODE_ROOT
    from flows.runtime.embedded import ROOT as SERVED_FROM

    assert SERVED_FROM == ROOT.resolve() and CODE_ROOT == str(ROOT.resolve())


def test_the_publish_tasks_steps_end_one_way() -> None:
    """A step returns what the next step needs and ends the task by raising ``Ended`` with the outcome:
    none is annotated as returning ``X | Outcome`` for its caller to test with ``isinstance``."""
    mixed = []
    for path in (ROOT / "flows" / "publishing" / name for name in ("publish_one.py", "content.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.returns is not None:
                returns = ast.unparse(node.returns).replace(" ", "").split("|")
                if "Outcome" in returns and len(returns) > 1:
                    mixed.append(f"{path.name}:{node.name} -> {ast.unparse(node.returns)}")
    assert mixed == []
