"""Campaigns shared by the render tests (unit) and the preview tests (e2e); no tests of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.helpers import ROOT

SEEDS = sorted((ROOT / "campaigns").glob("*.yaml"))
EVENTS_SEED = ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml"

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
INJECT = "{{ ''.__class__ }}"
INJECT2 = "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}"


def hostile() -> dict[str, Any]:
    """A valid campaign whose every text field tries HTML, script or template injection."""
    return {
        "campaign": {
            "id": "hostile-week",
            "title": f"Week {SCRIPT} {IMG} {INJECT}",
            "summary": f"Summary </textarea><svg onload=\"window.__pwned=4\"> & {INJECT2}",
            "organiser": {"name": f"Org <b>{INJECT}</b>", "short_name": "ORG<i>",
                          "email": "org@example.gov.uk", "website": "https://example.gov.uk"},
            "timezone": "Europe/London",
            "week": {"start": "2024-06-24", "end": "2024-06-28"},
            "branding": {"primary_colour": "#FFDD00", "accent_colour": "#005EB8"},
            "audiences": {"practitioners": {"description": f"People {SCRIPT}",
                                            "recipients": ["list@example.gov.uk"]}},
            "allowed_email_domains": ["example.gov.uk"],
            "hashtags": ["Safe<script>", "PracticeWeek"],
        },
        "channels": {"poster": {"at": "08:00"}, "web_page": {"at": "08:00"},
                     "email": {"at": "08:30", "audience": "practitioners"},
                     "teams_event": {"at": "10:00", "create_days_before": 2, "reminder_minutes_before": 30},
                     "teams_channel": {"at": "09:00"}, "x": {"at": "12:00"}, "bluesky": {"at": "12:00"},
                     "mastodon": {"at": "12:00"}},
        "days": [
            {"weekday": "monday", "title": f"Monday {SCRIPT} {INJECT}",
             "summary": f"Intro {IMG}",
             "themes": [{"title": f"Theme {IMG}", "summary": f"About {INJECT2}",
                         "key_messages": [f"Message {SCRIPT}", "Plain message with \"quotes\" & ampersands"],
                         "one_thing": f"One thing {IMG}",
                         "resources": [{"title": f"Toolkit {SCRIPT}", "kind": "toolkit",
                                        "url": "https://example.gov.uk/t?q=%22%3E%3Cscript%3E",
                                        "description": f"Desc {INJECT}"}]}]},
            {"weekday": "tuesday", "title": "Tuesday plain", "themes": [{"title": "Information exchange",
                                                                        "key_messages": ["Share early."]}]},
            {"weekday": "wednesday", "title": f"Wednesday {IMG}",
             "themes": [{"title": "Professional curiosity", "one_thing": "Ask one more question."}]},
            {"weekday": "thursday", "title": "Thursday", "themes": [{"title": "Supervision"}]},
            {"weekday": "friday", "title": "Friday", "themes": [{"title": "Myth-busting"}]},
        ],
        "events": [{"id": "webinar", "title": f"Webinar {SCRIPT} {INJECT}", "day": "wednesday",
                    "start": "13:30", "end": "15:00", "description": f"Talk {IMG}",
                    "organiser": "org@example.gov.uk", "audience": "practitioners"}],
    }


def write(folder: Path, data: dict[str, Any], name: str = "campaign.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
