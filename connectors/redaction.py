"""Secrets never leave this process: every credential is registered and masked in logs and errors."""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import quote

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_FACTORY_INSTALLED = False
MASK = "[redacted]"


def register_secret(*values: str | None) -> None:
    """Remember secret values so :func:`redact` and every log record hide them."""
    with _SECRETS_LOCK:
        for value in values:
            if value and len(value) >= 4:
                _SECRETS.add(value)
    _install_log_redaction()


def redact(text: Any) -> str:
    """``text`` with every registered secret (and its URL-encoded form) replaced by a mask."""
    out = str(text)
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in out:
            out = out.replace(secret, MASK)
        for encoded in (quote(secret, safe=""), quote(secret)):
            if encoded != secret and encoded in out:
                out = out.replace(encoded, MASK)
    return out


def _install_log_redaction() -> None:
    """Wrap the log-record factory once so SDK and HTTP-library log lines never carry a secret."""
    global _FACTORY_INSTALLED
    with _SECRETS_LOCK:
        if _FACTORY_INSTALLED:
            return
        _FACTORY_INSTALLED = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _SECRETS:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a broken format string is the caller's problem
                return record
            cleaned = redact(message)
            if cleaned != message or record.args:
                record.msg, record.args = cleaned, ()
        return record

    logging.setLogRecordFactory(factory)
