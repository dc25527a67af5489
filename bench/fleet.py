"""Partnerships that differ as real ones do, for the benchmarks: ``write_fleet(folder, prefix, count)``.

England's safeguarding children partnerships follow its upper-tier councils. Partnership ``i`` takes the
``i``-th area's name (cycling, with a number, past the list), its own short name, mailbox, website,
distribution lists and allowed domains, its own colours (dark enough for white text, as the checks want)
and hashtags, and one of the seed weeks' shapes: the Hampshire week (8 channels) or the Isle of Wight week
(its Teams session with invitations and reminder, its email with the poster attached, threads on X,
Bluesky and Mastodon). Some partnerships have no Bluesky or no Mastodon account, as some do not. The same
``count`` always writes the same fleet.
"""

from __future__ import annotations

import colorsys
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHAPES = {
    "hampshire": ROOT / "campaigns" / "hscp-learning-from-reviews-2024.yaml",
    "isle-of-wight": ROOT / "campaigns" / "iowscp-domestic-abuse-2024.yaml",
}
AREAS = """Barking and Dagenham, Barnet, Barnsley, Bath and North East Somerset, Bedford, Bexley, Birmingham,
Blackburn with Darwen, Blackpool, Bolton, Bournemouth Christchurch and Poole, Bracknell Forest, Bradford,
Brent, Brighton and Hove, Bristol, Bromley, Buckinghamshire, Bury, Calderdale, Cambridgeshire, Camden,
Central Bedfordshire, Cheshire East, Cheshire West and Chester, City of London, Cornwall, Coventry, Croydon,
Cumberland, Darlington, Derby, Derbyshire, Devon, Doncaster, Dorset, Dudley, Durham, Ealing,
East Riding of Yorkshire, East Sussex, Enfield, Essex, Gateshead, Gloucestershire, Greenwich, Hackney, Halton,
Hammersmith and Fulham, Haringey, Harrow, Hartlepool, Havering, Herefordshire, Hertfordshire, Hillingdon,
Hounslow, Hull, Isles of Scilly, Islington, Kensington and Chelsea, Kent, Kingston upon Thames, Kirklees,
Knowsley, Lambeth, Lancashire, Leeds, Leicester, Leicestershire, Lewisham, Lincolnshire, Liverpool, Luton,
Manchester, Medway, Merton, Middlesbrough, Milton Keynes, Newcastle, Newham, Norfolk, North East Lincolnshire,
North Lincolnshire, North Northamptonshire, North Somerset, North Tyneside, North Yorkshire, Northumberland,
Nottingham, Nottinghamshire, Oldham, Oxfordshire, Peterborough, Plymouth, Portsmouth, Reading, Redbridge,
Redcar and Cleveland, Richmond upon Thames, Rochdale, Rotherham, Rutland, Salford, Sandwell, Sefton,
Sheffield, Shropshire, Slough, Solihull, Somerset, South Gloucestershire, South Tyneside, Southampton,
Southend-on-Sea, Southwark, St Helens, Staffordshire, Stockport, Stockton-on-Tees, Stoke-on-Trent, Suffolk,
Sunderland, Surrey, Sutton, Swindon, Tameside, Telford and Wrekin, Thurrock, Torbay, Tower Hamlets, Trafford,
Wakefield, Walsall, Waltham Forest, Wandsworth, Warrington, Warwickshire, West Berkshire,
West Northamptonshire, West Sussex, Westminster, Westmorland and Furness, Wigan, Wiltshire,
Windsor and Maidenhead, Wirral,
Wokingham, Wolverhampton, Worcestershire, York"""
AREA_NAMES = [name.strip() for name in AREAS.replace("\n", " ").split(",")]
SMALL_WORDS = {"and", "upon", "of", "on", "with"}
SEED_AREAS = {"hampshire": "Hampshire", "isle-of-wight": "Isle of Wight"}  # as the seeds' texts name them


