"""Email through an SMTP relay (smtplib): STARTTLS, login, recipients batched to the server's limit.

The Message-ID is derived from the publication id, so every copy of one publication carries the same
id and mail systems can de-duplicate. SMTP cannot be queried, so ``find`` returns None: after an
ambiguous failure the caller's ledger decides (``can_find`` is False).
"""

from __future__ import annotations

import email
import email.policy
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar

from practiceweek.artifacts import Rendered

from .base import Connector, OutcomeUnknownError, PermanentError, Receipt, RetryableError
from .ids import digest
from .pacing import paced, shared_bucket
from .redaction import redact
from .settings import SmtpSettings, reveal


def message_id(publication_id: str) -> str:
    return f"<{digest(publication_id)}@practiceweek>"


class SmtpMailConnector(Connector):
    """Sends ``item.eml`` (or a message built from subject/text/html) to ``item.recipients``."""

    name: ClassVar[str] = "smtp_mail"
    channels: ClassVar[tuple[str, ...]] = ("email",)
    can_find: bool = False
    max_recipients: ClassVar[int | None] = 100  # RFC 5321 minimum every server accepts per transaction
    max_attachment_bytes: ClassVar[int | None] = 20 * 1024 * 1024

    def __init__(
        self,
        settings: SmtpSettings | None = None,
        *,
        timeout: float = 30.0,
        max_recipients: int | None = None,
    ) -> None:
        self.settings = settings or SmtpSettings.from_env()
        self.timeout = timeout
        self.batch_size = max_recipients or type(self).max_recipients or 100
        self._done: dict[str, set[str]] = {}  # publication id → recipients already accepted (this process)
        self._refused: dict[str, dict[str, int]] = {}  # publication id → addresses refused for good

    # ------------------------------------------------------------------ message
    def build(self, item: Rendered) -> EmailMessage:
        if item.eml is not None:
            msg = email.message_from_bytes(item.eml, policy=email.policy.SMTP)
            assert isinstance(msg, EmailMessage)
        else:
            msg = EmailMessage(policy=email.policy.SMTP)
            msg["Subject"] = item.subject
            msg["From"] = (
                item.sender or self.settings.sender or self.settings.username or "practiceweek@localhost"
            )
            msg["To"] = item.recipients[0] if len(item.recipients) == 1 else msg["From"]
            msg["Date"] = formatdate(localtime=False)
            msg.set_content(item.text)
            if item.html:
                msg.add_alternative(item.html, subtype="html")
            for att in item.attachments:
                main, _, sub = att.content_type.partition("/")
                msg.add_attachment(
                    att.data, maintype=main, subtype=sub or "octet-stream", filename=att.filename
                )
            if item.ics is not None:
                msg.add_attachment(item.ics, maintype="text", subtype="calendar", filename="invite.ics")
        for header in ("Message-ID", "X-PracticeWeek-Id", "Bcc"):
            del msg[header]
        msg["Message-ID"] = message_id(item.id)
        msg["X-PracticeWeek-Id"] = item.id
        return msg

    def _recipients(self, item: Rendered, msg: EmailMessage) -> list[str]:
        if item.recipients:
            return list(dict.fromkeys(item.recipients))
        found = [a for h in ("To", "Cc") for a in (msg.get_all(h) or [])]
        return [addr for _, addr in email.utils.getaddresses(found) if addr]

    # ------------------------------------------------------------------ contract
    def publish(self, item: Rendered) -> Receipt:
        msg = self.build(item)
        sender = (
            email.utils.parseaddr(str(msg["From"] or ""))[1]
            or self.settings.sender
            or "practiceweek@localhost"
        )
        done = self._done.setdefault(item.id, set())
        pending = [r for r in self._recipients(item, msg) if r not in done]
        if not pending and not done:
            raise PermanentError(f"{item.id}: the email has no recipients", provider="SMTP")
        data = msg.as_bytes()
        s = self.settings  # paced only when a limit is set (PRACTICEWEEK_RATE_LIMIT_SMTP_MAIL): per login
        login = (s.username or sender).lower()
        bucket = shared_bucket(
            ("smtp_mail", f"{s.host}:{s.port}", login), self.requests_per_interval, self.interval_seconds
        )
        smtp = self._connect()
        try:
            while pending:
                batch, pending = pending[: self.batch_size], pending[self.batch_size :]
                with paced(bucket):  # one message transaction
                    deferred = self._send_batch(smtp, sender, batch, data, item.id)
                done.update(r for r in batch if r not in deferred)
                pending = deferred + pending
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
        return Receipt(
            publication_id=item.id,
            remote_id=message_id(item.id),
            extra={
                "recipients": len(done),
                "batch_size": self.batch_size,
                "refused": sorted(self._refused.get(item.id, {})),
            },
        )

    def find(self, item: Rendered) -> Receipt | None:
        """SMTP cannot be asked what it delivered: always None (the caller's ledger is the record)."""
        return None

    # ------------------------------------------------------------------ plumbing
    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            smtp.ehlo()
            if s.starttls:
                context = ssl.create_default_context(cafile=s.ca_file)
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, reveal(s.password))
            return smtp
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(
                f"SMTP {exc.smtp_code}: the relay refused the login of "
                f"PRACTICEWEEK_SMTP_USERNAME; check the username and password",
                status=exc.smtp_code,
                provider="SMTP",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(
                f"SMTP: {redact(exc)} - the relay lacks STARTTLS or AUTH; "
                "set PRACTICEWEEK_SMTP_STARTTLS=false only for a trusted local relay",
                provider="SMTP",
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._classify(exc, "connect") from None
        except ssl.SSLError as exc:
            raise PermanentError(
                f"SMTP: TLS with {s.host}:{s.port} failed ({exc.reason}); check PRACTICEWEEK_SMTP_CA_FILE",
                provider="SMTP",
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RetryableError(
                f"SMTP: cannot reach {s.host}:{s.port} ({type(exc).__name__})",
                retry_after=5.0,
                provider="SMTP",
            ) from None

    def _send_batch(
        self, smtp: smtplib.SMTP, sender: str, batch: list[str], data: bytes, pid: str
    ) -> list[str]:
        """Send one transaction; return recipients the server deferred (452 too many recipients)."""
        in_data = False
        try:
            code, resp = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            accepted, deferred, refused = [], [], {}
            for rcpt in batch:
                code, resp = smtp.rcpt(rcpt)
                if code in (250, 251):
                    accepted.append(rcpt)
                elif code == 452 and accepted:  # server's per-message limit reached: next transaction
                    deferred.append(rcpt)
                else:
                    refused[rcpt] = (code, resp)
            if refused and not accepted:
                code, resp = next(iter(refused.values()))
                smtp.rset()
                raise smtplib.SMTPResponseException(code, resp)
            deferred.extend(r for r, (c, _) in refused.items() if c < 500)  # try again in the next batch
            self._refused.setdefault(pid, {}).update({r: c for r, (c, _) in refused.items() if c >= 500})
            in_data = True
            code, resp = smtp.data(data)
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
            return deferred
        except smtplib.SMTPResponseException as exc:
            raise self._classify(exc, "DATA" if in_data else "envelope") from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            if in_data:
                raise OutcomeUnknownError(
                    f"SMTP: connection lost after DATA for {pid} ({type(exc).__name__}); "
                    "the relay may have accepted it",
                    provider="SMTP",
                ) from None
            raise RetryableError(
                f"SMTP: connection lost before DATA ({type(exc).__name__})", retry_after=5.0, provider="SMTP"
            ) from None

    @staticmethod
    def _classify(exc: smtplib.SMTPResponseException, phase: str) -> Exception:
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        text = redact(text)
        if 400 <= exc.smtp_code < 500:
            return RetryableError(
                f"SMTP {exc.smtp_code} at {phase}: {text}",
                retry_after=60.0,
                status=exc.smtp_code,
                provider="SMTP",
            )
        return PermanentError(
            f"SMTP {exc.smtp_code} at {phase}: {text} (the relay refused the message; "
            "fix the address, size or content)",
            status=exc.smtp_code,
            provider="SMTP",
        )
