"""The documented safe way to publish: find first, publish, classify, reconcile.

``deliver`` is the reference caller loop (the Prefect flows follow the same rules):

* before every attempt, ``find``: if the item is already there, return its receipt (no second copy);
  connectors that cannot be queried (``can_find = False``: SMTP, Teams webhook) consult ``ledger``,
  where an attempt in flight is recorded as ``None`` until it succeeds or surely failed;
* ``RetryableError``: wait ``retry_after`` (the provider's requested delay) and try again;
* ``OutcomeUnknownError``: never publish blindly - loop back to ``find``; when the connector cannot
  find, raise it so a person decides (at most once beats twice);
* ``PermanentError``: raise at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping

from practiceweek.artifacts import Rendered

from .base import Connector, OutcomeUnknownError, Receipt, RetryableError

Ledger = MutableMapping[str, "Receipt | None"]


def deliver(
    connector: Connector,
    item: Rendered,
    *,
    attempts: int = 6,
    ledger: Ledger | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = 300.0,
) -> Receipt:
    """Publish ``item`` exactly once through ``connector``; see the module docstring."""
    can_find = getattr(connector, "can_find", True)
    ledger = {} if ledger is None else ledger
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            if can_find:
                found = connector.find(item)
            elif item.id in ledger and ledger[item.id] is None:
                raise OutcomeUnknownError(
                    f"{item.id}: an earlier attempt through {connector.name} may have "
                    "arrived and cannot be checked; a person must confirm before a retry",
                    provider=connector.name,
                )
            else:
                found = ledger.get(item.id)
            if found is not None:
                return found
            if not can_find:
                ledger[item.id] = None  # in flight
            receipt = connector.publish(item)
        except RetryableError as exc:
            if not can_find and item.id in ledger and ledger[item.id] is None:
                del ledger[item.id]  # surely not delivered
            last = exc
            sleep(min(exc.retry_after if exc.retry_after is not None else 2.0**attempt, max_wait))
            continue
        except OutcomeUnknownError as exc:
            if not can_find:
                raise
            last = exc
            continue
        except Exception:
            if not can_find and item.id in ledger and ledger[item.id] is None:
                del ledger[item.id]
            raise
        ledger[item.id] = receipt
        return receipt
    assert last is not None
    raise last
