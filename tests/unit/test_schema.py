"""The committed JSON Schema matches the model, and documents every field."""

from __future__ import annotations

import json
from typing import Any

from practiceweek.schema import campaign_schema
from tests.helpers import ROOT

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
