"""tests/server_zygote.py starts each test's server as ``prefect server start`` does, without its command
line: the settings it applies and the uvicorn options it serves with must stay Prefect's own. Read from
Prefect's source, so an upgrade that changes how ``prefect server start`` serves fails here, by name."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import prefect.cli._server_utils as server_utils
import prefect.cli.server as server_cli
import prefect.context

from tests.server_zygote import server_settings

ZYGOTE = Path(__file__).resolve().parents[1] / "server_zygote.py"
NOT_FOR_A_GIVEN_SOCKET = {"host", "port", "app_dir"}  # binding, and the import path of an app given by name


def _calls(tree: ast.AST, func: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == func]


def test_the_settings_applied_while_serving_are_those_of_prefect_server_start() -> None:
    tree = ast.parse(inspect.getsource(server_cli))
    assigned = next(
        n.value for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "server_settings"
    )
    assert isinstance(assigned, ast.Dict)
    prefects = {ast.literal_eval(key) for key in assigned.keys if key is not None}
    server = prefect.context.get_settings_context().settings.server
    ours = {setting.name for setting in server_settings(server)}
    assert ours == prefects


def test_uvicorn_serves_with_the_options_of_prefect_server_start() -> None:
    foreground = ast.parse(inspect.getsource(server_utils._run_in_foreground))
    prefects = {kw.arg for kw in _calls(foreground, "uvicorn.run")[0].keywords} - NOT_FOR_A_GIVEN_SOCKET
    ours = {kw.arg for kw in _calls(ast.parse(ZYGOTE.read_text()), "uvicorn.Config")[0].keywords}
    assert ours == prefects
