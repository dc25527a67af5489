"""Posters and other files into a OneDrive/SharePoint drive through Microsoft Graph.

Files up to 4 MB: ``PUT /drives/{drive}/root:/{path}:/content``; larger: ``createUploadSession`` and
ranged PUTs. The receipt's URL is an organisation-scoped view link (``createLink``) to the first file
(the PDF when there is one). ``find``: every file exists at its path with the same size.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from msgraph.generated.drives.item.items.item.create_link.create_link_post_request_body import (
    CreateLinkPostRequestBody,
)
from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (  # noqa: E501
    CreateUploadSessionPostRequestBody,
)
from msgraph.generated.models.drive_item_uploadable_properties import DriveItemUploadableProperties

from practiceweek.artifacts import Rendered

from ._files import safe_part, safe_relpath
from ._graph import GraphSession
from .base import Connector, PermanentError, Receipt
from .pacing import shared_bucket
from .settings import GraphSettings

SIMPLE_LIMIT = 4 * 1024 * 1024
HINTS = {
    403: "the app registration lacks Files.ReadWrite.All (or Sites.Selected with write access granted "
    "to this site)",
    404: "the drive does not exist; check PRACTICEWEEK_GRAPH_DRIVE_ID",
}


class GraphFilesConnector(Connector):
    """Uploads ``item.files`` (or its attachments) under ``<folder>/<campaign>/<day>/<slot>/``."""

    name: ClassVar[str] = "graph_files"
    channels: ClassVar[tuple[str, ...]] = ("poster", "web_page")
    requests_per_interval: int | None = None  # SharePoint throttles by resource units; obey 429s
    max_attachment_bytes: ClassVar[int | None] = 250 * 1024 * 1024 * 1024

    def __init__(
        self, settings: GraphSettings | None = None, *, timeout: float = 30.0, sdk_retries: int = 0
    ) -> None:
        self.settings = settings or GraphSettings.from_env()
        if not self.settings.drive_id:
            raise PermanentError(
                "Graph files need a drive: set PRACTICEWEEK_GRAPH_DRIVE_ID", provider="Graph"
            )
        self.graph = GraphSession(self.settings, timeout=timeout, sdk_retries=sdk_retries, hints=HINTS)

    def _files(self, item: Rendered) -> dict[str, bytes]:
        files = dict(item.files) or {a.filename: a.data for a in item.attachments}
        if not files:
            raise PermanentError(f"{item.id}: nothing to upload", provider="Graph")
        pub = item.publication
        parts = (
            self.settings.folder.strip("/"),
            *map(safe_part, pub.folders),  # a joint week's partner: a folder of its own
            safe_part(pub.day),
            safe_part(pub.slot),
        )
        base = "/".join(parts)
        return {f"{base}/{safe_relpath(rel).as_posix()}": data for rel, data in files.items()}

    def _item_url(self, path: str, suffix: str = "") -> str:
        drive = quote(str(self.settings.drive_id), safe="")
        return f"{self.graph.base_url}/drives/{drive}/root:/{quote(path)}{suffix}"

    def _builder(self) -> Any:
        return self.graph.client.drives.by_drive_id(str(self.settings.drive_id)).items.by_drive_item_id(
            "root"
        )

    def _main(self, files: dict[str, bytes]) -> str:
        return next((p for p in files if p.endswith(".pdf")), next(iter(files)))

    def _link(self, item_id: str) -> str | None:
        builder = self.graph.client.drives.by_drive_id(str(self.settings.drive_id)).items.by_drive_item_id(
            item_id
        )
        perm = self.graph.call(
            builder.create_link.post(CreateLinkPostRequestBody(type="view", scope="organization")),
            "create a sharing link",
        )
        return perm.link.web_url if perm and perm.link else None

    def publish(self, item: Rendered) -> Receipt:
        files = self._files(item)
        ids: dict[str, str] = {}
        s = self.settings  # paced only when a limit is set (PRACTICEWEEK_RATE_LIMIT_GRAPH_FILES): per app
        app = (self.graph.base_url, s.tenant_id or "", s.client_id or "")
        bucket = shared_bucket(("graph_files", *app), self.requests_per_interval, self.interval_seconds)
        for path, data in files.items():
            if bucket is not None:  # one upload
                bucket.acquire()
            if len(data) <= SIMPLE_LIMIT:
                builder = self._builder().content.with_url(self._item_url(path, ":/content"))
                uploaded = self.graph.call(builder.put(data), f"upload {path}")
                ids[path] = uploaded.id if uploaded and uploaded.id else ""
            else:
                builder = self._builder().create_upload_session.with_url(
                    self._item_url(path, ":/createUploadSession")
                )
                body = CreateUploadSessionPostRequestBody(
                    item=DriveItemUploadableProperties(
                        additional_data={"@microsoft.graph.conflictBehavior": "replace"}
                    )
                )
                session = self.graph.call(builder.post(body), f"open an upload session for {path}")
                assert session is not None and session.upload_url
                response = self.graph.put_chunks(session.upload_url, data, f"upload {path}")
                ids[path] = (response.json() or {}).get("id", "") if response.content else ""
        main = self._main(files)
        return Receipt(
            publication_id=item.id,
            remote_id=ids[main],
            url=self._link(ids[main]) if ids[main] else None,
            extra={"paths": sorted(files)},
        )

    def find(self, item: Rendered) -> Receipt | None:
        files = self._files(item)
        found: dict[str, str] = {}
        for path, data in files.items():
            try:
                remote = self.graph.call(
                    self._builder().with_url(self._item_url(path)).get(), f"look up {path}", write=False
                )
            except PermanentError as exc:
                if exc.status == 404:
                    return None
                raise
            if remote is None or remote.size != len(data):
                return None
            found[path] = remote.id or ""
        main = self._main(files)
        return Receipt(
            publication_id=item.id,
            remote_id=found[main],
            url=self._link(found[main]),
            extra={"paths": sorted(files)},
        )

    def close(self) -> None:
        self.graph.close()
