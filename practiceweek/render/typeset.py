"""Typst documents (posters, social cards) from the ``templates/*.typ`` files.

Campaign text goes in as JSON data (``sys.inputs.data``), never as Typst markup, so markup inside it
stays inert text. Images travel as in-memory files beside the template; Typst reads nothing else
from disk outside the templates folder, and nothing from the network.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from pathlib import Path
from typing import Any

from ..loader import Loaded
from .env import BUILTIN, override_dir, template_error


@functools.lru_cache(maxsize=4)
def _compiler(root: Path) -> tuple[Any, threading.Lock]:
    """One compiler per templates folder (fonts are scanned once per process), with the lock its users
    take: a compiler is not shareable between threads (typst raises "Already borrowed"), and the publish
    tasks of a window run are threads."""
    import typst

    return typst.Compiler(root=str(root)), threading.Lock()


def _template(loaded: Loaded, name: str) -> Path:
    folder = override_dir(loaded)
    if folder is not None and (folder / name).is_file():
        return folder / name
    return BUILTIN / name


def typeset(loaded: Loaded, name: str, data: dict[str, Any], files: dict[str, bytes], *, fmt: str = "pdf",
            ppi: float | None = None, when: dt.datetime | None = None) -> list[bytes]:
    """Compile template ``name`` with ``data`` into pages: one PDF (tagged PDF/UA-1), or one PNG per page."""
    import typst

    path = _template(loaded, name)
    inputs: dict[str, bytes] = {"main.typ": path.read_bytes(), **files}
    stamp = when.astimezone(dt.UTC) if when is not None else None
    compiler, lock = _compiler(path.parent)
    try:
        with lock:
            out = compiler.compile(
                input=inputs, format=fmt, ppi=ppi, sys_inputs={"data": json.dumps(data)},
                pdf_standards=["ua-1"] if fmt == "pdf" else [], timestamp=stamp)
    except typst.TypstError as exc:
        line = _line(exc.diagnostic)
        raise template_error(loaded, name, exc, str(path), line, exc.message) from None
    return out if isinstance(out, list) else [out]


def _line(diagnostic: str) -> int | None:
    """The line number in Typst's diagnostic ("┌─ templates/poster.typ:12:5"), if any."""
    for part in diagnostic.split():
        pieces = part.rsplit(":", 2)
        if len(pieces) == 3 and pieces[0].endswith(".typ") and pieces[1].isdigit():
            return int(pieces[1])
    return None
