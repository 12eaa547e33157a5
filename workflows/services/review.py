"""The secretariat's review decisions: accept an answer, accept all of an agency's, return one, asking why.

Also the announcement of returns (once each), which the flows publish as Prefect events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain import review as rules
from domain.answers import RawAnswer, parse_answer, parse_status, statuses
from domain.errors import NotFound, ValidationError
from domain.lifecycle import CycleState, ReviewState, Transition
from domain.model import Channel, StatusUpdate, StockTakeCycle
from domain.ports import Clock, Notifier, UnitOfWork
from workflows.config import SYSTEM, CycleConfig
from workflows.queries.emails import agency_context
from workflows.queries.review import item_order, request_of

RETURNS_ANNOUNCED = "returns_announced"


@dataclass(frozen=True)
class Returned:
    """An answer the secretariat returned to an agency, with its question."""

    cycle: str
    agency: str
    code: str
    question: str


@dataclass(frozen=True)
class Reviewed:
    """What one review decision did."""

    agency_code: str
    code: str
    state: str
    reported_status: str | None
    assessed_status: str | None
    disagrees: bool


def accept(
    uow: UnitOfWork,
    clock: Clock,
    cycle_name: str,
    code: str,
    agency: str,
    *,
    by: str,
    assess: str | None = None,
    why: str = "",
    publish_evidence: bool = False,
) -> Reviewed:
    """Accept a submitted answer, optionally with the secretariat's own status (a rationale if it differs).

    `publish_evidence` makes the answer's evidence files public (private otherwise).
    """
    assessed = None
    if assess is not None and assess.strip():
        assessed = parse_status(assess)
        if assessed is None:
            choices = ", ".join(value for value, _ in statuses())
            raise ValidationError("assess", f"'{assess.strip()[:40]}' is not a status; use one of: {choices}")
    with uow:
        _, update, label = _reviewable(uow, cycle_name, code, agency, returning=False)
        rules.accept(
            update,
            label=label,
            at=clock.now(),
            by=by,
            assess=assessed,
            why=why,
            publish_evidence=publish_evidence,
        )
        uow.commit()
        return _reviewed(update, code)


def accept_all(uow: UnitOfWork, clock: Clock, cycle_name: str, agency: str, *, by: str) -> list[str]:
    """Accept every submitted answer of an agency as reported; returns the codes accepted."""
    with uow:
        cycle = uow.cycles.require(cycle_name)
        request_of(uow, cycle, agency)
        order, codes = item_order(uow, cycle, agency)
        accepted = []
        updates = uow.updates.for_request(cycle.id or 0, agency)
        for update in sorted(updates, key=lambda u: order[u.recommendation_id]):
            if update.state == ReviewState.SUBMITTED:
                code = codes[update.recommendation_id]
                rules.accept(update, label=f"{code} ({agency})", at=clock.now(), by=by)
                accepted.append(code)
        uow.commit()
        return accepted


def return_item(
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    cycle_name: str,
    code: str,
    agency: str,
    *,
    question: str,
    by: str,
) -> Reviewed:
    """Send a submitted answer back to the agency with a question; the agency is told by e-mail."""
    with uow:
        cycle, update, label = _reviewable(uow, cycle_name, code, agency, returning=True)
        rules.send_back(update, label=label, at=clock.now(), by=by, question=question)
        _queue_returned_message(uow, notifier, config, cycle, agency, update)
        uow.commit()
        return _reviewed(update, code)


def answer_for_body(
    uow: UnitOfWork,
    clock: Clock,
    cycle_name: str,
    codes: Sequence[str],
    agency: str,
    *,
    status: str,
    narrative: str,
    by: str,
) -> list[Reviewed]:
    """Record the status of a coordination body's items (the CEB, the HLCP): the secretariat answers them.

    Such bodies get no request; the answers are recorded on the secretariat channel and accepted at
    once, all or none.
    """
    with uow:
        cycle = uow.cycles.require(cycle_name)
        if cycle.state != CycleState.OPEN:
            raise ValidationError(
                "cycle", f"cycle '{cycle.name}' is {cycle.state}: answers can no longer change"
            )
        body = uow.agencies.require(agency)
        if not body.answered_by_secretariat:
            raise ValidationError(
                "agency", f"{agency} answers for itself: its focal points reply through their link"
            )
        done = [
            _answer_as_secretariat(uow, cycle, code, agency, status, narrative, clock.now(), by)
            for code in codes
        ]
        uow.commit()
        return done


def _answer_as_secretariat(
    uow: UnitOfWork,
    cycle: StockTakeCycle,
    code: str,
    agency: str,
    status: str,
    narrative: str,
    now: datetime,
    by: str,
) -> Reviewed:
    rid = _item_id(uow, cycle, agency, code)
    answer, problems = parse_answer(
        RawAnswer(rid, status=status, narrative=narrative), code=code, previous_status=None, complete=True
    )
    if answer is None:
        raise ValidationError(problems[0].field, "; ".join(p.message for p in problems))
    update = uow.updates.get(cycle.id or 0, rid, agency)
    if update is None:
        update = StatusUpdate(cycle_id=cycle.id or 0, recommendation_id=rid, agency_code=agency)
        uow.updates.add(update)
    update.apply(answer, at=now, by=by, channel=Channel.SECRETARIAT, submit=True)
    rules.accept(update, label=f"{code} ({agency})", at=now, by=by)
    return _reviewed(update, code)


def _reviewable(
    uow: UnitOfWork, cycle_name: str, code: str, agency: str, *, returning: bool
) -> tuple[StockTakeCycle, StatusUpdate, str]:
    """The cycle, the answer to review and its label ("A1.1 (IOM)"), or a clear error."""
    cycle = uow.cycles.require(cycle_name)
    if cycle.state not in (CycleState.OPEN, CycleState.CLOSED) or (
        returning and cycle.state != CycleState.OPEN
    ):
        what = "returned to an agency" if returning else "reviewed"
        raise ValidationError(
            "cycle", f"cycle '{cycle.name}' is {cycle.state}: answers can no longer be {what}"
        )
    request_of(uow, cycle, agency)
    rid = _item_id(uow, cycle, agency, code)
    label = f"{code} ({agency})"
    update = uow.updates.get(cycle.id or 0, rid, agency)
    if update is None:
        raise ValidationError("state", f"{label} cannot be reviewed: {agency} has not answered it yet")
    return cycle, update, label


def _reviewed(update: StatusUpdate, code: str) -> Reviewed:
    return Reviewed(
        update.agency_code,
        code,
        update.state,
        update.reported_status,
        update.assessed_status,
        update.disagrees,
    )


def _item_id(uow: UnitOfWork, cycle: StockTakeCycle, agency: str, code: str) -> int:
    for item in uow.cycle_items.for_agency(cycle.id or 0, agency):
        if item.code == code:
            return item.recommendation_id
    raise NotFound(f"'{code}' is not one of {agency}'s items in cycle '{cycle.name}'")


def _queue_returned_message(
    uow: UnitOfWork,
    notifier: Notifier,
    config: CycleConfig,
    cycle: StockTakeCycle,
    agency_code: str,
    update: StatusUpdate,
) -> None:
    """Tell the agency which answers came back, with every open question, and its reply link."""
    request = request_of(uow, cycle, agency_code)
    agency = uow.agencies.require(agency_code)
    order, codes = item_order(uow, cycle, agency_code)
    returned = sorted(
        (u for u in uow.updates.for_request(cycle.id or 0, agency_code) if u.state == ReviewState.RETURNED),
        key=lambda u: order[u.recommendation_id],
    )
    context = {
        **agency_context(cycle, config, agency),
        "reply_url": config.reply_url(cycle.id or 0, agency_code, request.token_nonce),
        "returned": [
            {
                "code": codes[u.recommendation_id],
                "status": u.reported_status,
                "narrative": u.narrative,
                "question": u.reviewer_question,
            }
            for u in returned
        ],
    }
    notifier.enqueue(
        "returned",
        key=f"returned:{cycle.id}:{agency_code}:{update.recommendation_id}:v{update.version}",
        to=agency.recipients(),
        context=context,
        cycle_id=cycle.id,
        agency_code=agency_code,
    )


def announce_returns(uow: UnitOfWork, clock: Clock, cycle_name: str) -> list[Returned]:
    """The returns not announced yet (the flows publish them as events); marks them announced.

    The mark is a history entry naming the last history row announced, so each return is announced
    once however often the flows run (at most once: an event lost after the commit is not resent).
    """
    with uow:
        cycle = uow.cycles.require(cycle_name)
        unannounced = uow.updates.returned_since(cycle, RETURNS_ANNOUNCED)
        if not unannounced:
            return []
        returned = [Returned(cycle.name, agency, code, question) for _, agency, code, question in unannounced]
        uow.record(
            Transition(
                StockTakeCycle.ENTITY,
                cycle.history_key(),
                cycle.state,
                cycle.state,
                clock.now(),
                SYSTEM,
                RETURNS_ANNOUNCED,
                {"through": unannounced[-1][0]},
            )
        )
        uow.commit()
        return returned
