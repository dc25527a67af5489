"""Checks of the words recipients read as headings and link labels, as warnings (issue 25): a title with no
words once its formatting is taken away (an empty heading in the email, card and poster), a bracketed label
that repeats the words before it ("Neglect toolkit (toolkit)"), and the same heading or link twice where
recipients would see both: two themes or two resources of one day, two days of the week."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .daynames import day_label
from .errors import Problem
from .model import CampaignFile
from .yamlsource import Path, Source

# what renders as nothing: HTML tags and entities, markdown marks, invisible characters (zero-width spaces and
# joiners, the word joiner, the byte-order mark)
_MARKUP = re.compile(r"<[^>]*>|&(?:[a-z]+|#\d+|#x[0-9a-f]+);|[\u200b-\u200f\u2060\ufeff]", re.I)
_GROUP = re.compile(r"\(([^()]{1,40})\)")
_ADDRESS = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+", re.I)
_IN_WORDS = "write it in words, e.g. 'Information exchange'"


def says_nothing(text: str) -> bool:
    """Whether ``text`` shows no word once tags, entities, markdown marks and invisible characters are gone
    ("**", "<br>", "&nbsp;", "—", a zero-width space)."""
    return re.search(r"[^\W_]", _MARKUP.sub("", text)) is None


def repeated_labels(line: str) -> list[str]:
    """Bracketed labels that only repeat what the line already said: "Wednesday's poster (PDF) (Poster)"
    gives ["Poster"]; "Review (PDF, report)" gives nothing (addresses are not words said)."""
    plain = _ADDRESS.sub(" ", line)
    found = []
    for m in _GROUP.finditer(plain):
        words = re.findall(r"[a-z]+", m.group(1).lower())
        before = set(re.findall(r"[a-z]+", plain[: m.start()].lower()))
        if words and all(w in before for w in words):
            found.append(m.group(1))
    return found


def _same(text: str) -> str:
    """A title as a reader tells titles apart: case, punctuation and spacing aside."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _titles(cf: CampaignFile) -> Iterator[tuple[Path, str, str]]:
    """(path, title, what it becomes) for every title recipients read as a heading or a link."""
    yield ("campaign", "title"), cf.campaign.title, "heading"
    for i, day in enumerate(cf.days):
        yield ("days", i, "title"), day.title, "heading"
        for j, theme in enumerate(day.themes):
            yield ("days", i, "themes", j, "title"), theme.title, "heading"
            for k, res in enumerate(theme.resources):
                yield ("days", i, "themes", j, "resources", k, "title"), res.title, "link"
    for i, event in enumerate(cf.events):
        yield ("events", i, "title"), event.title, "heading"
    for field in ("announcements", "follow_ups"):
        for i, notice in enumerate(getattr(cf, field)):
            if notice.title is not None:
                yield (field, i, "title"), notice.title, "heading"


def check_headings(cf: CampaignFile, source: Source, out: list[Problem]) -> None:
    """Warn where a title would make an empty heading or link, or repeat a label recipients already read."""
    for path, title, shown in _titles(cf):
        if says_nothing(title):
            what = "an empty heading in the emails, cards and posters" if shown == "heading" else \
                "a link with no words to click"
            out.append(source.problem(path, f"{title!r} would show as {what}: it has no words once its "
                                      "formatting marks are taken away", severity="warning", hint=_IN_WORDS))
            continue
        for label in repeated_labels(title):
            without = " ".join(title.replace(f"({label})", " ").split())
            out.append(source.problem(path, f"'({label})' only repeats words the title already has, so "
                                      f"readers would see them twice", severity="warning",
                                      hint=f"write '{without}'"))
    _repeats(cf, source, out)


def _repeats(cf: CampaignFile, source: Source, out: list[Problem]) -> None:
    """The same heading or link twice: two days of the week, two themes or two resources of one day."""
    days: dict[str, str] = {}
    for i, day in enumerate(cf.days):
        _twice(source, ("days", i, "title"), day.title, days, day_label(source.data, i), out,
               "recipients would get two days' emails, cards and posters headed the same",
               "give each day a title of its own, e.g. its themes")
        themes: dict[str, str] = {}
        links: dict[str, str] = {}
        for j, theme in enumerate(day.themes):
            _twice(source, ("days", i, "themes", j, "title"), theme.title, themes, f"themes[{j}]", out,
                   "the day's email, card and poster would show the same heading twice",
                   "give each theme its own title, or make them one theme")
            for k, res in enumerate(theme.resources):
                _twice(source, ("days", i, "themes", j, "resources", k, "title"), res.title, links,
                       f"themes[{j}].resources[{k}]", out,
                       "readers would see two links of the same name and could not tell them apart",
                       "say in each title what is different, or list the resource once")


def _twice(source: Source, path: Path, title: str, seen: dict[str, str], here: str, out: list[Problem],
           effect: str, hint: str) -> None:
    """Note ``title`` as said at ``here``; a warning at ``path`` when an earlier item of ``seen`` said it."""
    key = _same(title)
    if key and key in seen:
        out.append(source.problem(path, f"{title!r} is also the title of {seen[key]}: {effect}",
                                  severity="warning", hint=hint))
    elif key:
        seen[key] = here
