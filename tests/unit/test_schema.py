"""The committed JSON Schema matches the model, and documents every field."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from practiceweek.errors import CampaignError
from practiceweek.loader import load_text
from practiceweek.schema import campaign_schema
from practiceweek.yamlsource import parse
from tests.helpers import FIXTURES, ROOT

SCHEMA_FILE = ROOT / "schema" / "campaign.schema.json"


def _cli_output() -> str:
    # exactly what `practiceweek schema` prints
    return json.dumps(campaign_schema(), indent=2, ensure_ascii=False) + "\n"


def test_committed_schema_is_in_sync_with_the_model() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == _cli_output(), (
        "schema/campaign.schema.json is stale: run `make schema`"
    )


def _properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = [("(root)", name, prop) for name, prop in schema.get("properties", {}).items()]
    for model, definition in schema.get("$defs", {}).items():
        out += [(model, name, prop) for name, prop in definition.get("properties", {}).items()]
    return out


def test_every_property_has_a_description_and_an_example() -> None:
    props = _properties(campaign_schema())
    assert len(props) > 60
    lacking = [
        f"{model}.{name}"
        for model, name, prop in props
        if not prop.get("description") or not prop.get("examples")
    ]
    assert lacking == []


def test_every_definition_has_a_description() -> None:
    defs = campaign_schema()["$defs"]
    assert [name for name, d in defs.items() if not d.get("description")] == []


def test_schema_names_its_dialect_and_id() -> None:
    schema = campaign_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("campaign.schema.json")
    assert set(schema["required"]) == {"campaign", "channels", "days"}


# --- the schema and the validator accept the same values ---------------------------------------------

BASE_TEXT = (FIXTURES / "good_base.yaml").read_text()
SAME_VALUES = [  # (text in good_base.yaml, what replaces it)
    *[("weekday: tuesday", f"weekday: {d}") for d in ("thursday", "Thursday", "THURSDAY", "tHursday", "Thu")],
    *[("title: Tuesday", f"title: {text}") for text in ("2024", "'  '", "Tuesday's focus")],
    *[("start: 2024-06-24", f"start: {date}") for date in ("2024-6-24", "24/06/2024", "'2024-06-24'")],
    *[('poster: { at: "08:00" }', f'poster: {{ at: "{t}" }}') for t in ("9:30", "24:00", "08:60", "08.00")],
    *[("email: tscp@example.gov.uk", f"email: {e}") for e in ("tscp@example", "TSCP@Example.gov.uk")],
    *[("url: https://example.gov.uk/toolkit", f"url: {u}") for u in ("javascript:alert(1)", "HTTPS://x.org/a")],
    *[("id: test-week", f"id: {i}") for i in ("Test-Week", "t", "test-week-2")],
    *[("id: webinar", f"id: {i}") for i in ("web_inar", "webinar-2")],
]


@pytest.mark.parametrize(("old", "new"), SAME_VALUES, ids=[n for _, n in SAME_VALUES])
def test_schema_and_validator_agree(old: str, new: str) -> None:
    assert old in BASE_TEXT
    text = BASE_TEXT.replace(old, new, 1)
    source, problems = parse(text, "edited.yaml")
    assert source is not None and not problems
    by_schema = jsonschema.Draft202012Validator(campaign_schema()).is_valid(source.data)
    try:
        load_text(text, "edited.yaml")
        by_validator = True
    except CampaignError:
        by_validator = False
    assert by_schema == by_validator, f"{new}: schema says {by_schema}, validate says {by_validator}"
