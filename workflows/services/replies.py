"""Agency replies: open a request by its secure link, show its items, save drafts, submit answers.

The portal and the spreadsheet import both go through `record_answers`, so the same validation,
the same optimistic concurrency (each item carries the version it was loaded with) and the same
history apply whatever the channel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy import update as sql_update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.errors import NotFound, ValidationError
from domain.lifecycle import CycleState, RequestState, ReviewState
from domain.model import (
    Agency,
    Answer,
    Channel,
    ContactRole,
    ReportedStatus,
    StatusRequest,
    StatusUpdate,
    StockTakeCycle,
)
from domain.ports import Clock, Notifier
from domain.tokens import hash_token, new_nonce
from workflows.services.cycles import (
    CycleConfig,
    agency_context,
    items_by_point,
    previous_cycle_id,
    status_request_context,
    status_request_key,
)

# One message for every link that does not open a request: unknown, expired, revoked or cancelled
# look the same from outside, so a guesser learns nothing.
UNKNOWN_LINK = "this reply link is not valid"

NARRATIVE_MAX = 4000
OBSTACLE_MAX = 2000
EVIDENCE_MAX_LINKS = 10
EVIDENCE_LINK_MAX = 500
ANSWERING_STATES = {RequestState.SENT, RequestState.OVERDUE, RequestState.ESCALATED}


class NoSuchPart(NotFound):
    """A part number the reply page does not have (the link itself may be fine)."""


@dataclass(frozen=True)
class RawAnswer:
    """One item's answer as typed (portal form or spreadsheet row), before validation."""

    recommendation_id: int
    status: str = ""
    narrative: str = ""
    evidence: str = ""
    next_milestone_date: str = ""
    obstacle: str = ""
    loaded_version: int | None = None  # None: no concurrency check (e.g. a CSV without versions)


@dataclass(frozen=True)
class AnswerProblem:
    """What is wrong with one field of one item's answer."""

    code: str
    recommendation_id: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.field}: {self.message}"


class InvalidAnswers(ValidationError):
    """Answers that break the rules; `problems` lists every one, nothing was saved."""

    def __init__(self, problems: Sequence[AnswerProblem]) -> None:
        super().__init__("answers", "; ".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class AnswerView:
    """An answer as shown to a person (stored or typed)."""

    status: str
    narrative: str
    evidence: tuple[str, ...] = ()
    next_milestone_date: str = ""
    obstacle: str = ""

    @property
    def status_label(self) -> str:
        """The status as a label ("In progress"), or the raw text if it is not one."""
        return status_label(self.status)


@dataclass(frozen=True)
class Conflict:
    """An item someone else changed after this form was loaded: both answers, nothing overwritten."""

    code: str
    recommendation_id: int
    yours: AnswerView
    stored: AnswerView
    stored_version: int
    stored_by: str
    stored_at: datetime | None


@dataclass(frozen=True)
class SaveResult:
    """What a save or submission did."""

    saved: tuple[str, ...]
    conflicts: tuple[Conflict, ...]
    submitted: bool
    answered_at: datetime | None
    recorded: tuple[dict[str, str], ...] = field(default_factory=tuple)


def statuses() -> list[tuple[str, str]]:
    """The status vocabulary as (value, label) pairs, in the order forms offer them."""
    return [(s.value, s.label) for s in ReportedStatus]


def save_reply(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    token: str,
    answers: Sequence[RawAnswer],
    *,
    submit: bool,
    grace_days: int,
    keep_prefilled: bool = False,
) -> SaveResult:
    """Save the portal's answers as a draft, or submit them; conflicting items are left alone."""
    with uow:
        request, cycle = _request_for_token(uow, clock, token, grace_days)
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
            keep_prefilled=keep_prefilled,
        )
        uow.commit()
        return result


