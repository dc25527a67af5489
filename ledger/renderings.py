"""Renderings kept where every worker can read them: a publication rendered ahead of its time, and the
expensive assets (posters, social cards) several publications share. Content-addressed: the key says
what was rendered from what, so a stored value never goes stale, and a re-plan only adds keys."""

from __future__ import annotations

import time

from .database import Database


class RenderingsMixin(Database):
    def put_rendering(self, key: str, data: bytes, campaign: str | None = None) -> None:
        """Store ``data`` under ``key`` (once: the same key always holds the same rendering)."""
        self._write(
            "INSERT INTO renderings (key, campaign, data, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (key, campaign, data, time.time()),
        )

    def rendering(self, key: str) -> bytes | None:
        found = self._read("SELECT data FROM renderings WHERE key=?", (key,))
        return bytes(found[0][0]) if found else None

    def has_renderings(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` are stored."""
        if not keys:
            return set()
        marks = ", ".join("?" * len(keys))
        found = self._read(f"SELECT key FROM renderings WHERE key IN ({marks})", tuple(keys))
        return {str(k) for (k,) in found}

    def forget_renderings(self, campaign: str) -> None:
        self._write("DELETE FROM renderings WHERE campaign=?", (campaign,))
