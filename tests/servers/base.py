"""A threaded stdlib HTTP server with routes, fault injection and counted remote effects.

Faults (``server.inject(kind, path=regex, method=..., times=1)``):

* ``"429"``     - 429 with the provider's rate-limit headers (``retry_after`` seconds), effect not applied
* ``"500"``, ``"503"`` - that status, effect not applied (``"400"``/``"401"``/``"403"``/``"404"`` too)
* ``"timeout"`` - the effect IS applied, then no answer till the client gives up; then it hangs up
* ``"reset"``   - the request is read, then the TCP connection is reset (RST); effect not applied
* ``"applied_503"`` - the effect IS applied, then 503 (what makes SDK-level POST retries dangerous)
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str  # decoded path without query
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    match: re.Match[str] | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes | dict[str, Any] | list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, (dict, list)):
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
            return json.dumps(self.body).encode(), headers
        return self.body or b"", headers


@dataclass
class Fault:
    kind: str
    path: re.Pattern[str]
    method: str | None
    times: int


Handler = Callable[[Request], Response]

# The connectors' timeout in tests. It was 1.0 s, and an X post to its server in the same process once got
# no answer within it while the suite loaded both cores (a ReadTimeout before any fault was injected).
CLIENT_TIMEOUT_S = 3.0


class FakeServer:
    """Base of every provider server: register routes with :meth:`route`, start with :meth:`start`."""

    hang_seconds = CLIENT_TIMEOUT_S + 2.0  # "timeout" fault: at most; longer than the clients' test timeout

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self.fault_log: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ set-up
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + r"\Z"), handler))

    def inject(self, kind: str, path: str = ".*", method: str | None = None, times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(kind, re.compile(path), method, times))

    def rate_limit_headers(self, delay: float) -> dict[str, str]:
        return {"Retry-After": str(max(1, round(delay)))}

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    def start(self) -> FakeServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stalls

            def _any(self) -> None:
                server._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop serving (a second call does nothing)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # ------------------------------------------------------------------ dispatch
    def _take_fault(self, req: Request) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.path.search(req.path) and fault.method in (None, req.method):
                    fault.times -= 1
                    self.fault_log.append(f"{fault.kind} {req.method} {req.path}")
                    return fault.kind
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(h)
        req = Request(
            method=h.command,
            path=unquote(split.path),
            raw_path=h.path,
            query={k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        with self.lock:
            self.requests.append(req)
        fault = self._take_fault(req)
        if fault == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            return
        if fault == "429":
            self._send(
                h, Response(429, self.error_body(429, "Too Many Requests"), self.rate_limit_headers(1))
            )
            return
        if fault in ("400", "401", "403", "404"):
            self._send(h, Response(int(fault), self.error_body(int(fault), "Refused")))
            return
        if fault in ("500", "503"):
            self._send(h, Response(int(fault), self.error_body(int(fault), "Service unavailable")))
            return
        response = self.dispatch(req)
        if fault == "timeout":
            self._hang(h)
            h.close_connection = True
            return
        if fault == "applied_503":
            response = Response(503, self.error_body(503, "Service unavailable"), {"Retry-After": "1"})
        self._send(h, response)

    def _hang(self, h: BaseHTTPRequestHandler) -> None:
        """Answer nothing until the client gives up and closes the connection (its timeout), or for
        ``hang_seconds`` at most."""
        h.connection.settimeout(self.hang_seconds)
        with contextlib.suppress(OSError):  # the wait's end, or the connection's
            while h.connection.recv(4096):  # a client that gave up only closes; anything else is ignored
                pass

    def dispatch(self, req: Request) -> Response:
        for method, pattern, handler in self.routes:
            m = pattern.match(req.path)
            if m and method == req.method:
                req.match = m
                with self.lock:
                    return handler(req)
        return Response(404, self.error_body(404, f"no route {req.method} {req.path}"))

    def _send(self, h: BaseHTTPRequestHandler, response: Response) -> None:
        data, headers = response.encode()
        try:
            h.send_response(response.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h._headers_buffer.append(b"\r\n" + data)  # headers and body in one write
            h.flush_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass


def _read_chunked(h: BaseHTTPRequestHandler) -> bytes:
    out = b""
    while True:
        size = int(h.rfile.readline().strip() or b"0", 16)
        if size == 0:
            h.rfile.readline()
            return out
        out += h.rfile.read(size)
        h.rfile.readline()


def check_bearer(req: Request, token: str | None) -> Response | None:
    """401 unless the request carries ``Authorization: Bearer <token>`` (when a token is expected)."""
    if token is None:
        return None
    if req.headers.get("authorization") != f"Bearer {token}":
        return Response(
            401,
            {"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty or invalid."}},
        )
    return None
