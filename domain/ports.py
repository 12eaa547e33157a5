"""The ports use cases need, as Protocols: a unit of work (and its repositories), a clock, a notifier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol, Self

from domain.answers import AnswerView
from domain.evidence import StoredFile
from domain.launch import Readiness
from domain.lifecycle import Transition
from domain.model import (
    Agency,
    CycleItem,
    DeadlineMoves,
    Milestone,
    Ownership,
    Recommendation,
    StatusRequest,
    StatusUpdate,
    StockTakeCycle,
)
from domain.stocktake import StockTake


class OverdueMilestone(NamedTuple):
    """An overdue milestone as the follow-up lists it: its item's code and who owns it."""

    id: int
    code: str
    title: str
    due_date: date
    owner: str | None  # the milestone's agency, else its item's lead


class DueMilestone(NamedTuple):
    """A planned milestone due before a day, as the daily follow-up marks it overdue."""

    id: int
    recommendation_id: int
    title: str
    due_date: date


class ItemToAsk(NamedTuple):
    """An item as a status request's e-mail lists it, with what the agency said of it last cycle."""

    agency_code: str
    role: str
    code: str
    kind: str
    agenda_point: int | None
    agenda_title: str | None
    text: str
    translations: dict[str, str] | None  # the text's, by language
    reported_status: str | None
    narrative: str | None
    assessed_status: str | None
    assessment_rationale: str | None


# An item as a status request in parts lists it (agency, code, kind, agenda point, its title): a row
# read as a tuple, since a large launch lists 200,000 of them and making a named tuple of each took a
# quarter of their reading.
CodeToList = tuple[str, str, str, int | None, str | None]


class AttachedFile(NamedTuple):
    """An evidence file stored on an answer, as a save weighs it (its bytes are at `storage_key`)."""

    id: int
    recommendation_id: int
    name: str
    sha256: str
    storage_key: str


class NewFile(NamedTuple):
    """A file received for an answer, to be stored: what lists it, where its bytes are, who added it."""

    name: str
    kind: str
    size: int
    sha256: str
    storage_key: str
    added_at: datetime
    added_by: str


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

    def sources(self) -> list[str]:
        """The reports (sources) that have recommendations, in order."""
        ...

    def list(self, *, source: str | None = None, active_only: bool = False) -> list[Recommendation]: ...

    def launch_readiness(self) -> Readiness:
        """What a launch checks: active items without owner, owning agencies, reachable ones."""
        ...


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

    def open_for(self, recommendation_ids: Sequence[int], agency_code: str) -> list[Milestone]:
        """The items' milestones still to deliver that this agency reports on (its own, or unassigned)."""
        ...

    def planned_due_before(self, day: date) -> list[DueMilestone]: ...

    def mark_overdue(self, ids: Sequence[int]) -> None:
        """Move these PLANNED milestones to OVERDUE; the caller records their moves (`overdue_move`)."""
        ...

    def overdue(self) -> list[OverdueMilestone]:
        """Every overdue milestone (moves made in this unit of work included), by due date."""
        ...


class AgencyRepository(Protocol):
    """The agency registry, by code."""

    def add(self, agency: Agency) -> None: ...

    def get(self, code: str) -> Agency | None: ...

    def require(self, code: str) -> Agency: ...

    def list(self) -> list[Agency]: ...

    def by_codes(self, codes: Iterable[str]) -> dict[str, Agency]: ...


class CycleRepository(Protocol):
    """Stock-take cycles, by name."""

    def add(self, cycle: StockTakeCycle) -> None:
        """Store a new cycle; it has its id from then on."""
        ...

    def get(self, name: str) -> StockTakeCycle | None: ...

    def by_id(self, cycle_id: int) -> StockTakeCycle | None: ...

    def require(self, name: str) -> StockTakeCycle: ...

    def list(self) -> list[StockTakeCycle]: ...

    def deadline_moves(self, cycle: StockTakeCycle) -> DeadlineMoves:
        """How often the cycle's deadline moved, and the day it was last extended (`DeadlineMoves.of`)."""
        ...

    def lock(self, cycle: StockTakeCycle) -> None:
        """Wait for any other transaction changing the cycle (its deadline, its state), then refresh it."""
        ...


class CycleItemRepository(Protocol):
    """What each cycle asks of each agency."""

    def for_agency(self, cycle_id: int, agency_code: str) -> list[CycleItem]:
        """The agency's items in the cycle, in report order."""
        ...

    def snapshot(self, cycle_id: int) -> None:
        """Copy the active items' owners into the cycle (what it asks of whom)."""
        ...

    def requested_per_agency(self, cycle_id: int) -> dict[str, int]: ...

    def answered_per_agency(self, cycle_id: int) -> dict[str, int]:
        """Per agency, the requested items it has answered (submitted or accepted)."""
        ...

    def unanswered_codes(self, cycle_id: int, agency_codes: Sequence[str]) -> dict[str, list[str]]: ...

    def with_recommendations(
        self, cycle_id: int, agency_code: str, *, with_text: bool = True
    ) -> dict[int, dict[str, Any]]:
        """The agency's items with their recommendation's code, kind, agenda point, theme, role (and text)."""
        ...

    def with_last_answers(self, cycle: StockTakeCycle, agency_codes: Sequence[str]) -> list[ItemToAsk]:
        """The agencies' items in report order, with what each said of them last cycle (for e-mails)."""
        ...

    def codes_in_report_order(self, cycle_id: int, agency_codes: Sequence[str]) -> Sequence[CodeToList]:
        """The agencies' item codes in report order, with their agenda point (e-mails in parts)."""
        ...


