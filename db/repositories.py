"""The repositories: what the use cases read and store, each over the unit of work's session.

The unit of work (`db.unit_of_work`) opens one of each on its session; use cases see them through the
Protocols of `domain.ports`, with only the methods they call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Integer, and_, bindparam, func, insert, literal, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from db import tables
from db.reads import ANSWERED_STATES, answered_counts, item_counts, latest_before
from db.totals import write_requested_total
from domain.answers import AnswerView, last_answer
from domain.errors import NotFound
from domain.launch import Readiness, is_placeholder
from domain.lifecycle import CycleState, MilestoneState, RequestState, ReviewState, Transition
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
from domain.ports import CodeToList, DueMilestone, ItemToAsk, OverdueMilestone

T = TypeVar("T")


def _in_chunks(session: Session, entity: type[T], column: Any, ids: Sequence[int]) -> list[T]:
    """The entities whose `column` is one of `ids`, in chunks (databases cap a query's parameters)."""
    found: list[T] = []
    for start in range(0, len(ids), 5000):
        found += session.scalars(select(entity).where(column.in_(ids[start : start + 5000])))
    return found


def _previous_cycle_id(session: Session, cycle: StockTakeCycle) -> int | None:
    """The cycle before this one, whose answers are shown as last time's."""
    return session.scalar(latest_before(select(tables.cycles.c.id), cycle.id, cycle.launched_at))


class Recommendations:
    """Recommendations by natural key (source report, code)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, rec: Recommendation) -> None:
        self.session.add(rec)

    def get(self, source: str, code: str) -> Recommendation | None:
        return self.session.scalars(select(Recommendation).filter_by(source=source, code=code)).one_or_none()

    def by_code(self, code: str, source: str | None = None) -> Recommendation:
        """The recommendation with `code` (in `source` when several reports share a code)."""
        query = select(Recommendation).filter_by(code=code)
        if source:
            query = query.filter_by(source=source)
        found = list(self.session.scalars(query))
        if not found and source and source not in self.sources():
            raise NotFound(f"no report '{source}' is imported (see `followup catalogue`)")
        if not found:
            raise NotFound(f"no recommendation with code '{code}'" + (f" in '{source}'" if source else ""))
        if len(found) > 1:
            raise NotFound(f"code '{code}' exists in several reports: name the report with --report")
        return found[0]

    def sources(self) -> list[str]:
        """The reports (sources) that have recommendations, in order."""
        r = tables.recommendations
        return list(self.session.scalars(select(r.c.source).distinct().order_by(r.c.source)))

    def launch_readiness(self) -> Readiness:
        """What a launch checks: active items without owner, owning agencies, reachable ones."""
        r, o = tables.recommendations, tables.ownerships
        owned = select(o.c.id).where(o.c.recommendation_id == r.c.id).exists()
        ownerless = self.session.scalars(
            select(r.c.code).where(r.c.state == "active", ~owned).order_by(r.c.source, r.c.position)
        )
        owners = self.session.scalars(
            select(o.c.agency_code)
            .join(r, r.c.id == o.c.recommendation_id)
            .where(r.c.state == "active")
            .distinct()
        )
        contacts = self.session.execute(select(tables.contacts.c.agency_code, tables.contacts.c.email)).all()
        reachable = {code for code, _ in contacts}
        real = {code for code, email in contacts if not is_placeholder(email)}
        return Readiness(list(ownerless), sorted(owners), frozenset(reachable), frozenset(reachable - real))

    def list(self, *, source: str | None = None, active_only: bool = False) -> list[Recommendation]:
        query = select(Recommendation).order_by(
            tables.recommendations.c.source, tables.recommendations.c.position
        )
        if source:
            query = query.filter_by(source=source)
        if active_only:
            query = query.filter_by(state="active")
        return list(self.session.scalars(query))


class Agencies:
    """The agency registry."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, agency: Agency) -> None:
        self.session.add(agency)

    def get(self, code: str) -> Agency | None:
        return self.session.get(Agency, code)

    def require(self, code: str) -> Agency:
        agency = self.get(code)
        if agency is None:
            raise NotFound(f"no agency with code '{code}' (see `followup agencies list`)")
        return agency

    def by_codes(self, codes: Iterable[str]) -> dict[str, Agency]:
        """The agencies with these codes, with their contacts, by code."""
        wanted = set(codes)
        return {
            a.code: a for a in self.session.scalars(select(Agency).where(tables.agencies.c.code.in_(wanted)))
        }

    def list(self) -> list[Agency]:
        return list(self.session.scalars(select(Agency).order_by(tables.agencies.c.code)))


class Ownerships:
    """Who owns which recommendation."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, ownership: Ownership) -> None:
        self.session.add(ownership)

    def for_recommendation(self, recommendation_id: int) -> list[Ownership]:
        return list(
            self.session.scalars(
                select(Ownership)
                .filter_by(recommendation_id=recommendation_id)
                .order_by(tables.ownerships.c.role.desc())
            )
        )

    def add_many(self, ownerships: Iterable[Ownership]) -> None:
        """Store new ownerships in one INSERT (a catalogue's worth; they are not tracked afterwards)."""
        rows = [
            {
                "recommendation_id": o.recommendation_id,
                "agency_code": o.agency_code,
                "role": o.role,
                "reason": o.reason,
            }
            for o in ownerships
        ]
        if rows:
            self.session.execute(insert(tables.ownerships), rows)

    def remove(self, ownership: Ownership) -> None:
        self.session.delete(ownership)

    def for_recommendations(self, ids: Sequence[int]) -> list[Ownership]:
        """The ownerships of these recommendations."""
        return _in_chunks(self.session, Ownership, tables.ownerships.c.recommendation_id, ids)

    def owned_recommendation_ids(self) -> set[int]:
        """The recommendations that have at least one owner."""
        return set(self.session.scalars(select(tables.ownerships.c.recommendation_id).distinct()))

    def list(self) -> list[Ownership]:
        return list(self.session.scalars(select(Ownership)))


class Milestones:
    """Milestones of recommendations."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, milestone: Milestone) -> None:
        self.session.add(milestone)

    def for_recommendation(self, recommendation_id: int) -> list[Milestone]:
        return list(
            self.session.scalars(
                select(Milestone)
                .filter_by(recommendation_id=recommendation_id)
                .order_by(tables.milestones.c.due_date)
            )
        )

    def for_recommendations(self, ids: Sequence[int]) -> list[Milestone]:
        """The milestones of these recommendations."""
        return _in_chunks(self.session, Milestone, tables.milestones.c.recommendation_id, ids)

    def open_for(self, recommendation_ids: Sequence[int], agency_code: str) -> list[Milestone]:
        """The items' milestones still to deliver that this agency reports on (its own, or unassigned)."""
        ms = tables.milestones
        query = (
            select(Milestone)
            .where(
                ms.c.recommendation_id.in_(recommendation_ids),
                ms.c.state.in_(("planned", "overdue")),
                (ms.c.agency_code == agency_code) | ms.c.agency_code.is_(None),
            )
            .order_by(ms.c.due_date, ms.c.id)
        )
        return list(self.session.scalars(query))

    def planned_due_before(self, day: date) -> list[DueMilestone]:
        """The planned milestones due before `day` (rows, not entities: a follow-up may move thousands)."""
        m = tables.milestones.c
        rows = self.session.execute(
            select(m.id, m.recommendation_id, m.title, m.due_date).where(
                m.state == MilestoneState.PLANNED.value, m.due_date < day
            )
        )
        return [DueMilestone(*row) for row in rows]

    def mark_overdue(self, ids: Sequence[int]) -> None:
        """Move these PLANNED milestones to OVERDUE, in one executemany (the caller records the moves)."""
        ms = tables.milestones
        if ids:
            self.session.execute(
                update(ms)
                .where(ms.c.id == bindparam("milestone_id"), ms.c.state == MilestoneState.PLANNED.value)
                .values(state=MilestoneState.OVERDUE.value),
                [{"milestone_id": i} for i in ids],
            )

    def overdue(self) -> list[OverdueMilestone]:
        """Every overdue milestone with its item's code and owner (its agency, else the lead), by date."""
        self.session.flush()  # the moves just made count
        m, r, o = tables.milestones, tables.recommendations, tables.ownerships
        lead = (
            select(o.c.agency_code)
            .where(o.c.recommendation_id == m.c.recommendation_id, o.c.role == "lead")
            .limit(1)
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(m.c.id, r.c.code, m.c.title, m.c.due_date, func.coalesce(m.c.agency_code, lead))
            .join(r, r.c.id == m.c.recommendation_id)
            .where(m.c.state == MilestoneState.OVERDUE.value)
            .order_by(m.c.due_date, r.c.code)
        )
        return [OverdueMilestone(*row) for row in rows]

    def list(self) -> list[Milestone]:
        return list(self.session.scalars(select(Milestone).order_by(tables.milestones.c.due_date)))


class Cycles:
    """Stock-take cycles by name."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, cycle: StockTakeCycle) -> None:
        """Store a new cycle; it has its id from then on."""
        self.session.add(cycle)
        self.session.flush()

    def get(self, name: str) -> StockTakeCycle | None:
        return self.session.scalars(select(StockTakeCycle).filter_by(name=name)).one_or_none()

    def require(self, name: str) -> StockTakeCycle:
        cycle = self.get(name)
        if cycle is None:
            raise NotFound(f"no cycle named '{name}' (see `followup cycle list`)")
        return cycle

    def by_id(self, cycle_id: int) -> StockTakeCycle | None:
        return self.session.get(StockTakeCycle, cycle_id)

    def deadline_moves(self, cycle: StockTakeCycle) -> DeadlineMoves:
        """How often the cycle's deadline moved, and the day it was last extended (`DeadlineMoves.of`).

        Calendar events about the deadline carry the count as their SEQUENCE, so a moved deadline
        updates them.
        """
        h = tables.history
        recorded = self.session.execute(
            select(h.c.at, h.c.data)
            .where(h.c.entity == StockTakeCycle.ENTITY, h.c.key == cycle.history_key())
            .order_by(h.c.id)
        )
        return DeadlineMoves.of((at, data) for at, data in recorded)

    def lock(self, cycle: StockTakeCycle) -> None:
        """Wait for any other transaction changing the cycle (its deadline, its state), then refresh it."""
        query = select(StockTakeCycle).where(tables.cycles.c.id == cycle.id).with_for_update()
        self.session.scalars(query.execution_options(populate_existing=True)).one()

    def list(self) -> list[StockTakeCycle]:
        return list(self.session.scalars(select(StockTakeCycle).order_by(tables.cycles.c.created_at)))


class CycleItems:
    """The cycles' snapshots of items and owners: what each cycle asks of each agency."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def for_agency(self, cycle_id: int, agency_code: str) -> list[CycleItem]:
        """The agency's items in the cycle, in report order."""
        ci, r = tables.cycle_items, tables.recommendations
        rows = self.session.execute(
            select(r.c.id, r.c.code, ci.c.role)
            .join(ci, ci.c.recommendation_id == r.c.id)
            .where(ci.c.cycle_id == cycle_id, ci.c.agency_code == agency_code)
            .order_by(r.c.source, r.c.position)
        )
        return [CycleItem(rid, code, role) for rid, code, role in rows]

    def requested_per_agency(self, cycle_id: int) -> dict[str, int]:
        """Per agency, the items requested of it in the cycle."""
        return item_counts(self.session, cycle_id)

    def answered_per_agency(self, cycle_id: int) -> dict[str, int]:
        """Per agency, the requested items it has answered (submitted or accepted)."""
        return answered_counts(self.session, cycle_id)

    def unanswered_codes(self, cycle_id: int, agency_codes: Sequence[str]) -> dict[str, list[str]]:
        """Per agency, the codes of the items it has not answered yet (one query)."""
        if not agency_codes:
            return {}
        ci, r, su = tables.cycle_items, tables.recommendations, tables.status_updates
        rows = self.session.execute(
            select(ci.c.agency_code, r.c.code)
            .join(r, r.c.id == ci.c.recommendation_id)
            .outerjoin(
                su,
                and_(
                    su.c.cycle_id == ci.c.cycle_id,
                    su.c.recommendation_id == ci.c.recommendation_id,
                    su.c.agency_code == ci.c.agency_code,
                    su.c.state.in_(ANSWERED_STATES),
                ),
            )
            .where(ci.c.cycle_id == cycle_id, ci.c.agency_code.in_(list(agency_codes)), su.c.id.is_(None))
            .order_by(ci.c.agency_code, r.c.source, r.c.position)
        ).all()
        items: dict[str, list[str]] = defaultdict(list)
        for agency_code, code in rows:
            items[agency_code].append(code)
        return items

    def with_recommendations(
        self, cycle_id: int, agency_code: str, *, with_text: bool = True
    ) -> dict[int, dict[str, Any]]:
        """The agency's items (the cycle's snapshot) with their recommendation, by id, in report order."""
        ci, rec = tables.cycle_items, tables.recommendations
        columns = [
            rec.c.id,
            rec.c.code,
            rec.c.kind,
            rec.c.agenda_point,
            rec.c.agenda_title,
            rec.c.theme,
            ci.c.role,
        ]
        rows = self.session.execute(
            select(*columns, *([rec.c.text, rec.c.translations] if with_text else []))
            .join(rec, rec.c.id == ci.c.recommendation_id)
            .where(ci.c.cycle_id == cycle_id, ci.c.agency_code == agency_code)
            .order_by(rec.c.source, rec.c.position)
        ).mappings()
        return {row["id"]: dict(row) for row in rows}

    def with_last_answers(self, cycle: StockTakeCycle, agency_codes: Sequence[str]) -> list[ItemToAsk]:
        """The agencies' items in report order, with what each agency said of them last cycle."""
        ci, r, su = tables.cycle_items, tables.recommendations, tables.status_updates
        previous = _previous_cycle_id(self.session, cycle)
        last = and_(
            su.c.cycle_id == previous,
            su.c.recommendation_id == ci.c.recommendation_id,
            su.c.agency_code == ci.c.agency_code,
            su.c.state != ReviewState.DRAFT.value,
        )
        rows = self.session.execute(
            select(
                ci.c.agency_code,
                ci.c.role,
                r.c.code,
                r.c.kind,
                r.c.agenda_point,
                r.c.agenda_title,
                r.c.text,
                r.c.translations,
                su.c.reported_status,
                su.c.narrative,
                su.c.assessed_status,
                su.c.assessment_rationale,
            )
            .join(r, r.c.id == ci.c.recommendation_id)
            .outerjoin(su, last)
            .where(ci.c.cycle_id == cycle.id, ci.c.agency_code.in_(agency_codes))
            .order_by(ci.c.agency_code, r.c.source, r.c.position)
        ).all()  # one fetch, not one driver call per row (20,000 rows at 10k items)
        return [ItemToAsk._make(row) for row in rows]

    def codes_in_report_order(self, cycle_id: int, agency_codes: Sequence[str]) -> Sequence[CodeToList]:
        """The agencies' item codes in report order, each with its agenda point (for e-mails in parts)."""
        ci, r = tables.cycle_items, tables.recommendations
        return self.session.execute(
            select(ci.c.agency_code, r.c.code, r.c.kind, r.c.agenda_point, r.c.agenda_title)
            .join(r, r.c.id == ci.c.recommendation_id)
            .where(ci.c.cycle_id == cycle_id, ci.c.agency_code.in_(agency_codes))
            .order_by(ci.c.agency_code, r.c.source, r.c.position)
        ).all()

    def snapshot(self, cycle_id: int) -> None:
        """Copy the active items' owners into the cycle with one INSERT ... SELECT, and keep their total."""
        r, o = tables.recommendations, tables.ownerships
        owners_of_active_items = (
            select(literal(cycle_id, Integer), o.c.recommendation_id, o.c.agency_code, o.c.role)
            .join(r, r.c.id == o.c.recommendation_id)
            .where(r.c.state == "active")
        )
        self.session.execute(
            insert(tables.cycle_items).from_select(
                ["cycle_id", "recommendation_id", "agency_code", "role"], owners_of_active_items
            )
        )
        write_requested_total(self.session, cycle_id)
        if self.session.get_bind().dialect.name == "postgresql":
            self._analyze_snapshot()

    def _analyze_snapshot(self) -> None:
        """Refresh PostgreSQL's statistics of the snapshot's table, unless a VACUUM or ANALYZE has it.

        Until autovacuum gets to it (a minute or more; never where it is off), the planner knows
        nothing of the new cycle's parts and joins them by nested loops: the queries just after a
        launch took twice as long (`docs/performance.md`), the sampled ANALYZE a tenth of a second.
        """
        try:
            with self.session.begin_nested():
                # Without waiting: a launch never stalls behind a VACUUM for statistics.
                self.session.execute(text("LOCK TABLE cycle_items IN SHARE UPDATE EXCLUSIVE MODE NOWAIT"))
                self.session.execute(text("ANALYZE cycle_items"))
        except OperationalError as error:
            from psycopg2.errors import LockNotAvailable  # here: SQLite never loads the driver

            # Taken by a VACUUM or ANALYZE, which refreshes them; anything else is a real failure.
            if not isinstance(error.orig, LockNotAvailable):
                raise


class Requests:
    """Consolidated status requests (one per cycle and agency)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, request: StatusRequest) -> None:
        self.session.add(request)

    def get(self, cycle_id: int, agency_code: str) -> StatusRequest | None:
        return self.session.scalars(
            select(StatusRequest).filter_by(cycle_id=cycle_id, agency_code=agency_code)
        ).one_or_none()

    def by_token_hash(self, token_hash: str) -> StatusRequest | None:
        return self.session.scalars(select(StatusRequest).filter_by(token_hash=token_hash)).one_or_none()

    def for_cycle(self, cycle_id: int) -> list[StatusRequest]:
        return list(
            self.session.scalars(
                select(StatusRequest)
                .filter_by(cycle_id=cycle_id)
                .order_by(tables.status_requests.c.agency_code)
            )
        )

    def locked_for_cycle(self, cycle_id: int) -> list[StatusRequest]:
        """The cycle's requests, locked for this transaction and refreshed from the database."""
        sr = tables.status_requests
        query = (
            select(StatusRequest)
            .where(sr.c.cycle_id == cycle_id)
            .order_by(sr.c.agency_code)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(self.session.scalars(query))

    def lock(self, request: StatusRequest) -> None:
        """Wait for any other transaction saving this request, then refresh it.

        A write that changes nothing locks the row on PostgreSQL and takes SQLite's write lock
        before anything is read.
        """
        sr = tables.status_requests
        self.session.execute(update(sr).where(sr.c.id == request.id).values(state=sr.c.state))
        self.session.refresh(request)

    def reply_versions(self, cycle_id: int) -> dict[str, tuple[int, int | None]]:
        """Per agency that has answered: (its reply version, the version last announced).

        A reply's version is the sum of its answers' versions: it grows with every answer saved, so an
        answer given again (after a question, or a correction) makes a new version.
        """
        u, sr = tables.status_updates, tables.status_requests
        version = (
            select(func.sum(u.c.version))
            .where(
                u.c.cycle_id == sr.c.cycle_id,
                u.c.agency_code == sr.c.agency_code,
                u.c.state != ReviewState.DRAFT.value,
            )
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(sr.c.agency_code, version.label("version"), sr.c.reply_announced_version).where(
                sr.c.cycle_id == cycle_id
            )
        )
        return {
            row.agency_code: (int(row.version), row.reply_announced_version) for row in rows if row.version
        }

    def mark_reply_announced(self, cycle_id: int, agency_code: str, version: int) -> None:
        """Note that the agency's reply was announced up to `version`."""
        sr = tables.status_requests
        self.session.execute(
            update(sr)
            .where(sr.c.cycle_id == cycle_id, sr.c.agency_code == agency_code)
            .values(reply_announced_version=version)
        )


class Updates:
    """Status updates (one per cycle, recommendation and agency)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, update: StatusUpdate) -> None:
        self.session.add(update)

    def get(self, cycle_id: int, recommendation_id: int, agency_code: str) -> StatusUpdate | None:
        return self.session.scalars(
            select(StatusUpdate).filter_by(
                cycle_id=cycle_id, recommendation_id=recommendation_id, agency_code=agency_code
            )
        ).one_or_none()

    def for_request(
        self, cycle_id: int, agency_code: str, *, recommendation_ids: Iterable[int] | None = None
    ) -> list[StatusUpdate]:
        """An agency's updates in a cycle, or only those of the given recommendations."""
        query = select(StatusUpdate).filter_by(cycle_id=cycle_id, agency_code=agency_code)
        if recommendation_ids is not None:
            query = query.where(tables.status_updates.c.recommendation_id.in_(list(recommendation_ids)))
        return list(self.session.scalars(query))

    def for_cycle(self, cycle_id: int) -> list[StatusUpdate]:
        return list(self.session.scalars(select(StatusUpdate).filter_by(cycle_id=cycle_id)))

    def last_cycle_answers(
        self, cycle: StockTakeCycle, agency_code: str, recommendation_ids: Iterable[int] | None = None
    ) -> dict[int, tuple[AnswerView, str]]:
        """Per recommendation (all, or those given), what the agency submitted last cycle, and its name."""
        previous = _previous_cycle_id(self.session, cycle)
        if previous is None:
            return {}
        su, cy = tables.status_updates, tables.cycles
        query = (
            select(
                su.c.recommendation_id,
                su.c.reported_status,
                su.c.assessed_status,
                su.c.narrative,
                su.c.assessment_rationale,
                cy.c.name,
            )
            .join(cy, cy.c.id == su.c.cycle_id)
            .where(
                su.c.cycle_id == previous,
                su.c.agency_code == agency_code,
                su.c.state != ReviewState.DRAFT.value,
                su.c.reported_status.is_not(None),
            )
        )
        if recommendation_ids is not None:
            query = query.where(su.c.recommendation_id.in_(list(recommendation_ids)))
        rows = self.session.execute(query)
        return {rid: (last_answer(*answer), name) for rid, *answer, name in rows}

    def returned_since(self, cycle: StockTakeCycle, mark: str) -> list[tuple[int, str, str, str]]:
        """Answers returned since the cycle's last `mark` entry: (history id, agency, code, question)."""
        h = tables.history
        marks = self.session.execute(
            select(h.c.data)
            .where(h.c.entity == StockTakeCycle.ENTITY, h.c.key == cycle.history_key(), h.c.why == mark)
            .order_by(h.c.id.desc())
            .limit(1)
        ).scalar()
        through = int((marks or {}).get("through", 0))
        rows = self.session.execute(
            select(h.c.id, h.c.key, h.c.why)
            .where(
                h.c.id > through,
                h.c.entity == StatusUpdate.ENTITY,
                h.c.to_state == ReviewState.RETURNED.value,
                h.c.key.startswith(f"{cycle.id}:"),
            )
            .order_by(h.c.id)
        ).all()
        r = tables.recommendations
        rids = {int(row.key.split(":")[1]) for row in rows}
        codes = (
            dict(self.session.execute(select(r.c.id, r.c.code).where(r.c.id.in_(rids))).all()) if rows else {}
        )
        found = []
        for row in rows:
            _, rid, agency = row.key.split(":", 2)
            found.append((row.id, agency, codes[int(rid)], row.why))
        return found


class History:
    """The append-only history: written on commit, read in order."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, events: Iterable[Transition]) -> int:
        """Insert the entries; how many."""
        entries = list(events)
        if not entries:
            return 0
        self.session.execute(
            insert(tables.history),
            [
                {
                    "entity": e.entity,
                    "key": e.key,
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "at": e.at,
                    "by": e.by,
                    "why": e.why,
                    "data": dict(e.data),
                }
                for e in entries
            ],
        )
        return len(entries)

    def for_key(self, entity: str, key: str) -> Sequence[Any]:
        return self.session.execute(
            select(tables.history)
            .where(tables.history.c.entity == entity, tables.history.c.key == key)
            .order_by(tables.history.c.id)
        ).all()


class ApiTokens:
    """The API's read tokens, by name (each stored only as its SHA-256)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def exists(self, name: str) -> bool:
        """Whether a token was ever issued under `name` (revoked ones included)."""
        t = tables.api_tokens.c
        return self.session.scalar(select(t.id).where(t.name == name)) is not None

    def add(self, name: str, token_hash: str, *, public_only: bool, created_at: datetime) -> None:
        self.session.execute(
            insert(tables.api_tokens).values(
                name=name, token_hash=token_hash, public_only=public_only, created_at=created_at
            )
        )

    def revoked_at(self, name: str) -> datetime | None:
        """When the token called `name` was revoked (None: it still works); NotFound if there is none."""
        t = tables.api_tokens.c
        found = self.session.execute(select(t.revoked_at).where(t.name == name)).first()
        if found is None:
            raise NotFound(f"no API token called '{name}' (see `followup api-token list`)")
        return found[0]

    def revoke(self, name: str, at: datetime) -> None:
        t = tables.api_tokens.c
        self.session.execute(update(tables.api_tokens).where(t.name == name).values(revoked_at=at))


# How the dispatcher marks a message whose sending was cut short (`notifications.outbox`): it may
# have arrived, so nothing sends it again by itself.
DELIVERY_UNKNOWN = "delivery unknown"


class Outbox:
    """What the outbox holds, as use cases ask it (queueing and sending are `notifications.outbox`'s)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def queued_keys(self, prefix: str) -> set[str]:
        """The idempotency keys that start with `prefix` (what was queued already)."""
        ob = tables.outbox
        return set(
            self.session.scalars(select(ob.c.idempotency_key).where(ob.c.idempotency_key.startswith(prefix)))
        )

    def last_reminders(self, cycle_id: int) -> dict[str, datetime]:
        """When each agency was last reminded in the cycle (sent, or queued while not sent yet)."""
        ob = tables.outbox
        rows = self.session.execute(
            select(ob.c.agency_code, func.max(func.coalesce(ob.c.sent_at, ob.c.created_at)))
            .where(ob.c.cycle_id == cycle_id, ob.c.kind == "reminder")
            .group_by(ob.c.agency_code)
        )
        return {code: at for code, at in rows if code}

    def status_requests_sent(self, cycle_id: int | None) -> dict[tuple[int, str], datetime]:
        """When the status request of each pending request (of one open cycle, or all) last left."""
        ob, sr, c = tables.outbox, tables.status_requests, tables.cycles
        rows = self.session.execute(
            select(ob.c.cycle_id, ob.c.agency_code, func.max(ob.c.sent_at))
            .join(sr, and_(sr.c.cycle_id == ob.c.cycle_id, sr.c.agency_code == ob.c.agency_code))
            .join(c, c.c.id == sr.c.cycle_id)
            .where(
                ob.c.kind == "status-request",
                ob.c.sent_at.is_not(None),
                sr.c.state == RequestState.PENDING.value,
                c.c.state == CycleState.OPEN.value,
                *([sr.c.cycle_id == cycle_id] if cycle_id is not None else []),
            )
            .group_by(ob.c.cycle_id, ob.c.agency_code)
        )
        return {(cycle, agency): sent_at for cycle, agency, sent_at in rows}

    def withdraw(self, cycle_id: int, kinds: Sequence[str] | None = None) -> int:
        """Withdraw the cycle's messages (of these kinds) not sent: queued, or given up and retryable."""
        ob = tables.outbox
        of_kinds = [ob.c.kind.in_(kinds)] if kinds is not None else []
        result = self.session.execute(
            update(ob)
            .where(ob.c.cycle_id == cycle_id, ob.c.state.in_(("queued", "failed")), *of_kinds)
            .values(state="withdrawn", next_attempt_at=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def withdraw_unsent(self, cycle_id: int, kind: str, agency_code: str | None = None) -> set[str]:
        """Withdraw the cycle's messages of `kind` (to one agency, if given) that have not left: queued,
        or given up on (not those whose delivery is unknown); their keys."""
        ob = tables.outbox
        unsent = (ob.c.state == "queued") | (
            (ob.c.state == "failed")
            & (ob.c.last_error.is_(None) | ~ob.c.last_error.startswith(DELIVERY_UNKNOWN, autoescape=True))
        )
        # One statement: a message a dispatcher claims meanwhile is `sending`, left alone and not returned.
        withdrawn = self.session.execute(
            update(ob)
            .where(ob.c.cycle_id == cycle_id, ob.c.kind == kind, unsent)
            .where(*([ob.c.agency_code == agency_code] if agency_code else []))
            .values(state="withdrawn", next_attempt_at=None)
            .returning(ob.c.idempotency_key)
        )
        return {key for (key,) in withdrawn}

    def make_due(self, key_prefixes: Sequence[str], at: datetime) -> int:
        """Make the queued messages whose key starts with one of `key_prefixes` due at `at`; how many."""
        ob = tables.outbox
        count = 0
        for prefix in key_prefixes:
            result = self.session.execute(
                update(ob)
                .where(ob.c.state == "queued", ob.c.idempotency_key.startswith(prefix, autoescape=True))
                .values(next_attempt_at=at)
            )
            count += result.rowcount  # type: ignore[attr-defined]
        return count
