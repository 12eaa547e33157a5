"""Immediate mail: messages someone is waiting for (a receipt, a returned question, a new link) leave at once.

The use case queues them in its transaction as usual (the outbox stays the one way out); once that
transaction has committed, the caller hands exactly those messages to the mail server with a short,
bounded try. A failure leaves them queued with their backoff, so the flows' dispatcher (the safety
net) sends them later; the outbox's claims make sure no message is sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from db.unit_of_work import SqlUnitOfWork
from domain.ports import Clock, Notifier
from notifications.outbox import DispatchReport, Exactly, ReplyLinks, dispatch
from notifications.senders import Sender, SmtpSender

log = logging.getLogger(__name__)

# Seconds an SMTP operation of an immediate send may take: someone is waiting (a page, a command),
# and a slow or unreachable server only delays the message until the flows' next run.
IMMEDIATE_TIMEOUT = 2.0


class KeyRecorder:
    """A notifier that queues through another one and remembers the keys it was given, to send them now."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.keys: list[str] = []

    def enqueue(
        self,
        kind: str,
        *,
        key: str,
        to: Sequence[str],
        context: Mapping[str, Any],
        cc: Sequence[str] = (),
        cycle_id: int | None = None,
        agency_code: str | None = None,
    ) -> bool:
        """Queue the message through the wrapped notifier and note its key (queued now or before)."""
        stored = self.notifier.enqueue(
            kind, key=key, to=to, context=context, cc=cc, cycle_id=cycle_id, agency_code=agency_code
        )
        # A key queued before may still wait (an identical resubmission): sending it now is as welcome.
        self.keys.append(key)
        return stored


def bounded(sender: Sender, timeout: float = IMMEDIATE_TIMEOUT) -> Sender:
    """The sender with its SMTP timeout cut to `timeout` seconds (other senders are quick already)."""
    if isinstance(sender, SmtpSender):
        sender.timeout = min(sender.timeout, timeout)
    return sender


def send_immediately(
    uow_factory: Callable[[], SqlUnitOfWork],
    sender: Sender,
    clock: Clock,
    keys: Sequence[str],
    *,
    links: ReplyLinks,
) -> DispatchReport:
    """Hand the queued messages with these keys to `sender` now, one try each; never raises.

    Only messages still queued and due are claimed (a message sent or claimed meanwhile is left
    alone); one that fails stays queued, its next attempt scheduled by the outbox's backoff.
    """
    if not keys:
        return DispatchReport()
    try:
        return dispatch(
            uow_factory, sender, clock, links=links, key_prefix=Exactly(tuple(keys)), limit=len(keys)
        )
    except Exception:  # the database, the links: whatever it is, the flows' dispatcher tries again
        log.warning("immediate send of %s failed; left queued for the dispatcher", keys, exc_info=True)
        return DispatchReport()
