"""Stable identifiers made from content: digests that find a publication again at the provider."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any


def digest(text: str, length: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def chunks(items: Iterable[Any], size: int) -> list[list[Any]]:
    items = list(items)
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]
