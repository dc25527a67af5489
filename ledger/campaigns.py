"""Campaign rows, the campaign file versions plans were made from, approvers' decisions, and forgetting a
campaign."""

from __future__ import annotations

import hashlib
import time

from .alerts import AlertsMixin
from .database import columns_sql, insert_sql
from .records import CAMPAIGN_COLUMNS, DECISION_COLUMNS, CampaignRow, Decision
from .states import Verdict


class CampaignsMixin(AlertsMixin):  # a rejection records the comms team's alert in its transaction
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
        timezone: str | None = None,
    ) -> CampaignRow:
        """Register a campaign; an existing rehearsal mapping is kept unless ``keep_timing`` is False.
        ``timezone`` (the week's, kept unless given) names times in run names and tables."""
        now = time.time()
        existing = self.campaign(cid)
        if existing is None:
            self._write(
                "INSERT INTO campaigns (id, path, revision, origin_real, origin_at, speed, window_floor_s, "
                "approval, updated_at, timezone) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (cid, path, origin_real, origin_at, speed, window_floor_s, approval, now, timezone),
            )
        elif keep_timing and speed is None:
            self._write(
                "UPDATE campaigns SET path=?, approval=?, updated_at=?, timezone=COALESCE(?, timezone) "
                "WHERE id=?",
                (path, approval, now, timezone, cid),
            )
        else:
            self._write(
                "UPDATE campaigns SET path=?, approval=?, origin_real=?, origin_at=?, speed=?, "
                "window_floor_s=?, updated_at=?, timezone=COALESCE(?, timezone) WHERE id=?",
                (path, approval, origin_real, origin_at, speed, window_floor_s, now, timezone, cid),
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

    def approve(self, cid: str, approver: str, at: float | None = None) -> None:
        """Mark the campaign approved (what lets its plan be applied)."""
        at = time.time() if at is None else at
        self._write(
            "UPDATE campaigns SET approver=?, approved_at=?, updated_at=? WHERE id=?",
            (approver, at, time.time(), cid),
        )

    def decide(self, decision: Decision, alert_subject: str = "", alert_text: str = "") -> None:
        """Record an approver's decision. Approved: the campaign is marked approved (a partner's decision:
        that partner only, read back by ``partner_decisions``). Rejected: its approval is withdrawn and, in
        the same transaction, the comms team's alert is recorded."""
        with self._tx() as cur:
            cur.execute(self._q(insert_sql("decisions", DECISION_COLUMNS)), tuple(getattr(decision, c)
                                                                           for c in DECISION_COLUMNS))
            approved = decision.verdict == Verdict.APPROVED
            if not decision.partner:
                cur.execute(
                    self._q("UPDATE campaigns SET approver=?, approved_at=?, updated_at=? WHERE id=?"),
                    (decision.approver if approved else None, decision.decided_at if approved else None,
                     time.time(), decision.campaign),
                )
            if not approved:
                who = f"{decision.campaign}/{decision.partner}" if decision.partner else decision.campaign
                key = f"rejected:{who}:{decision.decided_at:.6f}"
                self._add_alert(cur, key, Verdict.REJECTED, alert_subject, alert_text, decision.decided_at)

    def decisions(self, cid: str) -> list[Decision]:
        """Every decision on the campaign, newest first."""
        found = self._read(
            f"SELECT {columns_sql(DECISION_COLUMNS)} FROM decisions WHERE campaign=? "
            "ORDER BY decided_at DESC",
            (cid,),
        )
        return [Decision(r[0], Verdict(r[1]), *r[2:]) for r in found]

    def partner_decisions(self, cid: str) -> dict[str, Decision]:
        """Approval per partner: each partner's latest decision (a partner with none is not in it)."""
        latest: dict[str, Decision] = {}
        for decision in self.decisions(cid):  # newest first
            if decision.partner:
                latest.setdefault(decision.partner, decision)
        return latest

    def approved_partners(self, cid: str) -> set[str]:
        """Approval per partner: the partners whose approver approved their publications last."""
        return {p for p, d in self.partner_decisions(cid).items() if d.verdict == Verdict.APPROVED}

    def forget(self, cid: str) -> None:
        """Drop a campaign's rows (a finished rehearsal being started again); its decisions stay."""
        self._write("DELETE FROM publications WHERE campaign=?", (cid,))
        self._write("DELETE FROM campaigns WHERE id=?", (cid,))
        self._write("DELETE FROM campaign_sources WHERE campaign=?", (cid,))
