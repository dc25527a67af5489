"""A real SMTP server (aiosmtpd) with STARTTLS (self-signed certificate), AUTH LOGIN/PLAIN, a
per-transaction recipient limit (452) and fault injection. Effects: ``messages`` (one per accepted
DATA, with its envelope recipients).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1/localhost, made with ``cryptography``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.server.faults and self.server.faults[0] == "reset":  # dropped before DATA: nothing accepted
            self.server.faults.pop(0)
            server.transport.abort()
            return "421 4.4.2 Connection dropped"
        if len(envelope.rcpt_tos) >= self.server.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fault = self.server.faults.pop(0) if self.server.faults else None
        if fault == "throttle":
            return "451 4.7.1 Rate limited, try again later"
        if fault == "unavailable":
            return "421 4.3.2 Service not available, closing transmission channel"
        if fault == "server_error":
            return "451 4.3.0 Requested action aborted: local error in processing"
        if fault == "permanent":
            return "554 5.7.1 Message rejected as spam"
        msg = message_from_bytes(envelope.content, policy=default)
        self.server.messages.append(
            {
                "rcpt": list(envelope.rcpt_tos),
                "message_id": msg["Message-ID"],
                "subject": msg["Subject"],
                "raw": envelope.content,
                "tls": session.ssl is not None,
                "auth": session.authenticated,
            }
        )
        if fault == "timeout":  # accepted, then the connection is lost before the reply
            server.transport.abort()
        return "250 2.0.0 OK queued"


class SmtpServer:
    def __init__(
        self,
        folder: Path,
        username: str = "relay-user",
        password: str = "relay-pass-5678",
        max_recipients: int = 100,
    ) -> None:
        self.username, self.password = username, password
        self.max_recipients = max_recipients
        self.messages: list[dict[str, Any]] = []
        self.faults: list[str] = []
        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_require_tls=True,
            authenticator=self._auth,
            server_hostname="localhost",
            ready_timeout=10,
        )

    def _auth(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def inject(self, kind: str) -> None:
        self.faults.append(kind)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