class RequestRepository(Protocol):
    """Status requests, one per cycle and agency."""

    def add(self, request: StatusRequest) -> None: ...

    def get(self, cycle_id: int, agency_code: str) -> StatusRequest | None: ...

    def by_token_hash(self, token_hash: str) -> StatusRequest | None: ...

    def for_cycle(self, cycle_id: int) -> list[StatusRequest]: ...

    def locked_for_cycle(self, cycle_id: int) -> list[StatusRequest]:
        """The cycle's requests, locked until this unit of work ends (a second run waits)."""
        ...

    def lock(self, request: StatusRequest) -> None:
        """Wait for any other unit of work saving this request, then see what it saved."""
        ...

    def reply_versions(self, cycle_id: int) -> dict[str, tuple[int, int | None]]:
        """Per agency that has answered: (its reply version, the version last announced)."""
        ...

    def mark_reply_announced(self, cycle_id: int, agency_code: str, version: int) -> None: ...


class UpdateRepository(Protocol):
    """Agencies' answers, one per cycle, recommendation and agency."""

    def add(self, update: StatusUpdate) -> None: ...

    def get(self, cycle_id: int, recommendation_id: int, agency_code: str) -> StatusUpdate | None: ...

    def for_request(
        self, cycle_id: int, agency_code: str, *, recommendation_ids: Iterable[int] | None = None
    ) -> list[StatusUpdate]: ...

    def last_cycle_answers(
        self, cycle: StockTakeCycle, agency_code: str, recommendation_ids: Iterable[int] | None = None
    ) -> dict[int, tuple[AnswerView, str]]:
        """Per recommendation, what the agency submitted in the cycle before, and that cycle's name."""
        ...

    def returned_since(self, cycle: StockTakeCycle, mark: str) -> list[tuple[int, str, str, str]]:
        """Answers returned since the cycle's last `mark` entry: (history id, agency, code, question)."""
        ...


class ApiTokenRepository(Protocol):
    """The API's read tokens, by name (stored only as their hash)."""

    def exists(self, name: str) -> bool: ...

    def add(self, name: str, token_hash: str, *, public_only: bool, created_at: datetime) -> None: ...

    def revoked_at(self, name: str) -> datetime | None:
        """When the token was revoked (None: it still works); NotFound if there is none."""
        ...

    def revoke(self, name: str, at: datetime) -> None: ...


class OutboxRepository(Protocol):
    """What the outbox holds, as use cases ask it (the `Notifier` queues)."""

    def queued_keys(self, prefix: str) -> set[str]: ...

    def last_reminders(self, cycle_id: int) -> dict[str, datetime]:
        """When each agency was last reminded in the cycle (sent, or queued while not sent yet)."""
        ...

    def status_requests_sent(self, cycle_id: int | None) -> dict[tuple[int, str], datetime]:
        """When the status request of each pending request (of one open cycle, or all) last left."""
        ...

    def make_due(self, key_prefixes: Sequence[str], at: datetime) -> int:
        """Make the queued messages with these key prefixes due at `at`; how many."""
        ...

    def withdraw(self, cycle_id: int, kinds: Sequence[str] | None = None) -> int:
        """Withdraw the cycle's messages (of these kinds) not sent: queued, or given up and retryable."""
        ...

    def withdraw_unsent(self, cycle_id: int, kind: str, agency_code: str | None = None) -> set[str]:
        """Withdraw the cycle's messages of `kind` (to one agency, if given) that have not left: queued,
        or given up on (not those whose delivery is unknown); their keys."""
        ...


class StocktakeRepository(Protocol):
    """Each cycle's stock-take, read whole."""

    def of_cycle(self, cycle: StockTakeCycle, today: date, language: str = "en") -> StockTake:
        """The stock-take of `cycle` as of `today`, compared with the previous cycle; agencies named in
        running text as `language` names them."""
        ...


class EvidenceRepository(Protocol):
    """The evidence files on answers (their rows; the bytes are in the evidence store)."""

    def of_request(self, cycle_id: int, agency_code: str) -> list[AttachedFile]:
        """The files on the agency's answers of the cycle."""
        ...

    def files_of(self, cycle_id: int, agency_code: str) -> dict[tuple[int, str], list[StoredFile]]:
        """The agency's files of the cycle by (recommendation, agency), in the order attached."""
        ...

    def add(self, cycle_id: int, recommendation_id: int, agency_code: str, file: NewFile) -> None:
        """Store the row of a file received for an answer."""
        ...

    def remove(self, file_id: int) -> None:
        """Delete the row of a file (its bytes go once the transaction commits)."""
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
    def outbox(self) -> OutboxRepository: ...

    @property
    def stocktakes(self) -> StocktakeRepository: ...

    @property
    def evidence(self) -> EvidenceRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def record(self, event: Transition) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