def partnership(i: int) -> dict[str, str]:
    """Partnership ``i``'s name, short name, slug, domain, website and colours."""
    rounds, at = divmod(i, len(AREA_NAMES))
    area = AREA_NAMES[at] + (f" {rounds + 1}" if rounds else "")
    slug = re.sub(r"[^a-z0-9]+", "-", area.lower()).strip("-")
    words = [w for w in re.split(r"[\s-]+", area) if w.lower() not in SMALL_WORDS and w[0].isalpha()]
    short = "".join(w[0] for w in words).upper() + "SCP" if len(words) > 1 else f"{area} SCP"
    hue = (i * 0.618033988749895) % 1.0  # golden-ratio steps: neighbours get far-apart hues
    return {
        "area": area,
        "name": f"{area} Safeguarding Children Partnership",
        "short_name": short,
        "slug": slug,
        "domain": f"{slug}.gov.uk",
        "website": f"https://www.{slug}scp.org.uk",
        "primary": _hex(hue, 0.28, 0.55),
        "accent": _hex((hue + 0.5) % 1.0, 0.30, 0.70),
    }


def _hex(hue: float, lightness: float, saturation: float) -> str:
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return f"#{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}"


def campaign_for(i: int, prefix: str) -> dict[str, Any]:
    """Partnership ``i``'s week: a seed's shape under the partnership's own name, addresses and colours."""
    p = partnership(i)
    shape = list(SHAPES)[i % len(SHAPES)]
    seed = yaml.safe_load(SHAPES[shape].read_text())
    organiser = seed["campaign"]["organiser"]
    mailbox = f"safeguarding.partnership@{p['domain']}"
    doc = _renamed(seed, {organiser["website"].rstrip("/"): p["website"], organiser["name"]: p["name"],
                          organiser["short_name"]: p["short_name"], organiser["email"]: mailbox,
                          SEED_AREAS[shape]: p["area"]})
    camp = doc["campaign"]
    camp["id"] = f"{prefix}-{i:03d}"
    camp["organiser"] = {"name": p["name"], "short_name": p["short_name"], "email": mailbox,
                         "website": p["website"]}
    camp["branding"] = {"primary_colour": p["primary"], "accent_colour": p["accent"]}
    for audience in camp["audiences"].values():
        audience["description"] = ("Multi-agency practitioners working with children and families in "
                                   + p["area"])
        audience["recipients"] = [f"{p['slug']}-practitioners@{p['domain']}",
                                  f"safeguarding-leads@{p['domain']}"]
    camp["allowed_email_domains"] = [p["domain"], p["website"].removeprefix("https://www.")]
    camp["hashtags"] = [*camp.get("hashtags", [])[:1], re.sub(r"[^A-Za-z0-9]", "", p["area"]) + "SCP"]
    if i % 5 == 3:  # some partnerships have no Bluesky account, some no Mastodon account
        _without(doc, "bluesky")
    if i % 7 == 5:
        _without(doc, "mastodon")
    return doc


def _renamed(doc: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The document with each of the seed's names (website, partnership, area) replaced by the fleet's."""
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000)
    for old, new in sorted(names.items(), key=lambda item: -len(item[0])):  # longest first
        text = text.replace(old, new)
    return dict(yaml.safe_load(text))


def _without(doc: dict[str, Any], channel: str) -> None:
    """No ``channel`` anywhere in the week: not configured, not in any announcement or follow-up."""
    doc["channels"].pop(channel, None)
    for key in ("announcements", "follow_ups"):
        for item in doc.get(key) or []:
            if channel in item.get("channels", []):
                item["channels"].remove(channel)


def write_fleet(folder: Path, prefix: str, count: int) -> list[Path]:
    """``count`` distinct partnerships' weeks as YAML files in ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{prefix}-{i:03d}.yaml"
        week = campaign_for(i, prefix)
        path.write_text(yaml.safe_dump(week, sort_keys=False, allow_unicode=True, width=120))
        paths.append(path)
    return paths
