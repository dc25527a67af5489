"""Campaign rows, the campaign file versions plans were made from, approval, and forgetting a campaign."""

from __future__ import annotations

import hashlib
import time

from .database import Database, columns_sql
from .records import CAMPAIGN_COLUMNS, CampaignRow


class CampaignsMixin(Database):
    def campaign(self, cid: str) -> CampaignRow | None:
        rows = self._read(f"SELECT {columns_sql(CAMPAIGN_COLUMNS)} FROM campaigns WHERE id=?", (cid,))
        return CampaignRow(*rows[0]) if rows else None

    def set_campaign(
        self,
        cid: str,
        path: str,
        *,
        approval: str = "none",
        origin_real: float | None = None,
        origin_at: float | None = None,
        speed: float | None = None,
        window_floor_s: float | None = None,
        keep_timing: bool = True,
    ) -> CampaignRow:
        """Register a campaign; an existing rehearsal mapping is kept unless ``keep_timing`` is False."""
        now = time.time()
        existing = self.campaign(cid)
        if existing is None:
            self._write(
                "INSERT INTO campaigns (id, path, revision, origin_real, origin_at, speed, window_floor_s, "
                "approval, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (cid, path, origin_real, origin_at, speed, window_floor_s, approval, now),
            )
        elif keep_timing and speed is None:
            self._write(
                "UPDATE campaigns SET path=?, approval=?, updated_at=? WHERE id=?", (path, approval, now, cid)
            )
        else:
            self._write(
                "UPDATE campaigns SET path=?, approval=?, origin_real=?, origin_at=?, speed=?, "
                "window_floor_s=?, updated_at=? WHERE id=?",
                (path, approval, origin_real, origin_at, speed, window_floor_s, now, cid),
            )
        row = self.campaign(cid)
        assert row is not None
        return row

    def save_source(self, cid: str, path: str, text: str) -> None:
        """Keep the version of the campaign file a plan was made from."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        self._write(
            "INSERT INTO campaign_sources (campaign, digest, path, text, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (cid, digest, path, text, time.time()),
        )

    def sources(self, cid: str) -> list[tuple[str, str]]:
        """(path, text) of every version of the campaign the ledger scheduled from, newest first."""
        found = self._read(
            "SELECT path, text FROM campaign_sources WHERE campaign=? ORDER BY created_at DESC", (cid,)
        )
        return [(str(p), str(t)) for p, t in found]

    def approve(self, cid: str, approver: str) -> None:
        self._write(
            "UPDATE campaigns SET approver=?, approved_at=?, updated_at=? WHERE id=?",
            (approver, time.time(), time.time(), cid),
        )

    def forget(self, cid: str) -> None:
        """Drop a campaign's rows (a finished rehearsal being started again)."""
        self._write("DELETE FROM publications WHERE campaign=?", (cid,))
        self._write("DELETE FROM campaigns WHERE id=?", (cid,))
        self._write("DELETE FROM campaign_sources WHERE campaign=?", (cid,))
