"""The default connector: every publication becomes files under ``outbox/<campaign>/<day>/``.

Files are written atomically (temp file + ``os.replace``); ``receipt.json`` is written last, so
``find`` (receipt exists) is true only for a complete publication, and publishing again is a no-op.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

from practiceweek.artifacts import Rendered
from practiceweek.planner import Publication
from practiceweek.settings import settings

from ._files import atomic_write, read_receipt, safe_part, safe_relpath, write_receipt
from .base import Connector, Receipt


def _folder_of(root: Path, pub: Publication) -> Path:
    return (
        root.joinpath(*map(safe_part, pub.folders))  # a joint week's partner: a folder of its own
        / safe_part(pub.day)
        / f"{safe_part(pub.channel)}-{safe_part(pub.slot)}"
    )


class OutboxConnector(Connector):
    """Writes .eml, .ics, attachments, post/card JSON and page files to a folder."""

    name: ClassVar[str] = "outbox"
    channels: ClassVar[tuple[str, ...]] = (
        "email",
        "teams_event",
        "teams_channel",
        "poster",
        "web_page",
        "x",
        "bluesky",
        "mastodon",
    )

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(folder or settings().outbox or "outbox")

    def folder(self, item: Rendered) -> Path:
        return _folder_of(self.root, item.publication)

    def url_for(self, pub: Publication) -> str | None:
        return _folder_of(self.root, pub).resolve().as_uri()  # what ``publish``'s receipt says

    def files_for(self, item: Rendered) -> dict[str, bytes]:
        """Every file this item becomes, by name relative to its folder."""
        out: dict[str, bytes] = {}
        if item.eml is not None:
            out["message.eml"] = item.eml
        if item.ics is not None:
            out["invite.ics"] = item.ics
        for att in item.attachments:
            out[f"attachments/{safe_part(att.filename)}"] = att.data
        for i, post in enumerate(item.posts, 1):
            body: dict[str, Any] = {"index": i, "text": post.text}
            if post.image is not None:
                name = f"post-{i}-{safe_part(post.image.filename)}"
                out[name] = post.image.data
                body["image"] = {"file": name, "content_type": post.image.content_type, "alt": post.image.alt}
            out[f"post-{i}.json"] = json.dumps(body, indent=2, ensure_ascii=False).encode()
        if item.card is not None:
            out["card.json"] = json.dumps(item.card, indent=2, ensure_ascii=False).encode()
        if item.event is not None:
            out["event.json"] = json.dumps(item.event, indent=2, ensure_ascii=False, default=str).encode()
        for rel, data in item.files.items():
            out[str(Path("files") / safe_relpath(rel))] = data
        if not out:
            summary = {"subject": item.subject, "text": item.text, "recipients": list(item.recipients)}
            out["message.json"] = json.dumps(summary, indent=2, ensure_ascii=False).encode()
        return out

    def publish(self, item: Rendered) -> Receipt:
        existing = self.find(item)
        if existing is not None:
            return existing
        folder = self.folder(item)
        files = self.files_for(item)
        for rel, data in files.items():  # rehearsals and tests: safe from a crash, not from a power cut
            atomic_write(folder / rel, data, durable=False)
        receipt = Receipt(
            publication_id=item.id,
            remote_id=str(folder),
            url=folder.resolve().as_uri(),
            extra={"files": sorted(files)},
        )
        write_receipt(folder, receipt, durable=False)
        return receipt

    def find(self, item: Rendered) -> Receipt | None:
        return read_receipt(self.folder(item), item.id)
