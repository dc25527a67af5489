"""The sandboxed Jinja2 environment every artifact is rendered with.

Templates come from the repository's ``templates/`` folder; a campaign may override any of them
with its own folder (``campaign.branding.templates``, relative to the campaign file). HTML and XML
templates are autoescaped, every template is strict about undefined names, and campaign text is
only ever passed as data, never compiled, so template syntax inside it stays inert text.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import links
from ..errors import CampaignError, Problem
from ..loader import Loaded

if TYPE_CHECKING:  # jinja2 itself is imported on first render
    from jinja2.sandbox import SandboxedEnvironment

BUILTIN = Path(__file__).resolve().parents[2] / "templates"


def override_dir(loaded: Loaded) -> Path | None:
    folder = loaded.model.campaign.branding.templates
    return (loaded.path.parent / folder).resolve() if folder else None


@functools.lru_cache(maxsize=16)
def environment(override: Path | None) -> SandboxedEnvironment:
    """One cached environment per override folder (compiled templates are reused)."""
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, select_autoescape
    from jinja2.sandbox import SandboxedEnvironment

    from . import colours

    loaders = [FileSystemLoader(str(override))] if override else []
    loaders.append(FileSystemLoader(str(BUILTIN)))
    env = SandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined,
                               autoescape=select_autoescape(("html", "htm", "xml", "svg", "mjml"),
                                                            default=False),
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["ink"] = colours.ink
    env.filters["text_on"] = colours.text_on
    env.filters["oneline"] = lambda s: " ".join(str(s).split())
    env.filters["end_sentence"] = end_sentence
    env.filters["clean"] = links.clean
    env.globals["channel_name"] = CHANNEL_NAMES.get
    return env


def end_sentence(text: object, mark: str = ".") -> str:
    """``text`` ending as a sentence does: ``mark`` added unless it already ends with . ! ? or …"""
    out = " ".join(str(text).split())
    return out if not out or out[-1] in ".!?…" else out.rstrip(":;,") + mark


CHANNEL_NAMES = {"poster": "Poster", "email": "Email", "teams_event": "Teams event",
                 "teams_channel": "Teams channel card", "web_page": "Web page", "x": "X",
                 "bluesky": "Bluesky", "mastodon": "Mastodon"}


def render_template(loaded: Loaded, name: str, **context: Any) -> str:
    """Render ``name`` for ``loaded``; any template failure becomes a CampaignError naming file and line."""
    from jinja2 import TemplateError, TemplateSyntaxError

    override = override_dir(loaded)
    env = environment(override)
    try:
        return env.get_template(name).render(**context)
    except TemplateSyntaxError as exc:
        raise template_error(loaded, name, exc, exc.filename, exc.lineno, exc.message or str(exc)) from None
    except TemplateError as exc:
        filename, line = _template_frame(exc)
        raise template_error(loaded, name, exc, filename, line, exc.message or str(exc)) from None


def template_error(loaded: Loaded, name: str, exc: Exception, filename: str | None, line: int | None,
                   message: str) -> CampaignError:
    file = filename or str(BUILTIN / name)
    what = {"UndefinedError": "undefined name", "SecurityError": "unsafe operation",
            "TemplateSyntaxError": "syntax error"}.get(type(exc).__name__, type(exc).__name__)
    return CampaignError([Problem(file, line or 1, 1, "campaign.branding.templates",
                                  f"template {name}: {what}: {message}",
                                  hint=f"used for campaign {loaded.path}")])


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost traceback frame that belongs to a template file (Jinja rewrites them so)."""
    found: tuple[str | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".mjml", ".txt", ".json", ".css", ".xml", ".j2", ".svg", ".md")):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found
