"""The ports use cases need, as Protocols: a unit of work (and its repositories), a clock, a notifier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol, Self

from domain.lifecycle import Transition
from domain.model import (
    Agency,
    CycleItem,
    Milestone,
    Ownership,
    Recommendation,
    StatusRequest,
    StatusUpdate,
    StockTakeCycle,
)
from domain.stocktake import StockTake


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


class RecommendationRepository(Protocol):
    """Recommendations, by code within their report."""

    def add(self, rec: Recommendation) -> None: ...

    def by_code(self, code: str, source: str | None = None) -> Recommendation: ...

    def list(self, *, source: str | None = None, active_only: bool = False) -> list[Recommendation]: ...


class OwnershipRepository(Protocol):
    """Who owns which recommendation."""

    def add(self, ownership: Ownership) -> None: ...

    def add_many(self, ownerships: Iterable[Ownership]) -> None:
        """Store many new ownerships at once (a whole catalogue's suggestions)."""
        ...

    def remove(self, ownership: Ownership) -> None: ...

    def for_recommendation(self, recommendation_id: int) -> list[Ownership]: ...

    def for_recommendations(self, ids: Sequence[int]) -> list[Ownership]: ...

    def owned_recommendation_ids(self) -> set[int]:
        """The recommendations that have at least one owner."""
        ...


class MilestoneRepository(Protocol):
    """Milestones of recommendations."""

    def add(self, milestone: Milestone) -> None: ...

    def for_recommendation(self, recommendation_id: int) -> list[Milestone]: ...

    def for_recommendations(self, ids: Sequence[int]) -> list[Milestone]: ...


class AgencyRepository(Protocol):
    """The agency registry, by code."""

    def add(self, agency: Agency) -> None: ...

    def get(self, code: str) -> Agency | None: ...

    def require(self, code: str) -> Agency: ...

    def list(self) -> list[Agency]: ...


class CycleRepository(Protocol):
    """Stock-take cycles, by name."""

    def add(self, cycle: StockTakeCycle) -> None: ...

    def get(self, name: str) -> StockTakeCycle | None: ...

    def require(self, name: str) -> StockTakeCycle: ...

    def list(self) -> list[StockTakeCycle]: ...


class CycleItemRepository(Protocol):
    """What each cycle asks of each agency."""

    def for_agency(self, cycle_id: int, agency_code: str) -> list[CycleItem]:
        """The agency's items in the cycle, in report order."""
        ...


class RequestRepository(Protocol):
    """Status requests, one per cycle and agency."""

    def add(self, request: StatusRequest) -> None: ...

    def get(self, cycle_id: int, agency_code: str) -> StatusRequest | None: ...

    def by_token_hash(self, token_hash: str) -> StatusRequest | None: ...

    def for_cycle(self, cycle_id: int) -> list[StatusRequest]: ...


class UpdateRepository(Protocol):
    """Agencies' answers, one per cycle, recommendation and agency."""

    def add(self, update: StatusUpdate) -> None: ...

    def get(self, cycle_id: int, recommendation_id: int, agency_code: str) -> StatusUpdate | None: ...

    def for_request(
        self, cycle_id: int, agency_code: str, *, recommendation_ids: Iterable[int] | None = None
    ) -> list[StatusUpdate]: ...


class ApiTokenRepository(Protocol):
    """The API's read tokens, by name (stored only as their hash)."""

    def exists(self, name: str) -> bool: ...

    def add(self, name: str, token_hash: str, *, public_only: bool, created_at: datetime) -> None: ...

    def revoked_at(self, name: str) -> datetime | None:
        """When the token was revoked (None: it still works); NotFound if there is none."""
        ...

    def revoke(self, name: str, at: datetime) -> None: ...


class StocktakeRepository(Protocol):
    """Each cycle's stock-take, read whole."""

    def of_cycle(self, cycle: StockTakeCycle, today: date) -> StockTake:
        """The stock-take of `cycle` as of `today`, compared with the previous cycle."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the repositories: nothing is kept unless `commit()` is called.

    On commit, the moves entities recorded (and `record()`ed entries) join the append-only history.
    """

    @property
    def recommendations(self) -> RecommendationRepository: ...

    @property
    def ownerships(self) -> OwnershipRepository: ...

    @property
    def milestones(self) -> MilestoneRepository: ...

    @property
    def agencies(self) -> AgencyRepository: ...

    @property
    def cycles(self) -> CycleRepository: ...

    @property
    def cycle_items(self) -> CycleItemRepository: ...

    @property
    def requests(self) -> RequestRepository: ...

    @property
    def updates(self) -> UpdateRepository: ...

    @property
    def api_tokens(self) -> ApiTokenRepository: ...

    @property
    def stocktakes(self) -> StocktakeRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def record(self, event: Transition) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