def record_answers(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    request: StatusRequest,
    cycle: StockTakeCycle,
    answers: Sequence[RawAnswer],
    *,
    submit: bool,
    channel: Channel,
    keep_prefilled: bool = False,
) -> SaveResult:
    """Validate every answer (raising InvalidAnswers with all problems), then store the unconflicted ones.

    Runs inside the caller's unit of work; the caller commits. A submission moves the request to
    answered (first time) and queues a receipt. Last cycle's answer, pre-filled and left as it was,
    is not a draft unless `keep_prefilled` (a part of a long page saved: the agency has seen it).
    """
    if cycle.state != CycleState.OPEN:
        raise ValidationError("request", "the cycle is closed: answers can no longer be changed")
    # One save of a request at a time: a second browser tab saving meanwhile waits, then sees this
    # save's versions and gets a conflict, not a duplicate row or a lost update. A write that changes
    # nothing locks the row on PostgreSQL and takes SQLite's write lock before anything is read.
    sr = tables.status_requests
    uow.session.execute(sql_update(sr).where(sr.c.id == request.id).values(state=sr.c.state))
    uow.session.refresh(request)
    now, today = clock.now(), clock.today()
    # Codes are all a save needs: no texts read on every submission.
    items = request_items(uow, cycle.id or 0, request.agency_code, with_text=False)
    previous = previous_answers(uow, cycle, request.agency_code)
    updates = {u.recommendation_id: u for u in uow.updates.for_request(cycle.id or 0, request.agency_code)}
    given = {a.recommendation_id: a for a in answers if a.recommendation_id in items}
    by = f"{request.agency_code} focal point"

    problems: list[AnswerProblem] = []
    to_apply: list[tuple[StatusUpdate | None, Answer, bool, int]] = []
    conflicts: list[Conflict] = []
    for rid, item in items.items():
        update = updates.get(rid)
        raw = given.get(rid) or (_raw_from(update) if update and submit else None)
        if raw is None:
            if submit and not lock_reason(cycle, request, update.state if update else None, today):
                problems.append(AnswerProblem(item["code"], rid, "status", "not answered: choose a status"))
            continue
        lock = lock_reason(cycle, request, update.state if update else None, today)
        stored = stored_answer(update) if update and update.reported_status else None
        if lock:
            if raw.status.strip() and stored is not None and not _same(raw, stored):
                problems.append(
                    AnswerProblem(item["code"], rid, "status", f"{lock} It can no longer be changed.")
                )
            continue
        if not raw.status.strip():
            if submit:
                problems.append(AnswerProblem(item["code"], rid, "status", "not answered: choose a status"))
            continue
        item_submits = submit or (update is not None and update.state == ReviewState.SUBMITTED)
        untouched = rid in previous and _same(raw, previous[rid][0])
        if update is None and not item_submits and untouched and not keep_prefilled:
            continue  # last cycle's answer, pre-filled and untouched, is not a draft of this one
        last = previous[rid][0] if rid in previous else AnswerView("", "")
        answer, found = parse_answer(
            raw,
            code=item["code"],
            previous_status=last.status or None,
            previous_narrative=last.narrative,
            complete=item_submits,
        )
        problems.extend(found)
        if answer is None:
            continue
        if update is not None and stored is not None and _same(raw, stored):
            unchanged = update.state == ReviewState.SUBMITTED or (
                update.state in (ReviewState.DRAFT, ReviewState.RETURNED) and not item_submits
            )
            if unchanged:
                continue
        stored_version = update.version if update else 0
        if raw.loaded_version is not None and raw.loaded_version != stored_version and stored is not None:
            assert update is not None
            conflicts.append(
                Conflict(
                    code=item["code"],
                    recommendation_id=rid,
                    yours=_view_of_raw(raw),
                    stored=stored,
                    stored_version=update.version,
                    stored_by=update.reported_by,
                    stored_at=update.reported_at,
                )
            )
            continue
        to_apply.append((update, answer, item_submits, rid))
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

    recorded: tuple[dict[str, str], ...] = ()
    if submit:
        if request.state == RequestState.PENDING:
            # The agency answered through its link, so the request evidently reached it.
            request.transition(RequestState.SENT, at=now, by=by, why="answered before the send was confirmed")
            request.sent_at = request.sent_at or now
        if RequestState(request.state) in ANSWERING_STATES:
            request.transition(RequestState.ANSWERED, at=now, by=by, why=f"answered via {channel.value}")
            request.answered_at = now
        uow.session.flush()
        recorded = _recorded(items, updates)
        if saved:
            _queue_receipt(uow, notifier, config, request, cycle, recorded, updates, now)
    return SaveResult(
        saved=tuple(saved),
        conflicts=tuple(conflicts),
        submitted=submit,
        answered_at=request.answered_at,
        recorded=recorded,
    )


