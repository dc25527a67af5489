"""Provider failures turned into the connector contract's typed errors, carrying the provider's answer."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

from .base import ConnectorError, CredentialsError, OutcomeUnknownError, PermanentError, RetryableError
from .redaction import redact


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
