"""In-memory ports: a unit of work, a notifier and a clock, so rule tests need no database or mail.

`FakeUnitOfWork` keeps all or nothing like the real one: whatever a use case changed is put back
when it leaves without `commit()`, and a commit moves the entities' recorded events to `history`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

from domain.errors import NotFound
from domain.lifecycle import Transition
from domain.model import Agency, CycleItem, StatusRequest, StatusUpdate, StockTakeCycle


class FakeAgencies:
    """Agencies by code, in memory."""

    def __init__(self) -> None:
        self.by_code: dict[str, Agency] = {}

    def add(self, agency: Agency) -> None:
        self.by_code[agency.code] = agency

    def get(self, code: str) -> Agency | None:
        return self.by_code.get(code)

    def require(self, code: str) -> Agency:
        agency = self.get(code)
        if agency is None:
            raise NotFound(f"no agency with code '{code}' (see `followup agencies list`)")
        return agency

    def list(self) -> list[Agency]:
        return [self.by_code[code] for code in sorted(self.by_code)]


class FakeCycles:
    """Cycles by name, in memory (ids given on add)."""

    def __init__(self) -> None:
        self.by_name: dict[str, StockTakeCycle] = {}

    def add(self, cycle: StockTakeCycle) -> None:
        cycle.id = len(self.by_name) + 1
        self.by_name[cycle.name] = cycle

    def get(self, name: str) -> StockTakeCycle | None:
        return self.by_name.get(name)

    def require(self, name: str) -> StockTakeCycle:
        cycle = self.get(name)
        if cycle is None:
            raise NotFound(f"no cycle named '{name}' (see `followup cycle list`)")
        return cycle

    def list(self) -> list[StockTakeCycle]:
        return list(self.by_name.values())


class FakeCycleItems:
    """What each cycle asks of each agency, in memory (`add` them in report order)."""

    def __init__(self) -> None:
        self.by_request: dict[tuple[int, str], list[CycleItem]] = {}

    def add(self, cycle_id: int, agency_code: str, item: CycleItem) -> None:
        self.by_request.setdefault((cycle_id, agency_code), []).append(item)

    def for_agency(self, cycle_id: int, agency_code: str) -> list[CycleItem]:
        return list(self.by_request.get((cycle_id, agency_code), []))


class FakeRequests:
    """Status requests by cycle and agency, in memory."""

    def __init__(self) -> None:
        self.items: list[StatusRequest] = []

    def add(self, request: StatusRequest) -> None:
        self.items.append(request)

    def get(self, cycle_id: int, agency_code: str) -> StatusRequest | None:
        return next((r for r in self.items if (r.cycle_id, r.agency_code) == (cycle_id, agency_code)), None)

    def by_token_hash(self, token_hash: str) -> StatusRequest | None:
        return next((r for r in self.items if r.token_hash == token_hash), None)

    def for_cycle(self, cycle_id: int) -> list[StatusRequest]:
        return sorted((r for r in self.items if r.cycle_id == cycle_id), key=lambda r: r.agency_code)


class FakeUpdates:
    """Answers by cycle, recommendation and agency, in memory."""

    def __init__(self) -> None:
        self.items: list[StatusUpdate] = []

    def add(self, update: StatusUpdate) -> None:
        self.items.append(update)

    def get(self, cycle_id: int, recommendation_id: int, agency_code: str) -> StatusUpdate | None:
        key = (cycle_id, recommendation_id, agency_code)
        return next((u for u in self.items if (u.cycle_id, u.recommendation_id, u.agency_code) == key), None)

    def for_request(
        self, cycle_id: int, agency_code: str, *, recommendation_ids: Iterable[int] | None = None
    ) -> list[StatusUpdate]:
        wanted = None if recommendation_ids is None else set(recommendation_ids)
        return [
            u
            for u in self.items
            if (u.cycle_id, u.agency_code) == (cycle_id, agency_code)
            and (wanted is None or u.recommendation_id in wanted)
        ]


class FakeUnitOfWork:
    """The `UnitOfWork` port in memory: all or nothing, with the history it would have written."""

    def __init__(self) -> None:
        self.agencies = FakeAgencies()
        self.cycles = FakeCycles()
        self.cycle_items = FakeCycleItems()
        self.requests = FakeRequests()
        self.updates = FakeUpdates()
        self.history: list[Transition] = []
        self.commits = 0
        self._pending: list[Transition] = []
        self._saved: dict[str, Any] | None = None

    def _stores(self) -> dict[str, Any]:
        return {
            name: getattr(self, name) for name in ("agencies", "cycles", "cycle_items", "requests", "updates")
        }

    def __enter__(self) -> Self:
        self._saved = copy.deepcopy(self._stores())
        self._pending = []
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:  # left without a commit: put everything back
            for name, store in self._saved.items():
                setattr(self, name, store)
            self._saved = None

    def record(self, event: Transition) -> None:
        self._pending.append(event)

    def commit(self) -> None:
        entities = [*self.cycles.by_name.values(), *self.requests.items, *self.updates.items]
        for entity in entities:
            self._pending.extend(entity.events)
            entity.events.clear()
        self.history += self._pending
        self._pending = []
        self._saved = None
        self.commits += 1

    def rollback(self) -> None:
        self.__exit__()


@dataclass
class Sent:
    """One message the fake notifier accepted."""

    kind: str
    key: str
    to: list[str]
    cc: list[str]
    context: dict[str, Any]


class FakeNotifier:
    """Keeps messages in memory; the same key twice is stored once, like the outbox."""

    def __init__(self) -> None:
        self.messages: dict[str, Sent] = {}

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
        if key in self.messages:
            return False
        self.messages[key] = Sent(kind, key, list(to), list(cc), dict(context))
        return True

    def of_kind(self, kind: str) -> list[Sent]:
        """The messages of one kind, in the order they were queued."""
        return [m for m in self.messages.values() if m.kind == kind]


class FakeClock:
    """A clock that stays where it is put (09:00 UTC on `today`) until moved on."""

    def __init__(self, today: date) -> None:
        self.moment = datetime(today.year, today.month, today.day, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return self.moment.date()

    def advance(self, days: int) -> None:
        """Move the clock on by whole days."""
        self.moment += timedelta(days=days)
