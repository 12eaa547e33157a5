"""Agency replies: open a request by its secure link, show its items, save drafts, submit answers.

The portal and the spreadsheet import both go through `record_answers`, so the same validation,
the same optimistic concurrency (each item carries the version it was loaded with) and the same
history apply whatever the channel. The rules themselves (parsing, validation, locks, what a save
does with each item) are in `domain.answers`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.answers import (
    UNKNOWN_LINK,
    AnswerProblem,
    Conflict,
    InvalidAnswers,
    RawAnswer,
    ensure_link_open,
    judge_answer,
    lock_reason,
    raw_of,
)
from domain.errors import InvalidTransition, NotFound, ValidationError
from domain.evidence import StoredFile
from domain.language import N_, Message
from domain.lifecycle import CycleState, MilestoneState, ReviewState
from domain.model import (
    Answer,
    Channel,
    MilestoneOutcome,
    MilestoneReport,
    StatusRequest,
    StatusUpdate,
    StockTakeCycle,
)
from domain.ports import Clock, Notifier, UnitOfWork
from domain.tokens import hash_token, new_nonce
from workflows.config import CycleConfig
from workflows.queries.emails import agency_context
from workflows.queries.review import request_of
from workflows.services.evidence import EvidenceChanges, EvidenceStore, attach, staged
from workflows.services.launch import enqueue_status_requests


@dataclass(frozen=True)
class SaveResult:
    """What a save or submission did."""

    saved: tuple[str, ...]
    conflicts: tuple[Conflict, ...]
    submitted: bool
    answered_at: datetime | None
    recorded: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def save_reply(
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    token: str,
    answers: Sequence[RawAnswer],
    *,
    submit: bool,
    grace_days: int,
    evidence: EvidenceChanges | None = None,
    store: EvidenceStore | None = None,
) -> SaveResult:
    """Save the portal's answers as a draft, or submit them; conflicting items are left alone.

    `evidence`: files to attach to answers and files to remove, kept in `store`, all in the same
    transaction (a problem with a file refuses the whole save, as a problem with an answer does).
    """
    with uow, staged(store, evidence) as files:
        request, cycle = _request_for_token(uow, clock, token, grace_days)
        problems = []
        if files is not None:
            uow.requests.lock(request)  # before the files are counted, as record_answers does
            problems = attach(uow, clock, request, cycle, files)
        try:
            result = record_answers(
                uow,
                notifier,
                clock,
                config,
                request,
                cycle,
                answers,
                submit=submit,
                channel=Channel.PORTAL,
            )
        except InvalidAnswers as exc:
            raise InvalidAnswers([*problems, *exc.problems]) from None
        if problems:
            raise InvalidAnswers(problems)
        if files is not None:
            files.commit(uow)
        else:
            uow.commit()
        return result


def record_answers(
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    request: StatusRequest,
    cycle: StockTakeCycle,
    answers: Sequence[RawAnswer],
    *,
    submit: bool,
    channel: Channel,
    partial: bool = False,
) -> SaveResult:
    """Validate every answer (raising InvalidAnswers with all problems), then store the unconflicted ones.

    Runs inside the caller's unit of work; the caller commits. A submission moves the request to
    answered (first time) and queues a receipt.
    A `partial` submission submits the items answered and leaves the others alone (not answered yet);
    the request is answered once every item is.
    """
    if cycle.state != CycleState.OPEN:
        raise ValidationError("request", N_("the cycle is closed: answers can no longer be changed"))
    # One save of a request at a time: a second browser tab saving meanwhile waits, then sees this
    # save's versions and gets a conflict, not a duplicate row or a lost update.
    uow.requests.lock(request)
    now, today = clock.now(), clock.today()
    # Codes are all a save needs: no texts read on every submission.
    items = uow.cycle_items.with_recommendations(cycle.id or 0, request.agency_code, with_text=False)
    previous = uow.updates.last_cycle_answers(cycle, request.agency_code)
    updates = {u.recommendation_id: u for u in uow.updates.for_request(cycle.id or 0, request.agency_code)}
    given = {a.recommendation_id: a for a in answers if a.recommendation_id in items}
    by = f"{request.agency_code} focal point"

    problems: list[AnswerProblem] = []
    to_apply: list[tuple[StatusUpdate | None, Answer, bool, int]] = []
    conflicts: list[Conflict] = []
    for rid, item in items.items():
        update = updates.get(rid)
        verdict = judge_answer(
            given.get(rid) or (raw_of(update) if update and submit and not partial else None),
            code=item["code"],
            recommendation_id=rid,
            update=update,
            previous=previous[rid][0] if rid in previous else None,
            lock=lock_reason(cycle, request, update.state if update else None, today),
            submit=submit,
            partial=partial,
        )
        problems.extend(verdict.problems)
        if verdict.conflict is not None:
            conflicts.append(verdict.conflict)
        if verdict.answer is not None:
            to_apply.append((update, verdict.answer, verdict.submits, rid))
    # Milestones move when an answer is submitted (a draft may still change its mind); a report the
    # milestone refuses is a problem like any other, and the caller's transaction keeps nothing.
    submitted = [
        (answer, rid) for _, answer, item_submits, rid in to_apply if item_submits and answer.milestones
    ]
    problems.extend(
        _move_milestones(
            uow, submitted, {rid: items[rid]["code"] for _, rid in submitted}, request, today, now, by
        )
    )
    if problems:
        raise InvalidAnswers(problems)

    saved = []
    for update, answer, item_submits, rid in to_apply:
        if update is None:
            update = StatusUpdate(
                cycle_id=cycle.id or 0, recommendation_id=rid, agency_code=request.agency_code
            )
            uow.updates.add(update)
            updates[rid] = update
        update.apply(answer, at=now, by=by, channel=channel, submit=item_submits)
        saved.append(items[rid]["code"])

    recorded: tuple[dict[str, Any], ...] = ()
    every_item = all(rid in updates and updates[rid].state != ReviewState.DRAFT for rid in items)
    if submit and (every_item or not partial):
        request.mark_answered(at=now, by=by, channel=channel)
    if submit:
        recorded = _recorded(items, updates, uow.evidence.files_of(cycle.id or 0, request.agency_code))
        if saved:
            _queue_receipt(uow, notifier, config, request, cycle, recorded, updates, now)
    return SaveResult(
        saved=tuple(saved),
        conflicts=tuple(conflicts),
        submitted=submit,
        answered_at=request.answered_at,
        recorded=recorded,
    )


def _move_milestones(
    uow: UnitOfWork,
    answers: Sequence[tuple[Answer, int]],
    codes: dict[int, str],
    request: StatusRequest,
    today: date,
    now: datetime,
    by: str,
) -> list[AnswerProblem]:
    """Apply each submitted milestone report to its milestone; the problems of those it refuses."""
    if not answers:
        return []
    milestones = {m.id: m for m in uow.milestones.for_recommendations([rid for _, rid in answers])}
    problems = []
    for answer, rid in answers:
        for report in answer.milestones:
            milestone = milestones.get(report.milestone_id)
            if (
                milestone is None
                or milestone.recommendation_id != rid
                or milestone.agency_code
                not in (
                    None,
                    request.agency_code,
                )
            ):
                said = Message(N_("not a milestone of this item"))
                problems.append(AnswerProblem.of(codes[rid], rid, "milestone", said))
                continue
            try:
                milestone.apply_report(report, today=today, at=now, by=by)
            except ValidationError as exc:
                problems.append(AnswerProblem(codes[rid], rid, "milestone", exc.message))
            except InvalidTransition:
                if milestone.state == MilestoneState.DONE:
                    wording = N_("'%(title)s' is done already: it cannot be %(outcome)s")
                else:
                    wording = N_("'%(title)s' is dropped already: it cannot be %(outcome)s")
                outcome = Message(report.outcome.participle)
                said = Message(wording, {"title": milestone.title, "outcome": outcome})
                problems.append(AnswerProblem.of(codes[rid], rid, "milestone", said))
    return problems


def reissue_link(
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    cycle_name: str,
    agency_code: str,
    by: str,
) -> str:
    """Give an agency a new reply link (the old one stops working) and send it; returns the new link."""
    with uow:
        cycle = uow.cycles.require(cycle_name)
        request = request_of(uow, cycle, agency_code)
        if cycle.state != CycleState.OPEN:
            raise ValidationError(
                "cycle", f"cycle '{cycle_name}' is {cycle.state}: its links cannot be re-issued"
            )
        nonce = new_nonce()
        token = config.reply_token(cycle.id or 0, agency_code, nonce)
        request.reissue(token_nonce=nonce, token_hash=hash_token(token), at=clock.now(), by=by)
        # The old link's e-mail, if it has not left, would bring the new link twice: it goes no more.
        uow.outbox.withdraw_unsent(cycle.id or 0, "status-request", agency_code)
        # Sent as at launch: to whoever answers for the body in this cycle (the GMG's chair).
        enqueue_status_requests(uow, notifier, cycle, config, [request])
        uow.commit()
        return config.reply_url(cycle.id or 0, agency_code, nonce)


def revoke_link(uow: UnitOfWork, clock: Clock, cycle_name: str, agency_code: str, by: str, why: str) -> bool:
    """Stop an agency's reply link at once, sending nothing (`reissue_link` gives it a new one).

    Returns False when the link was revoked already (nothing is recorded twice).
    """
    with uow:
        request = request_of(uow, uow.cycles.require(cycle_name), agency_code)
        revoked = request.revoke(at=clock.now(), by=by, why=why)
        uow.commit()
        return revoked


def _request_for_token(
    uow: UnitOfWork, clock: Clock, token: str, grace_days: int
) -> tuple[StatusRequest, StockTakeCycle]:
    if not token or len(token) > 200:
        raise NotFound(UNKNOWN_LINK)
    request = uow.requests.by_token_hash(hash_token(token))
    if request is None:
        raise NotFound(UNKNOWN_LINK)
    cycle = uow.cycles.by_id(request.cycle_id)
    if cycle is None:
        raise NotFound(UNKNOWN_LINK)
    ensure_link_open(request, cycle, clock.now(), grace_days)
    return request, cycle


def _recorded(
    items: dict[int, dict[str, Any]],
    updates: dict[int, StatusUpdate],
    files: dict[tuple[int, str], list[StoredFile]],
) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "code": row["code"],
            "status": updates[rid].reported_status or "",
            "narrative": updates[rid].narrative,
            "obstacle": updates[rid].obstacle,
            "next_milestone_date": updates[rid].next_milestone_date,
            "evidence": list(updates[rid].evidence),
            "no_change": "yes" if updates[rid].no_change else "",
            "milestones": [_said(report) for report in updates[rid].milestone_reports],
            "files": [f.said for f in files.get((rid, updates[rid].agency_code), [])],
        }
        for rid, row in items.items()
        if rid in updates and updates[rid].state != ReviewState.DRAFT and updates[rid].reported_status
    )


def _said(report: dict[str, Any]) -> Message:
    """A stored milestone report in words, as the receipt lists it (in the agency's language)."""
    on = date.fromisoformat(report["on"]) if report.get("on") else None
    outcome = MilestoneOutcome(report["outcome"])
    return MilestoneReport(
        report["milestone_id"], outcome, on, report.get("why", ""), report.get("title", "")
    ).said


def _queue_receipt(
    uow: UnitOfWork,
    notifier: Notifier,
    config: CycleConfig,
    request: StatusRequest,
    cycle: StockTakeCycle,
    recorded: tuple[dict[str, Any], ...],
    updates: dict[int, StatusUpdate],
    now: datetime,
) -> None:
    """Queue the receipt; the key is the set of versions, so a repeated identical submission sends one."""
    agency = uow.agencies.require(request.agency_code)
    through = uow.agencies.require(request.answered_through) if request.answered_through else None
    fingerprint = ",".join(f"{rid}v{u.version}" for rid, u in sorted(updates.items()))
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    context = {
        **agency_context(cycle, config, agency, through),
        "reply_url": config.reply_url(cycle.id or 0, agency.code, request.token_nonce),
        "submitted_at": now,
        # After the deadline an answered request is locked (`lock_reason`): say so, not "until" a past day.
        "changeable": now.date() <= cycle.deadline,
        "recorded": list(recorded),
        # Every item in: the receipt cancels the deadline's calendar event (a half-filled sheet's
        # leaves it, with its alarm, for the items still owed).
        "request_complete": len(recorded) >= request.item_count,
        "deadline_moves": uow.cycles.deadline_moves(cycle).times,
    }
    notifier.enqueue(
        "receipt",
        key=f"receipt:{cycle.id}:{agency.code}:{digest}",
        to=(through or agency).recipients(),
        context=context,
        cycle_id=cycle.id,
        agency_code=agency.code,
    )
