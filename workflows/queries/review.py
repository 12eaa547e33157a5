"""Read models of the review: the queue, a request's thread, a recommendation's rolled-up status.

Plain SQL over the tables and the history; nothing here changes state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.answers import parse_status
from domain.errors import NotFound
from domain.lifecycle import LATE_REQUEST_STATES, RequestState, ReviewState
from domain.model import Channel, OwnerRole, StatusRequest, StatusUpdate, StockTakeCycle
from domain.policies import PartsTally
from domain.ports import UnitOfWork
from domain.stocktake import REPORTED_STATES
from notifications.senders import as_utc
from workflows.config import SYSTEM

NOT_ANSWERED = "not answered"
# The review states in the order a queue's counts are shown, then items nobody has answered yet.
COUNTED_STATES = (*(s.value for s in ReviewState), NOT_ANSWERED)
# Messages that belong in a request's thread, and what each one means there.
THREAD_MESSAGES = {
    "status-request": "sent",
    "reminder": "reminded",
    "deadline-extended": "told of a later deadline",
    "escalation": "escalated",
    "cycle-cancelled": "told the cycle is cancelled",
}


@dataclass(frozen=True)
class QueueItem:
    """A submitted answer waiting for the secretariat."""

    agency_code: str
    code: str
    recommendation_id: int
    role: str
    status: str
    narrative: str
    obstacle: str
    submitted_at: datetime | None
    channel: str | None
    version: int


@dataclass(frozen=True)
class ReviewQueue:
    """The answers waiting for review, and how many items are in each review state."""

    cycle_name: str
    agency_code: str | None
    items: list[QueueItem]
    counts: dict[str, int]


@dataclass(frozen=True)
class ThreadEntry:
    """One step of the exchange between the secretariat and an agency about one request."""

    at: datetime
    what: str
    channel: str
    by: str
    item: str = ""
    detail: str = ""


@dataclass(frozen=True)
class RollUpPart:
    """One owner's part of a recommendation: what it reported, what the secretariat assessed."""

    agency_code: str
    role: str
    state: str | None
    reported_status: str | None
    assessed_status: str | None

    @property
    def counted_status(self) -> str | None:
        """What the roll-up counts: the assessed status if any, else the reported one (drafts: nothing)."""
        if self.state not in REPORTED_STATES:
            return None
        return self.assessed_status or self.reported_status


@dataclass(frozen=True)
class RollUp:
    """A recommendation's status in a cycle, rolled up from its owners' parts."""

    code: str
    status: str | None
    parts: list[RollUpPart]


def review_queue(uow: SqlUnitOfWork, cycle_name: str, agency: str | None = None) -> ReviewQueue:
    """The submitted answers waiting for review (in report order) and the count of items per state."""
    su, r, ci = tables.status_updates, tables.recommendations, tables.cycle_items
    with uow:
        cycle = uow.cycles.require(cycle_name)
        name = cycle.name
        if agency is not None:
            request_of(uow, cycle, agency)
        mine = [ci.c.cycle_id == cycle.id, *([ci.c.agency_code == agency] if agency else [])]
        rows = uow.session.execute(
            select(
                su.c.agency_code,
                r.c.code,
                r.c.id,
                ci.c.role,
                su.c.reported_status,
                su.c.narrative,
                su.c.obstacle,
                su.c.reported_at,
                su.c.channel,
                su.c.version,
            )
            .select_from(ci)
            .join(r, r.c.id == ci.c.recommendation_id)
            .join(su, update_of(ci))
            .where(*mine, su.c.state == ReviewState.SUBMITTED.value)
            .order_by(su.c.agency_code, r.c.source, r.c.position)
        ).all()
        by_state: dict[str, int] = {
            state or NOT_ANSWERED: n
            for state, n in uow.session.execute(
                select(su.c.state, func.count())
                .select_from(ci)
                .outerjoin(su, update_of(ci))
                .where(*mine)
                .group_by(su.c.state)
            ).all()
        }
    items = [
        QueueItem(
            row.agency_code,
            row.code,
            row.id,
            row.role,
            row.reported_status or "",
            row.narrative,
            row.obstacle,
            as_utc(row.reported_at) if row.reported_at else None,
            row.channel,
            row.version,
        )
        for row in rows
    ]
    return ReviewQueue(name, agency, items, {state: by_state.get(state, 0) for state in COUNTED_STATES})


