"""Atomic file writes shared by the outbox and web-page connectors."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from .base import PermanentError, Receipt

RECEIPT = "receipt.json"


def safe_part(text: str) -> str:
    """A path component made of safe characters only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip(".-")
    return cleaned or "_"


def safe_relpath(rel: str) -> Path:
    """A relative path from a rendered item, refusing absolute paths and ``..``."""
    parts = PurePosixPath(rel.replace("\\", "/")).parts
    if not parts or rel.startswith("/") or any(p in ("..", "") for p in parts):
        raise PermanentError(f"refusing unsafe file path {rel!r} in a rendered item", provider="files")
    return Path(*parts)


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a part; ``durable``:
    on disk before it replaces the old one (survives a power cut, not only a crashed process)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_receipt(folder: Path, receipt: Receipt, durable: bool = True) -> None:
    body = {
        "publication_id": receipt.publication_id,
        "remote_id": receipt.remote_id,
        "url": receipt.url,
        "at": receipt.at.isoformat(),
        "extra": receipt.extra,
    }
    atomic_write(folder / RECEIPT, json.dumps(body, indent=2, sort_keys=True).encode(), durable)


def read_receipt(folder: Path, publication_id: str) -> Receipt | None:
    import datetime as dt

    try:
        body: dict[str, Any] = json.loads((folder / RECEIPT).read_text())
    except (FileNotFoundError, ValueError):
        return None
    if body.get("publication_id") != publication_id:
        return None
    return Receipt(
        publication_id=publication_id,
        remote_id=body["remote_id"],
        url=body.get("url"),
        at=dt.datetime.fromisoformat(body["at"]),
        extra=body.get("extra") or {},
    )
