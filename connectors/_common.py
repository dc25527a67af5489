"""Shared helpers: secret redaction, client-side pacing, HTTP failure classification."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from .base import ConnectorError, CredentialsError, OutcomeUnknownError, PermanentError, RetryableError

# --------------------------------------------------------------------------- secrets

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


# --------------------------------------------------------------------------- pacing


def margin(per: float) -> float:
    """Added to a provider's window: absorbs the jitter between a request's slot and its arrival."""
    return max(0.02 * per, 0.1)


class TokenBucket:
    """Thread-safe sliding-window pacing within one process: at most ``rate`` requests in any ``per``
    seconds (plus a small margin), bursts allowed up to the limit, queued requests released as the oldest
    leave the window - so a backlog drains at the provider's full rate and is never above it."""

    def __init__(self, rate: int, per: float) -> None:
        self.rate = rate
        self.window = per + margin(per)
        self._lock = threading.Lock()
        self._slots: deque[float] = deque(maxlen=rate)  # monotonic times of the last ``rate`` slots

    def acquire(self) -> float:
        """Block until this caller's slot; return how long it waited."""
        with self._lock:
            now = time.monotonic()
            start = now if len(self._slots) < self.rate else max(now, self._slots[0] + self.window)
            self._slots.append(start)
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)


class Bucket(Protocol):
    def acquire(self) -> float: ...


BucketFactory = Callable[[str, int, float], Bucket]
_BUCKETS: dict[tuple[str, ...], Bucket] = {}
_BUCKETS_LOCK = threading.Lock()
_factory: BucketFactory | None = None


def use_shared_pacing(factory: BucketFactory | None) -> None:
    """Pace through ``factory(key, rate, per)`` from now on, e.g. one shared by every worker (the flows
    install the ledger's); None goes back to pacing within this process."""
    global _factory
    with _BUCKETS_LOCK:
        _factory = factory
        _BUCKETS.clear()


def shared_bucket(key: tuple[str, ...], rate: int | None, per: float) -> Bucket | None:
    """The pacer of one (connector, endpoint, account) and limit: shared by every connector instance in
    the process, and by every process when a shared factory is installed."""
    if not rate:
        return None
    full_key = (*key, str(rate), str(per))
    with _BUCKETS_LOCK:
        if full_key not in _BUCKETS:
            name = f"{key[0]}:{digest('|'.join(full_key), 24)}"
            _BUCKETS[full_key] = _factory(name, rate, per) if _factory else TokenBucket(rate, per)
        return _BUCKETS[full_key]


# --------------------------------------------------------------------------- ids


def digest(text: str, length: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def b32id(text: str, length: int = 20) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode().lower().rstrip("=")[:length]


def chunks(items: Iterable[Any], size: int) -> list[list[Any]]:
    items = list(items)
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


# --------------------------------------------------------------------------- failures


def retry_after_from(headers: Mapping[str, str] | None, default: float | None = None) -> float | None:
    """The delay a provider asked for: Retry-After (seconds or HTTP date), or an epoch reset header."""
    if not headers:
        return default
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    value = lower.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    for name in ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset"):
        value = lower.get(name)
        if value:
            try:
                return max(0.0, float(value) - time.time())
            except ValueError:
                continue
    return default


def classify_status(
    provider: str,
    status: int,
    body: str,
    headers: Mapping[str, str] | None,
    hints: Mapping[int, str] | None = None,
    what: str = "request",
) -> ConnectorError:
    """Turn an HTTP failure into the contract's error: 408/425/429/5xx retryable, other 4xx permanent."""
    body = redact(body)
    hint = (hints or {}).get(status, "")
    detail = _short(body)
    message = (
        f"{provider} {status} on {what}" + (f": {hint}" if hint else "") + (f" ({detail})" if detail else "")
    )
    if status in (408, 425, 429) or status >= 500:
        return RetryableError(
            message,
            retry_after=retry_after_from(headers, 1.0 if status == 429 else None),
            status=status,
            body=body,
            provider=provider,
        )
    if status in (401, 403):
        return CredentialsError(message, status=status, body=body, provider=provider)
    return PermanentError(message, status=status, body=body, provider=provider)


def unknown(provider: str, what: str, exc: BaseException) -> OutcomeUnknownError:
    return OutcomeUnknownError(
        f"{provider}: no answer to {what} ({type(exc).__name__}); it may have taken effect - "
        "call find() before retrying",
        provider=provider,
    )


def not_reached(provider: str, what: str, exc: BaseException) -> RetryableError:
    return RetryableError(
        f"{provider}: could not reach the server for {what} ({type(exc).__name__}: {_short(redact(exc))})",
        retry_after=1.0,
        provider=provider,
    )


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"
