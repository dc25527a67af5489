"""Links tagged for the partnership's own web analytics (UTM parameters).

Every link to the organiser's own site (the host of ``campaign.organiser.website``, with or without
``www.``) carries ``utm_source`` (the channel), ``utm_medium``, ``utm_campaign`` (the campaign id) and
``utm_content`` (``<day>-<slot>``), so the partnership's analytics can tell which email, post, card or
poster brought a reader. Links to anyone else's site are never changed, and neither is the text people
read: templates show ``url|clean`` where a link's address is also its visible text.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .model import CampaignFile

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
MEDIUMS = {"poster": "print", "email": "email", "teams_event": "calendar", "teams_channel": "teams",
           "web_page": "referral", "x": "social", "bluesky": "social", "mastodon": "social"}


def host(url: str | None) -> str:
    """The host of ``url``, lower-case and without a leading ``www.`` ("" when there is none)."""
    if not url:
        return ""
    name = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    return name.removeprefix("www.")


def clean(url: str) -> str:
    """``url`` without the UTM parameters this module adds: the address as people should read it."""
    parts = urlsplit(url)
    kept = [pair for pair in parts.query.split("&") if pair and pair.split("=", 1)[0] not in UTM]
    return urlunsplit(parts._replace(query="&".join(kept)))


@dataclass(frozen=True)
class Tagger:
    """Tags links to one organiser's site for one channel and day/slot; a disabled tagger changes nothing."""

    site: str  # host() of the organiser's website; "" tags nothing
    source: str
    campaign: str
    content: str

    def __call__(self, url: str | None) -> str | None:
        if not url or not self.site or host(url) != self.site:
            return url
        parts = urlsplit(url)
        if any(k in UTM for k, _ in parse_qsl(parts.query)):  # tagged already (by us, or by hand)
            return url
        tags = urlencode([("utm_source", self.source), ("utm_medium", MEDIUMS.get(self.source, self.source)),
                          ("utm_campaign", self.campaign), ("utm_content", self.content)])
        return urlunsplit(parts._replace(path=parts.path or "/",
                                         query=f"{parts.query}&{tags}" if parts.query else tags))

    def organiser(self, url: str | None) -> bool:
        """True when ``url`` leads to the organiser's own site."""
        return bool(url) and bool(self.site) and host(url) == self.site


def tagger(cf: CampaignFile, channel: str, day: str, slot: str) -> Tagger:
    """The tagger for a publication's links (``day``/``slot`` as in its id)."""
    c = cf.campaign
    site = host(c.organiser.website) if c.analytics.tag_links else ""
    return Tagger(site=site, source=channel, campaign=c.id, content=f"{day}-{slot}")


NO_TAGS = Tagger(site="", source="", campaign="", content="")