def parse_answer(
    raw: RawAnswer,
    *,
    code: str,
    previous_status: str | None,
    complete: bool,
    previous_narrative: str = "",
) -> tuple[Answer | None, list[AnswerProblem]]:
    """Validate one typed answer against last cycle's; `complete` adds what a submission needs."""
    rid = raw.recommendation_id
    problems: list[AnswerProblem] = []

    def problem(field_name: str, message: str) -> None:
        problems.append(AnswerProblem(code, rid, field_name, message))

    status = parse_status(raw.status)
    if status is None:
        choices = ", ".join(label for _, label in statuses())
        problem("status", f"'{raw.status.strip()[:40]}' is not a status; choose one of: {choices}")
    narrative = raw.narrative.strip()
    if len(narrative) > NARRATIVE_MAX:
        problem("narrative", f"at most {NARRATIVE_MAX:,} characters (this one has {len(narrative):,})")
    # Last cycle's narrative is pre-filled; kept as it is, it cannot explain a change of status.
    elif (
        complete
        and status
        and previous_status
        and status.value != previous_status
        and narrative in ("", previous_narrative.strip())
    ):
        problem(
            "narrative",
            f"required because the status changed from {status_label(previous_status)} to "
            f"{status.label}: say what changed and why",
        )
    evidence = tuple(raw.evidence.split())
    if len(evidence) > EVIDENCE_MAX_LINKS:
        problem("evidence", f"at most {EVIDENCE_MAX_LINKS} links (this one has {len(evidence)})")
    for link in evidence:
        if len(link) > EVIDENCE_LINK_MAX:
            problem("evidence", f"a link may have at most {EVIDENCE_LINK_MAX} characters")
        elif not _is_web_link(link):
            problem("evidence", f"'{link[:60]}' is not a web link (http:// or https://)")
    next_date = None
    if raw.next_milestone_date.strip():
        try:
            next_date = date.fromisoformat(raw.next_milestone_date.strip())
        except ValueError:
            problem(
                "next_milestone_date", f"'{raw.next_milestone_date.strip()[:20]}' is not a date (YYYY-MM-DD)"
            )
        else:
            if not 2000 <= next_date.year <= 2100:
                problem("next_milestone_date", f"{next_date.isoformat()} is not a plausible date")
    obstacle = raw.obstacle.strip()
    if len(obstacle) > OBSTACLE_MAX:
        problem("obstacle", f"at most {OBSTACLE_MAX:,} characters (this one has {len(obstacle):,})")
    elif complete and status == ReportedStatus.BLOCKED and not obstacle:
        problem("obstacle", "required when the status is Blocked: say what blocks the work")
    if problems or status is None:
        return None, problems
    answer = Answer(
        recommendation_id=rid,
        status=status,
        narrative=narrative,
        evidence=evidence,
        next_milestone_date=next_date,
        obstacle=obstacle,
    )
    return answer, []


