"""The week's web page: files written atomically into a folder a web server serves.

``item.files`` maps relative paths (``index.html``, ``assets/poster-mon.png``) to bytes. Every file
is replaced atomically; a per-publication receipt under ``.practiceweek/receipts/`` makes ``find``
exact and a repeat publish a no-op.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from practiceweek.artifacts import Rendered
from practiceweek.planner import Publication
from practiceweek.settings import settings

from ._files import atomic_write, read_receipt, safe_part, safe_relpath, write_receipt
from .base import Connector, PermanentError, Receipt


def _site(pub: Publication) -> Path:
    """The page's folder: the campaign's, and a joint week's partner's own inside it."""
    return Path(*map(safe_part, pub.folders))

class WebPageConnector(Connector):
    """Publishes ``item.files`` into ``folder`` (the web root); ``base_url`` is where it is served."""

    name: ClassVar[str] = "web_page"
    channels: ClassVar[tuple[str, ...]] = ("web_page", "poster")

    def __init__(self, folder: str | os.PathLike[str] | None = None, base_url: str | None = None) -> None:
        env = settings()
        self.root = Path(folder or env.web_root or "site")
        self.base_url = base_url or env.web_base_url or self.root.resolve().as_uri()

    def url_for(self, pub: Publication) -> str | None:
        """Where the page's ``index.html`` is served (every rendered week page has one)."""
        if pub.channel != "web_page":
            return None
        return f"{self.base_url.rstrip('/')}/{(_site(pub) / 'index.html').as_posix()}"

    def _receipts(self, item: Rendered) -> Path:
        return self.root / ".practiceweek" / "receipts" / safe_part(item.id.replace("/", "_"))

    def publish(self, item: Rendered) -> Receipt:
        existing = self.find(item)
        if existing is not None:
            return existing
        if not item.files:
            raise PermanentError(f"{item.id}: the rendered page has no files to publish", provider="web_page")
        # each campaign has its own folder, so partnerships sharing a web root never overwrite each other
        site = _site(item.publication)
        paths = {rel: site / safe_relpath(rel) for rel in item.files}
        for rel, data in sorted(item.files.items(), key=lambda kv: kv[0].endswith(".html")):  # pages last
            atomic_write(self.root / paths[rel], data)
        main = next((r for r in item.files if r.endswith("index.html")), next(iter(sorted(item.files))))
        receipt = Receipt(
            publication_id=item.id,
            remote_id=str(paths[main]),
            url=f"{self.base_url.rstrip('/')}/{paths[main].as_posix()}",
            extra={"files": sorted(p.as_posix() for p in paths.values())},
        )
        write_receipt(self._receipts(item), receipt)
        return receipt

    def find(self, item: Rendered) -> Receipt | None:
        return read_receipt(self._receipts(item), item.id)