def queue_size(uow: SqlUnitOfWork, cycle_name: str) -> int:
    """How many submitted answers of the cycle wait for the secretariat."""
    su = tables.status_updates
    with uow:
        cycle = uow.cycles.require(cycle_name)
        return int(
            uow.session.scalar(
                select(func.count()).where(
                    su.c.cycle_id == cycle.id, su.c.state == ReviewState.SUBMITTED.value
                )
            )
            or 0
        )


def update_of(ci: Any) -> Any:
    """Join condition: the status update of a cycle item."""
    su = tables.status_updates
    return and_(
        su.c.cycle_id == ci.c.cycle_id,
        su.c.recommendation_id == ci.c.recommendation_id,
        su.c.agency_code == ci.c.agency_code,
    )


def request_of(uow: UnitOfWork, cycle: StockTakeCycle, agency: str) -> StatusRequest:
    """The agency's request in the cycle, or NotFound naming both."""
    request = uow.requests.get(cycle.id or 0, agency)
    if request is None:
        raise NotFound(f"cycle '{cycle.name}' has no status request for agency '{agency}'")
    return request


def item_order(uow: UnitOfWork, cycle: StockTakeCycle, agency: str) -> tuple[dict[int, int], dict[int, str]]:
    """The agency's items in the cycle: report order and code per recommendation id."""
    items = uow.cycle_items.for_agency(cycle.id or 0, agency)
    return {i.recommendation_id: n for n, i in enumerate(items)}, {i.recommendation_id: i.code for i in items}


def request_thread(uow: SqlUnitOfWork, cycle_name: str, agency: str) -> list[ThreadEntry]:
    """The whole exchange about one agency's request, oldest first, from the outbox and the history."""
    ob, h, su = tables.outbox, tables.history, tables.status_updates
    with uow:
        cycle = uow.cycles.require(cycle_name)
        request = request_of(uow, cycle, agency)
        order, codes = item_order(uow, cycle, agency)
        entries: list[ThreadEntry] = []
        messages = uow.session.execute(
            select(ob.c.kind, ob.c.recipients, ob.c.created_at, ob.c.sent_at, ob.c.state)
            .where(
                ob.c.cycle_id == cycle.id, ob.c.agency_code == agency, ob.c.kind.in_(list(THREAD_MESSAGES))
            )
            .order_by(ob.c.id)
        ).all()
        for kind, recipients, created_at, sent_at, state in messages:
            unsent = " (withdrawn, never sent)" if state == "withdrawn" else " (queued, not sent yet)"
            detail = f"to {', '.join(recipients)}" + ("" if sent_at else unsent)
            entries.append(
                ThreadEntry(
                    as_utc(sent_at or created_at), THREAD_MESSAGES[kind], "e-mail", "secretariat", "", detail
                )
            )
        rids = list(
            uow.session.scalars(
                select(su.c.recommendation_id).where(su.c.cycle_id == cycle.id, su.c.agency_code == agency)
            )
        )
        keys = {f"{cycle.id}:{rid}:{agency}": rid for rid in rids}
        rows = uow.session.execute(
            select(h.c.entity, h.c.key, h.c.from_state, h.c.to_state, h.c.at, h.c.by, h.c.why, h.c.data)
            .where(
                ((h.c.entity == StatusUpdate.ENTITY) & h.c.key.in_(list(keys)))
                | ((h.c.entity == StatusRequest.ENTITY) & (h.c.key == request.history_key()))
            )
            .order_by(h.c.id)
        ).all()
        returned: set[str] = set()
        for row in rows:
            if row.entity == StatusRequest.ENTITY:
                entry = _request_entry(row)
            else:
                entry = _answer_entry(row, codes[keys[row.key]], returned)
            if entry is not None:
                entries.append(entry)
    # Steps of one kind at one moment (a bulk accept) were recorded in no particular order: list
    # them in report order, each batch where its first step was recorded.
    position = {codes[rid]: n for rid, n in order.items()}
    batch: dict[tuple[datetime, str], int] = {}
    for entry in entries:
        batch.setdefault((entry.at, entry.what), len(batch))
    return sorted(entries, key=lambda e: (e.at, batch[e.at, e.what], position.get(e.item, -1)))


