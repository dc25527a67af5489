"""The accounts a campaign publishes through: one saved Prefect credentials block per provider kind.

A deployment can carry several partnerships, each with accounts of its own. A campaign names its blocks
(``campaign.accounts: {x: iowscp-x, mastodon: iowscp-mastodon}``), never a secret: a value that looks
like a token, a password or a web address is refused before anything else is said about it, and the
message never repeats it. A campaign without ``accounts`` publishes through the deployment's default
account (``PRACTICEWEEK_*`` variables or ``PRACTICEWEEK_<KIND>_BLOCK``), as before.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from .fields import Strict, _schema

# the credentials kind each connector publishes through (connectors.registry.SPECS agrees; a test checks)
KIND_OF = {
    "smtp_mail": "smtp",
    "graph_mail": "graph",
    "graph_events": "graph",
    "graph_files": "graph",
    "teams_channel": "teams",
    "x": "x",
    "bluesky": "bluesky",
    "mastodon": "mastodon",
}
_BLOCK_NAME = re.compile(r"^[a-z0-9-]{1,100}$")  # Prefect's rule for block document names
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_+/=.]{20,}")
_NEVER = (
    "a campaign file is shared and kept with the week: save the credentials in a Prefect block (one per "
    "partnership and provider) and write the block's name here, e.g. iowscp-mastodon"
)


def _secret_kind(text: str) -> str | None:
    """What sort of secret ``text`` looks like, or None if it could be a block name or a typo of one."""
    lowered = text.lower()
    if "://" in text or lowered.startswith(("http:", "https:", "www.")):
        authority = text.split("://", 1)[-1].split("/", 1)[0]
        return "a web address with a user name or password in it" if "@" in authority else (
            "a web address (webhook and API addresses can carry their secret)")
    if lowered.startswith(("bearer ", "basic ", "token ")) or re.search(r"\S:\S", text):
        return "credentials"
    for run in _TOKEN_RUN.findall(text):
        digits = sum(ch.isdigit() for ch in run)
        mixed = re.search(r"[A-Z+/=_]", run) or digits >= len(run) / 4  # not a long lower-case word
        if digits and re.search(r"[A-Za-z]", run) and mixed:
            return "a token"
    classes = [r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9\s_-]"]
    if len(text) >= 8 and sum(bool(re.search(c, text)) for c in classes) >= 3:
        return "a password"
    return None


def _not_credentials(value: Any) -> Any:
    if isinstance(value, dict):
        raise ValueError(f"write the name of a Prefect block here, never the credentials: {_NEVER}")
    return value


def _block_name(value: str) -> str:
    secret = _secret_kind(value)
    if secret is not None:  # never echo it: the message ends up in logs and pre-commit output
        raise ValueError(f"this looks like {secret}, not the name of a Prefect block; {_NEVER}")
    if not _BLOCK_NAME.match(value):
        meant = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        hint = f"; did you mean '{meant}'?" if meant else ""
        raise ValueError(
            f"a Prefect block name has lower-case letters, digits and dashes only, got {value!r}{hint}"
        )
    return value


BlockName = Annotated[
    str,
    BeforeValidator(_not_credentials),
    AfterValidator(_block_name),
    _schema(pattern=r"^\s*[a-z0-9-]{1,100}\s*$"),
]


def _account(kind: str, block: str, connectors: str) -> Any:
    return Field(
        None,
        description=f"Name of the saved `{block}` Prefect block that {connectors} publish(es) through "
        f"for this campaign. Unset: the deployment's default (PRACTICEWEEK_{kind.upper()}_* variables or "
        f"PRACTICEWEEK_{kind.upper()}_BLOCK).",
        examples=[f"iowscp-{kind}"],
    )


class Accounts(Strict):
    """The provider accounts this campaign publishes through: the name of a saved Prefect credentials
    block per provider kind, never a secret. Each partnership on a shared deployment has its own."""

    graph: BlockName | None = _account("graph", "GraphCredentials", "graph_mail, graph_events, graph_files")
    smtp: BlockName | None = _account("smtp", "SmtpCredentials", "smtp_mail")
    teams: BlockName | None = _account("teams", "TeamsWebhook", "teams_channel")
    x: BlockName | None = _account("x", "XCredentials", "x")
    bluesky: BlockName | None = _account("bluesky", "BlueskyCredentials", "bluesky")
    mastodon: BlockName | None = _account("mastodon", "MastodonCredentials", "mastodon")


def account_for(accounts: Accounts, connector: str) -> str:
    """The block ``connector`` publishes through for this campaign; '' for the deployment's default."""
    kind = KIND_OF.get(connector)
    return (getattr(accounts, kind) or "") if kind else ""


def route_label(connector: str, account: str) -> str:
    """``connector@account`` as operators read and type it (just ``connector`` for the default account)."""
    return f"{connector}@{account}" if account else connector


def parse_route(text: str) -> tuple[str, str]:
    """``NAME[@ACCOUNT]`` → (connector, account)."""
    name, _, account = text.strip().partition("@")
    return name, account
