"""The ports use cases need, as Protocols: a unit of work, a clock, and a notifier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol


class Clock(Protocol):
    """Where use cases get the time from (a fixed clock in tests and replays)."""

    def now(self) -> datetime: ...

    def today(self) -> date: ...


class Notifier(Protocol):
    """Queues a message for delivery; the same key twice stores one message."""

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
    ) -> bool: ...
