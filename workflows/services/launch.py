"""Launching a cycle: snapshot items and owners, one request per agency, one queued message each.

Also the moves around the launch's messages: requests marked sent once their message left, and a
retried send made due at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.launch import check_new_cycle, check_rerun
from domain.lifecycle import CycleState, RequestState
from domain.model import StatusRequest, StockTakeCycle
from domain.ports import Clock, Notifier, UnitOfWork
from domain.tokens import hash_token, new_nonce
from workflows.config import SYSTEM, CycleConfig
from workflows.queries.emails import bodies_of, items_to_list, status_request_context, status_request_key


@dataclass(frozen=True)
class LaunchResult:
    """What launching did: the cycle, the agencies asked, the messages newly queued."""

    cycle_id: int
    cycle_name: str
    created: bool
    agencies: list[str]
    item_count: int
    enqueued: int


def launch_cycle(
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    *,
    name: str,
    deadline: date,
    hlcp_session: str | None = None,
    allow_unowned: bool = False,
    allow_placeholders: bool = False,
    by: str = "secretariat",
) -> LaunchResult:
    """Open a cycle: snapshot items and owners, one request per agency, one queued message each.

    Launching a cycle that already exists (same name and deadline) only queues what is not queued yet.
    """
    name = name.strip()
    with uow:
        cycle = _check_launch(uow, clock.today(), name, deadline, allow_unowned, allow_placeholders)
        created = cycle is None
        if cycle is None:
            cycle, counts = _open_new_cycle(uow, clock, config, name, deadline, hlcp_session, by)
        else:  # a re-run: the snapshot is the one its first launch took
            assert cycle.id is not None
            counts = uow.cycle_items.requested_per_agency(cycle.id)
        assert cycle.id is not None
        enqueued = _enqueue_status_requests(uow, notifier, cycle, config)
        uow.commit()
    return LaunchResult(cycle.id, cycle.name, created, sorted(counts), sum(counts.values()), enqueued)


def validate_launch(
    uow: UnitOfWork,
    clock: Clock,
    *,
    name: str,
    deadline: date,
    allow_unowned: bool = False,
    allow_placeholders: bool = False,
) -> bool:
    """Check a launch before starting it (cheap, no Prefect); True when the cycle already exists."""
    with uow:
        checked = _check_launch(uow, clock.today(), name.strip(), deadline, allow_unowned, allow_placeholders)
        return checked is not None


def _check_launch(
    uow: UnitOfWork,
    today: date,
    name: str,
    deadline: date,
    allow_unowned: bool,
    allow_placeholders: bool,
) -> StockTakeCycle | None:
    """The existing cycle of that name (a re-run), or None after checking a new one may open."""
    existing = uow.cycles.get(name) if name else None
    if existing is not None:
        check_rerun(existing, deadline)
        return existing
    check_new_cycle(
        name,
        deadline,
        today,
        uow.recommendations.launch_readiness(),
        allow_unowned=allow_unowned,
        allow_placeholders=allow_placeholders,
        other_names=[cycle.name for cycle in uow.cycles.list()],
    )
    return None


def _open_new_cycle(
    uow: UnitOfWork,
    clock: Clock,
    config: CycleConfig,
    name: str,
    deadline: date,
    hlcp_session: str | None,
    by: str,
) -> tuple[StockTakeCycle, dict[str, int]]:
    """The new cycle with its snapshot and one request per agency asked; the items asked per agency."""
    now = clock.now()
    cycle = StockTakeCycle(name=name, deadline=deadline, hlcp_session=hlcp_session, created_at=now)
    cycle.transition(CycleState.OPEN, at=now, by=by, why="cycle launched", deadline=deadline.isoformat())
    cycle.launched_at = now
    uow.cycles.add(cycle)
    assert cycle.id is not None
    uow.cycle_items.snapshot(cycle.id)
    counts = uow.cycle_items.requested_per_agency(cycle.id)
    bodies = uow.agencies.by_codes(counts)
    for agency_code, item_count in sorted(counts.items()):
        body = bodies[agency_code]
        if body.answered_by_secretariat:
            continue  # the secretariat answers for the CEB and the HLCP: nothing to ask, no one to chase
        nonce = new_nonce()
        uow.requests.add(
            StatusRequest(
                cycle_id=cycle.id,
                agency_code=agency_code,
                item_count=item_count,
                token_nonce=nonce,
                token_hash=hash_token(config.reply_token(cycle.id, agency_code, nonce)),
                # Who answers for it in this cycle (the GMG's chair of the day, from the registry).
                answered_through=body.through,
            )
        )
    return cycle, counts


def _enqueue_status_requests(
    uow: UnitOfWork, notifier: Notifier, cycle: StockTakeCycle, config: CycleConfig
) -> int:
    assert cycle.id is not None
    queued = uow.outbox.queued_keys(f"status-request:{cycle.id}:")
    todo = [
        r
        for r in uow.requests.for_cycle(cycle.id)
        if r.state == RequestState.PENDING and status_request_key(r) not in queued
    ]
    return enqueue_status_requests(uow, notifier, cycle, config, todo) if todo else 0


def enqueue_status_requests(
    uow: UnitOfWork,
    notifier: Notifier,
    cycle: StockTakeCycle,
    config: CycleConfig,
    requests: Sequence[StatusRequest],
    moves: int | None = None,
) -> int:
    """Queue each request's e-mail to whoever answers for its body (itself, or its chair in this
    cycle), in their language; how many were newly queued (the launch's, a re-issued link's, and
    one written again for a deadline moved `moves` times, before the move is stored)."""
    bodies = bodies_of(uow.agencies, requests)
    languages = {code: (through or agency).reply_language.value for code, (agency, through) in bodies.items()}
    items = items_to_list(uow.cycle_items, cycle, requests, languages, config)
    enqueued = 0
    moves = uow.cycles.deadline_moves(cycle).times if moves is None else moves
    for request in requests:
        agency, through = bodies[request.agency_code]
        enqueued += notifier.enqueue(
            "status-request",
            key=status_request_key(request, moves),
            to=(through or agency).recipients(),
            context=status_request_context(
                cycle, config, agency, request, items.get(agency.code, []), through, moves=moves
            ),
            cycle_id=cycle.id,
            agency_code=agency.code,
        )
    return enqueued


def mark_requests_sent(uow: UnitOfWork, clock: Clock, cycle_id: int | None = None) -> list[str]:
    """Move to SENT the pending requests (of one cycle, or of every open one) whose message has left."""
    with uow:
        sent_at = uow.outbox.status_requests_sent(cycle_id)
        moved = []
        for cycle_of in sorted({cycle for cycle, _ in sent_at}):
            for request in uow.requests.locked_for_cycle(cycle_of):
                key = (cycle_of, request.agency_code)
                # Re-checked under the lock: a concurrent run may have moved it meanwhile.
                if key in sent_at and request.state == RequestState.PENDING:
                    request.transition(
                        RequestState.SENT, at=clock.now(), by=SYSTEM, why="status request sent"
                    )
                    request.sent_at = sent_at[key]
                    moved.append(request.agency_code)
        uow.commit()
    return moved


def make_queued_messages_due(uow: UnitOfWork, clock: Clock, key_prefixes: Sequence[str]) -> int:
    """Make this run's queued messages due now, cutting the outbox's own backoff short.

    Used when Prefect retries a sending task: its retry delay already was the wait.
    """
    with uow:
        count = uow.outbox.make_due(key_prefixes, clock.now())
        uow.commit()
    return count
