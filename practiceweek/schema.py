"""The JSON Schema of campaign files, as editors (yaml-language-server) use it."""

from __future__ import annotations

from typing import Any

from .model import CampaignFile

SCHEMA_ID = "https://practiceweek.example/schema/campaign.schema.json"


def campaign_schema() -> dict[str, Any]:
    schema = CampaignFile.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    return schema