def reissue_link(
    uow: SqlUnitOfWork,
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
        request = uow.requests.get(cycle.id or 0, agency_code)
        if request is None:
            raise NotFound(f"cycle '{cycle_name}' has no status request for agency '{agency_code}'")
        if cycle.state != CycleState.OPEN:
            raise ValidationError(
                "cycle", f"cycle '{cycle_name}' is {cycle.state}: its links cannot be re-issued"
            )
        nonce = new_nonce()
        token = config.reply_token(cycle.id or 0, agency_code, nonce)
        request.reissue(token_nonce=nonce, token_hash=hash_token(token), at=clock.now(), by=by)
        agency = uow.agencies.require(agency_code)
        brief = [agency_code] if request.item_count > config.part_size else []
        items = items_by_point(uow, cycle, [agency_code], codes_only=brief).get(agency_code, [])
        context = status_request_context(cycle, config, agency, request, items)
        notifier.enqueue(
            "status-request",
            key=status_request_key(request),
            to=_recipients(agency),
            context=context,
            cycle_id=cycle.id,
            agency_code=agency_code,
        )
        uow.commit()
        return str(context["reply_url"])


def _request_for_token(
    uow: SqlUnitOfWork, clock: Clock, token: str, grace_days: int
) -> tuple[StatusRequest, StockTakeCycle]:
    if not token or len(token) > 200:
        raise NotFound(UNKNOWN_LINK)
    request = uow.requests.by_token_hash(hash_token(token))
    if request is None:
        raise NotFound(UNKNOWN_LINK)
    cycle = uow.session.get(StockTakeCycle, request.cycle_id)
    if cycle is None:
        raise NotFound(UNKNOWN_LINK)
    ensure_link_open(request, cycle, clock, grace_days)
    return request, cycle


def ensure_link_open(request: StatusRequest, cycle: StockTakeCycle, clock: Clock, grace_days: int) -> None:
    """NotFound unless the request's link still opens it: not revoked, cycle open or closed within grace."""
    if request.token_revoked_at is not None or cycle.state in (CycleState.DRAFT, CycleState.CANCELLED):
        raise NotFound(UNKNOWN_LINK)
    if cycle.state == CycleState.CLOSED:
        closed_at = _aware(cycle.closed_at) or datetime.combine(cycle.deadline, datetime.min.time(), UTC)
        if clock.now() > closed_at + timedelta(days=grace_days):
            raise NotFound(UNKNOWN_LINK)


def request_items(
    uow: SqlUnitOfWork, cycle_id: int, agency_code: str, *, with_text: bool = True
) -> dict[int, dict[str, Any]]:
    """The request's items (cycle snapshot) with their recommendation, in report order."""
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
    rows = uow.session.execute(
        select(*columns, *([rec.c.text] if with_text else []))
        .join(rec, rec.c.id == ci.c.recommendation_id)
        .where(ci.c.cycle_id == cycle_id, ci.c.agency_code == agency_code)
        .order_by(rec.c.source, rec.c.position)
    ).mappings()
    return {row["id"]: dict(row) for row in rows}


def previous_answers(
    uow: SqlUnitOfWork,
    cycle: StockTakeCycle,
    agency_code: str,
    recommendation_ids: Iterable[int] | None = None,
) -> dict[int, tuple[AnswerView, str]]:
    """Per recommendation (all, or those given), what this agency submitted last cycle, and its name."""
    previous = previous_cycle_id(uow, cycle)
    if previous is None:
        return {}
    su, cy = tables.status_updates, tables.cycles
    query = (
        select(su.c.recommendation_id, su.c.reported_status, su.c.narrative, cy.c.name)
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
    rows = uow.session.execute(query)
    return {rid: (AnswerView(status, narrative), name) for rid, status, narrative, name in rows}


def lock_reason(cycle: StockTakeCycle, request: StatusRequest, state: str | None, today: date) -> str:
    """Why an item (its answer in review `state`, None if never saved) can no longer be changed, or ''."""
    if cycle.state != CycleState.OPEN:
        return "The cycle is closed."
    if state == ReviewState.ACCEPTED:
        return "The secretariat has accepted this answer."
    if state == ReviewState.RETURNED:
        return ""
    if today > cycle.deadline and request.answered_at is not None:
        return "The deadline has passed."
    return ""


def group_title(row: Mapping[str, Any]) -> str:
    """The heading an item is listed under: its agenda point, else its theme or "strategic"."""
    if row["agenda_point"] is not None:
        title = f"Agenda point {row['agenda_point']}"
        return f"{title}: {row['agenda_title']}" if row["agenda_title"] else title
    return row["theme"] or "Strategic recommendations"


def parse_status(text: str) -> ReportedStatus | None:
    """A status from its value or label, case and spacing ignored ("In progress", "in_progress")."""
    normalized = "_".join(text.strip().lower().replace("_", " ").split())
    try:
        return ReportedStatus(normalized)
    except ValueError:
        return None


def status_label(value: str) -> str:
    """The label of a status value or label ("In progress"); anything else is returned as it is."""
    status = parse_status(value)
    return status.label if status else value


def _is_web_link(link: str) -> bool:
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def stored_answer(update: StatusUpdate) -> AnswerView:
    """A stored update as an answer to show or compare."""
    return AnswerView(
        status=update.reported_status or "",
        narrative=update.narrative,
        evidence=tuple(update.evidence),
        next_milestone_date=update.next_milestone_date.isoformat() if update.next_milestone_date else "",
        obstacle=update.obstacle,
    )


def _view_of_raw(raw: RawAnswer) -> AnswerView:
    status = parse_status(raw.status)
    return AnswerView(
        status=status.value if status else raw.status.strip(),
        narrative=raw.narrative.strip(),
        evidence=tuple(raw.evidence.split()),
        next_milestone_date=raw.next_milestone_date.strip(),
        obstacle=raw.obstacle.strip(),
    )


def _raw_from(update: StatusUpdate) -> RawAnswer:
    view = stored_answer(update)
    return RawAnswer(
        recommendation_id=update.recommendation_id,
        status=view.status,
        narrative=view.narrative,
        evidence="\n".join(view.evidence),
        next_milestone_date=view.next_milestone_date,
        obstacle=view.obstacle,
        loaded_version=update.version,
    )


def _same(raw: RawAnswer, stored: AnswerView) -> bool:
    return _view_of_raw(raw) == stored


def _recorded(
    items: dict[int, dict[str, Any]], updates: dict[int, StatusUpdate]
) -> tuple[dict[str, str], ...]:
    return tuple(
        {
            "code": row["code"],
            "status": updates[rid].reported_status or "",
            "narrative": updates[rid].narrative,
        }
        for rid, row in items.items()
        if rid in updates and updates[rid].state != ReviewState.DRAFT and updates[rid].reported_status
    )


def _queue_receipt(
    uow: SqlUnitOfWork,
    notifier: Notifier,
    config: CycleConfig,
    request: StatusRequest,
    cycle: StockTakeCycle,
    recorded: tuple[dict[str, str], ...],
    updates: dict[int, StatusUpdate],
    now: datetime,
) -> None:
    """Queue the receipt; the key is the set of versions, so a repeated identical submission sends one."""
    agency = uow.agencies.require(request.agency_code)
    fingerprint = ",".join(f"{rid}v{u.version}" for rid, u in sorted(updates.items()))
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    context = {
        **agency_context(cycle, config, agency),
        "reply_url": config.reply_url(cycle.id or 0, agency.code, request.token_nonce),
        "submitted_at": now,
        "recorded": list(recorded),
    }
    notifier.enqueue(
        "receipt",
        key=f"receipt:{cycle.id}:{agency.code}:{digest}",
        to=_recipients(agency),
        context=context,
        cycle_id=cycle.id,
        agency_code=agency.code,
    )


def _recipients(agency: Agency) -> list[str]:
    """The agency's focal points, or its head of office when it has none."""
    return agency.emails(ContactRole.FOCAL_POINT) or agency.emails(ContactRole.HEAD_OF_OFFICE)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
