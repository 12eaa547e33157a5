"""In-memory ports: a unit of work, a notifier and a clock, so rule tests need no database or mail.

`FakeUnitOfWork` keeps all or nothing like the real one: whatever a use case changed is put back
when it leaves without `commit()`, and a commit moves the entities' recorded events to `history`.
Its repositories answer what the rule tests ask (launch, follow-up, collect, review, the registry);
its outbox reads what a `FakeNotifier` queued (which, unlike the real outbox, no rollback takes back).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

from domain.answers import AnswerView
from domain.errors import NotFound
from domain.evidence import StoredFile
from domain.launch import Readiness, is_placeholder
from domain.lifecycle import MilestoneState, ReviewState, Transition
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
from domain.ports import AttachedFile, CodeToList, DueMilestone, ItemToAsk, NewFile, OverdueMilestone
from domain.stocktake import StockTake

ANSWERED = (ReviewState.SUBMITTED, ReviewState.ACCEPTED)


class FakeRecommendations:
    """Recommendations in report order, in memory (ids given on add)."""

    def __init__(self, ownerships: FakeOwnerships, agencies: FakeAgencies) -> None:
        self.items: list[Recommendation] = []
        self.ownerships, self.agencies = ownerships, agencies

    def add(self, rec: Recommendation) -> None:
        rec.id = len(self.items) + 1
        self.items.append(rec)

    def by_id(self, rid: int) -> Recommendation:
        """The recommendation with this id (fakes' helper)."""
        return next(r for r in self.items if r.id == rid)

    def by_code(self, code: str, source: str | None = None) -> Recommendation:
        """Not modelled: the rule tests look recommendations up by id."""
        raise NotImplementedError

    def sources(self) -> list[str]:
        return sorted({r.source for r in self.items})

    def list(self, *, source: str | None = None, active_only: bool = False) -> list[Recommendation]:
        found = [r for r in self.items if source in (None, r.source) and not (active_only and r.is_closed)]
        return sorted(found, key=lambda r: (r.source, r.position))

    def launch_readiness(self) -> Readiness:
        active = self.list(active_only=True)
        owned = {o.recommendation_id: o.agency_code for o in self.ownerships.items}
        owners = {
            o.agency_code for o in self.ownerships.items if o.recommendation_id in {r.id for r in active}
        }
        agencies = [a for a in self.agencies.list() if a.contacts]
        real = {a.code for a in agencies if any(not is_placeholder(c.email) for c in a.contacts)}
        reachable = frozenset(a.code for a in agencies)
        return Readiness(
            [r.code for r in active if r.id not in owned], sorted(owners), reachable, reachable - real
        )


class FakeOwnerships:
    """Who owns which recommendation, in memory."""

    def __init__(self) -> None:
        self.items: list[Ownership] = []

    def add(self, ownership: Ownership) -> None:
        self.items.append(ownership)

    def add_many(self, ownerships: Iterable[Ownership]) -> None:
        """Not modelled: the rule tests add owners one by one."""
        raise NotImplementedError

    def remove(self, ownership: Ownership) -> None:
        """Not modelled: no rule test takes an owner away."""
        raise NotImplementedError

    def for_recommendation(self, recommendation_id: int) -> list[Ownership]:
        """Not modelled: the rule tests read `items` directly."""
        raise NotImplementedError

    def for_recommendations(self, ids: Sequence[int]) -> list[Ownership]:
        """Not modelled: the rule tests read `items` directly."""
        raise NotImplementedError

    def owned_recommendation_ids(self) -> set[int]:
        """Not modelled: the fakes' launch readiness reads `items` directly."""
        raise NotImplementedError

    def list(self) -> list[Ownership]:
        return list(self.items)


class FakeMilestones:
    """Milestones, in memory (ids given on add); overdue ones are listed with their item and owner."""

    def __init__(self, recommendations: FakeRecommendations, ownerships: FakeOwnerships) -> None:
        self.items: list[Milestone] = []
        self.recommendations, self.ownerships = recommendations, ownerships

    def add(self, milestone: Milestone) -> None:
        milestone.id = len(self.items) + 1
        self.items.append(milestone)

    def for_recommendation(self, recommendation_id: int) -> list[Milestone]:
        """Not modelled: the rule tests read `items` directly."""
        raise NotImplementedError

    def for_recommendations(self, ids: Sequence[int]) -> list[Milestone]:
        """Not modelled: the rule tests read `items` directly."""
        raise NotImplementedError

    def open_for(self, recommendation_ids: Sequence[int], agency_code: str) -> list[Milestone]:
        """Not modelled: the rule tests save no answer that delivers a milestone."""
        raise NotImplementedError

    def planned_due_before(self, day: date) -> list[DueMilestone]:
        return [
            DueMilestone(m.id or 0, m.recommendation_id, m.title, m.due_date)
            for m in self.items
            if m.state == MilestoneState.PLANNED and m.due_date < day
        ]

    def mark_overdue(self, ids: Sequence[int]) -> None:
        for m in self.items:
            if m.id in ids and m.state == MilestoneState.PLANNED:
                m.state = MilestoneState.OVERDUE.value

    def overdue(self) -> list[OverdueMilestone]:
        lines = []
        for m in self.items:
            if m.state != MilestoneState.OVERDUE:
                continue
            lead = next(
                (o.agency_code for o in self.ownerships.items if o.recommendation_id == m.recommendation_id),
                None,
            )
            code = self.recommendations.by_id(m.recommendation_id).code
            lines.append(OverdueMilestone(m.id or 0, code, m.title, m.due_date, m.agency_code or lead))
        return sorted(lines, key=lambda line: (line.due_date, line.code))


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

    def by_codes(self, codes: Iterable[str]) -> dict[str, Agency]:
        return {code: self.by_code[code] for code in set(codes) if code in self.by_code}


class FakeCycles:
    """Cycles by name, in memory (ids given on add); deadline moves are read from the committed history."""

    def __init__(self, history: list[Transition]) -> None:
        self.by_name: dict[str, StockTakeCycle] = {}
        self.history = history

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

    def by_id(self, cycle_id: int) -> StockTakeCycle | None:
        return next((c for c in self.by_name.values() if c.id == cycle_id), None)

    def lock(self, cycle: StockTakeCycle) -> None:
        """Nothing to wait for: the fakes have one transaction at a time."""

    def deadline_moves(self, cycle: StockTakeCycle) -> DeadlineMoves:
        key = (cycle.ENTITY, cycle.history_key())
        return DeadlineMoves.of((e.at, e.data) for e in self.history if (e.entity, e.key) == key)


class FakeCycleItems:
    """What each cycle asks of each agency, in memory (`add` them in report order, or `snapshot`)."""

    def __init__(
        self, recommendations: FakeRecommendations, ownerships: FakeOwnerships, updates: FakeUpdates
    ) -> None:
        self.by_request: dict[tuple[int, str], list[CycleItem]] = {}
        self.recommendations, self.ownerships, self.updates = recommendations, ownerships, updates

    def add(self, cycle_id: int, agency_code: str, item: CycleItem) -> None:
        self.by_request.setdefault((cycle_id, agency_code), []).append(item)

    def for_agency(self, cycle_id: int, agency_code: str) -> list[CycleItem]:
        return list(self.by_request.get((cycle_id, agency_code), []))

    def snapshot(self, cycle_id: int) -> None:
        for rec in self.recommendations.list(active_only=True):
            for o in self.ownerships.items:
                if o.recommendation_id == rec.id:
                    self.add(cycle_id, o.agency_code, CycleItem(rec.id, rec.code, o.role))

    def requested_per_agency(self, cycle_id: int) -> dict[str, int]:
        return {agency: len(items) for (cycle, agency), items in self.by_request.items() if cycle == cycle_id}

    def _answered(self, cycle_id: int, agency_code: str) -> set[int]:
        return {
            u.recommendation_id
            for u in self.updates.for_request(cycle_id, agency_code)
            if u.state in ANSWERED
        }

    def answered_per_agency(self, cycle_id: int) -> dict[str, int]:
        counts = {
            agency: len({i.recommendation_id for i in items} & self._answered(cycle_id, agency))
            for (cycle, agency), items in self.by_request.items()
            if cycle == cycle_id
        }
        return {agency: n for agency, n in counts.items() if n}

    def with_recommendations(
        self, cycle_id: int, agency_code: str, *, with_text: bool = True
    ) -> dict[int, dict[str, Any]]:
        """Not modelled: the rule tests render no reply page."""
        raise NotImplementedError

    def unanswered_codes(self, cycle_id: int, agency_codes: Sequence[str]) -> dict[str, list[str]]:
        missing = {}
        for agency in agency_codes:
            done = self._answered(cycle_id, agency)
            missing[agency] = [
                i.code for i in self.for_agency(cycle_id, agency) if i.recommendation_id not in done
            ]
        return missing

    def with_last_answers(self, cycle: StockTakeCycle, agency_codes: Sequence[str]) -> list[ItemToAsk]:
        # Last cycle's answers are the fakes' to skip: these tests launch a first cycle.
        rows = []
        for agency, rec, role in self._items_of(cycle.id or 0, agency_codes):
            rows.append(
                ItemToAsk(
                    agency,
                    role,
                    rec.code,
                    rec.kind,
                    rec.agenda_point,
                    rec.agenda_title,
                    rec.text,
                    rec.translations,
                    None,
                    None,
                    None,
                    None,
                )
            )
        return rows

    def codes_in_report_order(self, cycle_id: int, agency_codes: Sequence[str]) -> list[CodeToList]:
        return [
            (agency, rec.code, rec.kind, rec.agenda_point, rec.agenda_title)
            for agency, rec, _ in self._items_of(cycle_id, agency_codes)
        ]

    def _items_of(
        self, cycle_id: int, agency_codes: Sequence[str]
    ) -> Iterator[tuple[str, Recommendation, str]]:
        """Each agency's items (in the order they were added) with their recommendation and role."""
        for agency in sorted(agency_codes):
            for item in self.for_agency(cycle_id, agency):
                yield agency, self.recommendations.by_id(item.recommendation_id), item.role


class FakeRequests:
    """Status requests by cycle and agency, in memory, with the reply versions announced."""

    def __init__(self, updates: FakeUpdates) -> None:
        self.items: list[StatusRequest] = []
        self.updates = updates
        self.announced: dict[tuple[int, str], int] = {}

    def add(self, request: StatusRequest) -> None:
        self.items.append(request)

    def get(self, cycle_id: int, agency_code: str) -> StatusRequest | None:
        return next((r for r in self.items if (r.cycle_id, r.agency_code) == (cycle_id, agency_code)), None)

    def by_token_hash(self, token_hash: str) -> StatusRequest | None:
        return next((r for r in self.items if r.token_hash == token_hash), None)

    def for_cycle(self, cycle_id: int) -> list[StatusRequest]:
        return sorted((r for r in self.items if r.cycle_id == cycle_id), key=lambda r: r.agency_code)

    def locked_for_cycle(self, cycle_id: int) -> list[StatusRequest]:
        return self.for_cycle(cycle_id)  # in memory there is one writer

    def lock(self, request: StatusRequest) -> None:
        """Nothing to wait for: in memory there is one writer."""

    def reply_versions(self, cycle_id: int) -> dict[str, tuple[int, int | None]]:
        versions: dict[str, int] = {}
        for u in self.updates.items:
            if u.cycle_id == cycle_id and u.state != ReviewState.DRAFT:
                versions[u.agency_code] = versions.get(u.agency_code, 0) + u.version
        return {code: (v, self.announced.get((cycle_id, code))) for code, v in versions.items()}

    def mark_reply_announced(self, cycle_id: int, agency_code: str, version: int) -> None:
        self.announced[(cycle_id, agency_code)] = version


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

    def last_cycle_answers(
        self, cycle: StockTakeCycle, agency_code: str, recommendation_ids: Iterable[int] | None = None
    ) -> dict[int, tuple[AnswerView, str]]:
        """Not modelled: these tests launch a first cycle, with no answers before it."""
        raise NotImplementedError

    def returned_since(self, cycle: StockTakeCycle, mark: str) -> list[tuple[int, str, str, str]]:
        """Not modelled: the rule tests digest no returned answers."""
        raise NotImplementedError


class FakeEvidence:
    """Evidence file rows kept in a list, for use cases that weigh or list an answer's files."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, str, NewFile]] = []  # (id, recommendation, agency, file) of cycle 1..

    def of_request(self, cycle_id: int, agency_code: str) -> list[AttachedFile]:
        return [
            AttachedFile(fid, rid, f.name, f.sha256, f.storage_key)
            for fid, rid, agency, f in self.rows
            if agency == agency_code
        ]

    def files_of(self, cycle_id: int, agency_code: str) -> dict[tuple[int, str], list[StoredFile]]:
        found: dict[tuple[int, str], list[StoredFile]] = {}
        for fid, rid, agency, f in self.rows:
            if agency == agency_code:
                stored = StoredFile(fid, rid, agency, f.name, f.kind, f.size, f.sha256)
                found.setdefault((rid, agency), []).append(stored)
        return found

    def add(self, cycle_id: int, recommendation_id: int, agency_code: str, file: NewFile) -> None:
        self.rows.append((len(self.rows) + 1, recommendation_id, agency_code, file))

    def remove(self, file_id: int) -> None:
        self.rows = [row for row in self.rows if row[0] != file_id]


class FakeOutbox:
    """The outbox as use cases read it: what the `FakeNotifier` queued."""

    def __init__(self, notifier: FakeNotifier) -> None:
        self.notifier = notifier

    def queued_keys(self, prefix: str) -> set[str]:
        return {key for key in self.notifier.messages if key.startswith(prefix)}

    def last_reminders(self, cycle_id: int) -> dict[str, datetime]:
        last: dict[str, datetime] = {}
        for m in self.notifier.of_kind("reminder"):
            if m.cycle_id == cycle_id and m.agency_code and m.queued_at:
                last[m.agency_code] = max(m.queued_at, last.get(m.agency_code, m.queued_at))
        return last

    def status_requests_sent(self, cycle_id: int | None) -> dict[tuple[int, str], datetime]:
        """Not modelled: the fake notifier records no sending."""
        raise NotImplementedError

    def make_due(self, key_prefixes: Sequence[str], at: datetime) -> int:
        """Not modelled: the fake notifier has no delivery schedule."""
        raise NotImplementedError

    def withdraw(self, cycle_id: int, kinds: Sequence[str] | None = None) -> int:
        """Not modelled: the fake notifier records no sending, so nothing is known to be unsent."""
        raise NotImplementedError

    def withdraw_unsent(self, cycle_id: int, kind: str, agency_code: str | None = None) -> set[str]:
        """Not modelled: the fake notifier records no sending, so nothing is known to be unsent."""
        raise NotImplementedError


class FakeApiTokens:
    """The API's tokens, which the rule tests never touch: every call says the fakes do not model it."""

    def exists(self, name: str) -> bool:
        """Not modelled: the rule tests issue no API token."""
        raise NotImplementedError

    def add(self, name: str, token_hash: str, *, public_only: bool, created_at: datetime) -> None:
        """Not modelled: the rule tests issue no API token."""
        raise NotImplementedError

    def revoked_at(self, name: str) -> datetime | None:
        """Not modelled: the rule tests issue no API token."""
        raise NotImplementedError

    def revoke(self, name: str, at: datetime) -> None:
        """Not modelled: the rule tests issue no API token."""
        raise NotImplementedError


class FakeStocktakes:
    """The cycles' stock-takes, which the rule tests never read whole."""

    def of_cycle(self, cycle: StockTakeCycle, today: date, language: str = "en") -> StockTake:
        """Not modelled: stock-takes are tested against a real database."""
        raise NotImplementedError


class FakeUnitOfWork:
    """The `UnitOfWork` port in memory: all or nothing, with the history it would have written."""

    def __init__(self, notifier: FakeNotifier | None = None) -> None:
        self.history: list[Transition] = []
        self.ownerships = FakeOwnerships()
        self.agencies = FakeAgencies()
        self.recommendations = FakeRecommendations(self.ownerships, self.agencies)
        self.milestones = FakeMilestones(self.recommendations, self.ownerships)
        self.cycles = FakeCycles(self.history)
        self.updates = FakeUpdates()
        self.cycle_items = FakeCycleItems(self.recommendations, self.ownerships, self.updates)
        self.requests = FakeRequests(self.updates)
        self.outbox = FakeOutbox(notifier or FakeNotifier())
        self.api_tokens = FakeApiTokens()
        self.stocktakes = FakeStocktakes()
        self.evidence = FakeEvidence()
        self.commits = 0
        self._pending: list[Transition] = []
        self._saved: dict[str, Any] | None = None

    # Copied together on entry, so the stores that refer to one another still do after a rollback.
    STORES = (
        "recommendations",
        "ownerships",
        "milestones",
        "agencies",
        "cycles",
        "cycle_items",
        "requests",
        "updates",
    )

    def _stores(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.STORES}

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
        entities = [
            *self.recommendations.items,
            *self.milestones.items,
            *self.cycles.by_name.values(),
            *self.requests.items,
            *self.updates.items,
        ]
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
    cycle_id: int | None = None
    agency_code: str | None = None
    queued_at: datetime | None = field(default=None, compare=False)


class FakeNotifier:
    """Keeps messages in memory; the same key twice is stored once, like the outbox.

    Given a clock, it notes when each message was queued (the outbox's reminder dates).
    """

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.messages: dict[str, Sent] = {}
        self.clock = clock

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
        at = self.clock.now() if self.clock else None
        self.messages[key] = Sent(kind, key, list(to), list(cc), dict(context), cycle_id, agency_code, at)
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
