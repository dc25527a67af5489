"""Microsoft Graph plumbing shared by graph_mail, graph_events and graph_files.

The SDK (msgraph-sdk) is async; a private event loop on a daemon thread runs its coroutines so the
connectors stay plain, thread-safe sync objects. Failures become the contract's errors: 429/503/504
→ RetryableError with Retry-After; 4xx → PermanentError with what a person should fix; no answer to
a write → OutcomeUnknownError.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    AnonymousAuthenticationProvider,
    AuthenticationProvider,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory
from pydantic import SecretStr

from .base import ConnectorError, CredentialsError
from .failures import classify_status, not_reached, unknown
from .redaction import redact
from .settings import GRAPH_URL, GraphSettings, reveal

T = TypeVar("T")
SCOPES = ["https://graph.microsoft.com/.default"]
# Our single-value extended property (a named string property in our own GUID namespace).
PROPERTY_ID = "String {8b4a6c1e-2f5d-4e07-9c3a-6d1b0e7f5a42} Name x-practiceweek-id"


class _StaticToken(AccessTokenProvider):
    """A bearer token given once (held as ``SecretStr`` until a request needs it)."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return reveal(self._token)

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


def _auth_provider(s: GraphSettings) -> AuthenticationProvider:
    if s.access_token:
        return BaseBearerTokenAuthenticationProvider(_StaticToken(s.access_token))
    if s.tenant_id and s.client_id and s.client_secret:
        from azure.identity.aio import ClientSecretCredential
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )

        credential = ClientSecretCredential(s.tenant_id, s.client_id, reveal(s.client_secret))
        return AzureIdentityAuthenticationProvider(credential, scopes=SCOPES)
    if urlsplit(s.base_url).hostname in ("127.0.0.1", "localhost", "::1"):
        return AnonymousAuthenticationProvider()
    raise CredentialsError(
        "Graph credentials missing: set PRACTICEWEEK_GRAPH_TENANT_ID, PRACTICEWEEK_GRAPH_CLIENT_ID "
        "and PRACTICEWEEK_GRAPH_CLIENT_SECRET (or a GraphCredentials block)",
        provider="Graph",
    )


def odata_quote(value: str) -> str:
    return value.replace("'", "''")


def property_filter(publication_id: str) -> str:
    return (
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROPERTY_ID}' and "
        f"ep/value eq '{odata_quote(publication_id)}')"
    )


class GraphSession:
    """A GraphServiceClient on a private loop, with the contract's error classification."""

    def __init__(
        self,
        settings: GraphSettings | None = None,
        *,
        timeout: float = 30.0,
        sdk_retries: int = 0,
        hints: Mapping[int, str] | None = None,
    ) -> None:
        self.settings = settings or GraphSettings.from_env()
        self.base_url = self.settings.base_url.rstrip("/") or GRAPH_URL
        self.timeout = timeout
        self.hints = dict(hints or {})
        self.hints.setdefault(
            401,
            "the access token was refused; check PRACTICEWEEK_GRAPH_TENANT_ID, "
            "PRACTICEWEEK_GRAPH_CLIENT_ID and PRACTICEWEEK_GRAPH_CLIENT_SECRET",
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="graph-loop", daemon=True)
        self._thread.start()
        try:
            self.client: GraphServiceClient = self.run_raw(self._build(sdk_retries))
            self._plain: httpx.AsyncClient = self.run_raw(self._make_plain())
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
            raise

    async def _build(self, sdk_retries: int) -> GraphServiceClient:
        options = {
            RetryHandlerOption.get_key(): RetryHandlerOption(
                max_retries=sdk_retries, should_retry=sdk_retries > 0
            )
        }
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout), options=options
        )
        adapter = GraphRequestAdapter(_auth_provider(self.settings), client=http)
        adapter.base_url = self.base_url
        return GraphServiceClient(request_adapter=adapter)

    async def _make_plain(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.timeout)  # for pre-authenticated upload URLs: no token

    def run_raw(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def call(self, coro: Coroutine[Any, Any, T], what: str, *, write: bool = True) -> T:
        """Run an SDK call; raise the contract's error on failure."""
        try:
            return self.run_raw(coro)
        except ConnectorError:
            raise
        except APIError as exc:
            raise self.classify(exc, what) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise not_reached("Graph", what, exc) from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            if write:
                raise unknown("Graph", what, exc) from None
            raise not_reached("Graph", what, exc) from None

    def classify(self, exc: APIError, what: str) -> ConnectorError:
        status = exc.response_status_code or 0
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or ""
        message = getattr(error, "message", None) or exc.message or ""
        headers = dict(exc.response_headers.items()) if exc.response_headers else {}
        return classify_status(
            "Graph", status, redact(f"{code}: {message}".strip(": ")), headers, self.hints, what
        )

    def put_chunks(
        self, upload_url: str, data: bytes, what: str, chunk: int = 320 * 1024 * 10
    ) -> httpx.Response:
        """Upload ``data`` to a pre-authenticated upload session URL in ranges (multiples of 320 KiB)."""

        async def go() -> httpx.Response:
            response: httpx.Response | None = None
            for start in range(0, len(data), chunk):
                part = data[start : start + chunk]
                headers = {
                    "Content-Range": f"bytes {start}-{start + len(part) - 1}/{len(data)}",
                    "Content-Length": str(len(part)),
                }
                response = await self._plain.put(upload_url, content=part, headers=headers)
                if response.status_code >= 400:
                    raise _HttpError(response)
            assert response is not None
            return response

        try:
            return self.run_raw(go())
        except _HttpError as exc:
            r = exc.response
            raise classify_status("Graph", r.status_code, r.text, r.headers, self.hints, what) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise not_reached("Graph", what, exc) from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise unknown("Graph", what, exc) from None

    def close(self) -> None:
        if self._loop.is_closed():
            return

        async def shutdown() -> None:
            await self._plain.aclose()
            http = getattr(self.client.request_adapter, "_http_client", None)
            if http is not None:
                await http.aclose()

        try:
            self.run_raw(shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()


class _HttpError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def to_model(body: Mapping[str, Any], factory: Any) -> Any:
    """A Graph JSON body (as renderers produce it) parsed into the SDK's model class."""
    import json

    from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory

    node = JsonParseNodeFactory().get_root_parse_node(
        "application/json", json.dumps(body, default=str).encode()
    )
    return node.get_object_value(factory)


def query(builder_cls: Any, **params: Any) -> Any:
    """A RequestConfiguration with query parameters for ``builder_cls``'s GET."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    qp_cls = next(v for k, v in vars(builder_cls).items() if k.endswith("GetQueryParameters"))
    return RequestConfiguration(query_parameters=qp_cls(**params))


def _odata_error() -> Any:
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    return ODataError


def send_json(session: GraphSession, info: Any, what: str, *, write: bool = True) -> dict[str, Any]:
    """Send a request built by an SDK request builder; return the JSON body as a dict.

    Skips the SDK's model deserialisation (for a Message that costs ~20 ms of imports per call);
    errors still come back as the SDK's ODataError and are classified as usual.
    """
    import json

    raw = session.call(
        session.client.request_adapter.send_primitive_async(info, "bytes", {"XXX": _odata_error()}),
        what,
        write=write,
    )
    return json.loads(raw) if raw else {}