def _request_entry(row: Any) -> ThreadEntry | None:
    """A request-level step worth showing: overdue, on time again, link re-issued or revoked, closed."""
    action = (row.data or {}).get("action")
    if action in ("token_reissued", "token_revoked"):
        return ThreadEntry(
            as_utc(row.at),
            "link re-issued" if action == "token_reissued" else "link revoked",
            Channel.SECRETARIAT.value,
            row.by,
            "",
            row.why,
        )
    if (
        row.to_state in (RequestState.OVERDUE.value, RequestState.CLOSED.value)
        and row.from_state != row.to_state
    ):
        # Whoever moved it: the daily follow-up marks a request overdue, the secretariat closes or cancels.
        channel = SYSTEM if row.by == SYSTEM else Channel.SECRETARIAT.value
        return ThreadEntry(as_utc(row.at), row.to_state, channel, row.by, "", row.why)
    if row.to_state == RequestState.SENT.value and row.from_state in LATE_REQUEST_STATES:
        return ThreadEntry(as_utc(row.at), "on time again", Channel.SECRETARIAT.value, row.by, "", row.why)
    return None


def _answer_entry(row: Any, code: str, returned: set[str]) -> ThreadEntry | None:
    """An item-level step: answered (each submitted version), returned, re-answered, accepted."""
    data = row.data or {}
    at = as_utc(row.at)
    if row.to_state == ReviewState.SUBMITTED.value and "version" in data:
        what = "re-answered" if code in returned else "answered"
        returned.discard(code)
        detail = f"v{data['version']}: {_label(data['status'])}" + (
            f". {data['narrative']}" if data["narrative"] else ""
        )
        return ThreadEntry(at, what, data.get("channel") or "", row.by, code, detail)
    if row.to_state == ReviewState.RETURNED.value:
        returned.add(code)
        return ThreadEntry(at, "returned", Channel.SECRETARIAT.value, row.by, code, row.why)
    if row.to_state == ReviewState.ACCEPTED.value:
        assessed = data.get("assessed_status")
        detail = "as reported"
        if assessed:
            detail = f"assessed {_label(assessed)}" + (
                ""
                if assessed == data.get("reported_status")
                else f" (agency: {_label(data.get('reported_status'))})"
            )
            if row.why and row.why != "answer accepted":
                detail += f": {row.why}"
        return ThreadEntry(at, "accepted", Channel.SECRETARIAT.value, row.by, code, detail)
    return None


def _label(status: str | None) -> str:
    parsed = parse_status(status or "")
    return parsed.label if parsed else "not reported"


def rolled_up_status(uow: SqlUnitOfWork, cycle_name: str, code: str) -> RollUp:
    """A recommendation's status in a cycle with its owners' parts, as Table 1 counts it (the roll-up,
    and none while its lead has not answered: `PartsTally.reported_status`)."""
    ci, r, su = tables.cycle_items, tables.recommendations, tables.status_updates
    with uow:
        cycle = uow.cycles.require(cycle_name)
        rows = uow.session.execute(
            select(ci.c.agency_code, ci.c.role, su.c.state, su.c.reported_status, su.c.assessed_status)
            .join(r, r.c.id == ci.c.recommendation_id)
            .outerjoin(su, update_of(ci))
            .where(ci.c.cycle_id == cycle.id, r.c.code == code)
            .order_by(ci.c.role != OwnerRole.LEAD.value, ci.c.agency_code)
        ).all()
    if not rows:
        raise NotFound(f"'{code}' is not an item of cycle '{cycle_name}'")
    parts = [RollUpPart(*row) for row in rows]
    status = PartsTally.of([(p.role, p.counted_status) for p in parts]).reported_status
    return RollUp(code, status.value if status else None, parts)


def counts_line(counts: dict[str, int]) -> str:
    """The counts per review state as one line ("3 submitted, 1 returned, ...")."""
    return ", ".join(f"{n} {state}" for state, n in counts.items())
