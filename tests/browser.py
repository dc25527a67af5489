"""Headless Chromium helpers shared by the browser tests: where Chromium and axe-core are, and an axe run
that keeps the serious and critical violations."""

from __future__ import annotations

from typing import Any

from tests.helpers import ROOT

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"


def axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.2 AA violations on ``page`` (a Playwright page)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
                                       nodes: v.nodes.map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]
