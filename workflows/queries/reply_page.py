"""The reply page's read model: one agency's request, read in at most four queries whatever its size.

(1) the request with its cycle, agency name and previous cycle; (2) every item with its text, its
current answer, its evidence files and last cycle's answer; (3) the milestones of the items shown;
(4) the stored versions of the answers shown (skipped when there are none). Nothing is cached: a
page is always as stored.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, Text, and_, bindparam, cast, func, select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.answers import UNKNOWN_LINK, AnswerView, ensure_link_open, lock_reason
from domain.errors import NotFound
from domain.evidence import StoredFile
from domain.language import Language
from domain.lifecycle import CycleState, MilestoneState, ReviewState
from domain.model import (
    ContactRole,
    StatusRequest,
    StatusUpdate,
    StockTakeCycle,
    agenda_heading_said,
    text_in,
)
from domain.ports import Clock
from domain.tokens import hash_token
from notifications.i18n import translator
from workflows.config import CycleConfig
from workflows.queries.evidence import packed_files, unpack


class NoSuchPart(NotFound):
    """A part number the reply page does not have (the link itself may be fine, and have a language)."""

    def __init__(self, message: str, language: str = Language.EN) -> None:
        super().__init__(message)
        self.language = language


@dataclass(frozen=True)
class MilestoneView:
    """A milestone of an item with its due date, its life so far and whether it is overdue today."""

    id: int
    title: str
    due_date: date
    state: str
    overdue: bool
    done_on: date | None = None
    note: str = ""

    @property
    def is_open(self) -> bool:
        """Still to deliver: the agency reports on it (done, rescheduled, dropped or on track)."""
        return self.state in (MilestoneState.PLANNED, MilestoneState.OVERDUE)


@dataclass(frozen=True)
class VersionView:
    """One stored version of an item's answer (every save is kept)."""

    version: int
    status: str
    narrative: str
    state: str
    at: datetime
    channel: str


@dataclass(frozen=True)
class ReplyItem:
    """One recommendation of the request, with what was said last cycle and what is stored now."""

    recommendation_id: int
    code: str
    text: str
    role: str
    milestones: tuple[MilestoneView, ...]
    previous: AnswerView | None
    previous_cycle: str | None
    current: AnswerView | None
    state: str | None
    version: int
    reviewer_question: str
    lock_reason: str
    versions: tuple[VersionView, ...]
    files: tuple[StoredFile, ...] = ()

    @property
    def editable(self) -> bool:
        """Whether the agency may still change this item."""
        return not self.lock_reason

    @property
    def prefill(self) -> AnswerView | None:
        """What the form starts with: this cycle's stored answer (last cycle's is shown, never copied)."""
        return self.current


@dataclass(frozen=True)
class AgendaGroup:
    """Items under one agenda point (or the strategic recommendations)."""

    title: str
    items: tuple[ReplyItem, ...]


@dataclass(frozen=True)
class PartView:
    """One part of a long request's page, as its navigation lists it."""

    number: int
    title: str
    item_count: int
    saved_count: int


@dataclass(frozen=True)
class ReturnedItem:
    """An item the secretariat returned with a question, and the part of the page that holds it."""

    code: str
    recommendation_id: int
    part: int


@dataclass(frozen=True)
class ReplyPage:
    """Everything the reply page shows for one agency's request (or for one part of a long one)."""

    cycle_name: str
    hlcp_session: str | None
    deadline: date
    agency_code: str
    agency_name: str
    request_state: str
    answered_at: datetime | None
    past_deadline: bool
    cycle_open: bool
    secretariat_email: str
    groups: tuple[AgendaGroup, ...]
    item_count: int
    part: int = 1
    parts: tuple[PartView, ...] = ()
    part_of: dict[int, int] = field(default_factory=dict)
    returned: tuple[ReturnedItem, ...] = ()
    language: str = Language.EN

    @property
    def items(self) -> list[ReplyItem]:
        """The items shown, in page order."""
        return [item for group in self.groups for item in group.items]

    @property
    def next_part(self) -> int | None:
        """The number of the part after this one, if any."""
        return self.part + 1 if self.part < len(self.parts) else None

    @property
    def answered_count(self) -> int:
        """How many items of the whole request have a saved answer (a draft or later)."""
        return sum(part.saved_count for part in self.parts)

    @property
    def any_editable(self) -> bool:
        """Whether the page has anything left to answer or correct."""
        return any(item.editable for item in self.items)


def open_request(
    uow: SqlUnitOfWork,
    clock: Clock,
    config: CycleConfig,
    token: str,
    *,
    grace_days: int,
    part: int | None = None,
    part_size: int | None = None,
) -> ReplyPage:
    """The reply page of the request the token opens (one part of it if given), or NotFound.

    With a `part_size`, a request of more items is cut into parts (see `plan_parts`); without, it is
    one page. It is in the language of the people who answer (as their e-mails are): headings, and
    texts where the recommendation has a translation into it.
    """
    if not token or len(token) > 200:
        raise NotFound(UNKNOWN_LINK)
    with uow:
        found = uow.session.execute(_request_query(), {"token_hash": hash_token(token)}).first()
        if found is None:
            raise NotFound(UNKNOWN_LINK)
        request, cycle, agency_name, previous_id, previous_name = found[:5]
        language = _language(*found[5:])
        ensure_link_open(request, cycle, clock.now(), grace_days)
        # Report order, sorted here: PostgreSQL sorting the rows with their texts took as long as the rest.
        rows = sorted(
            uow.session.execute(
                _items_query(),
                {"cycle_id": cycle.id, "agency_code": request.agency_code, "previous_id": previous_id},
            ).all(),  # one fetch of all rows, not one driver call (and GIL hand-off) per row
            key=lambda row: (row.source, row.position),
        )
        # Rows, read by attribute and, for `group_title`, by name.
        items: dict[int, Any] = {row.id: row for row in rows}
        parts = plan_parts({rid: row._mapping for rid, row in items.items()}, part_size, language)
        if part is not None and not 1 <= part <= len(parts):
            raise NoSuchPart(f"this request has no part {part}", language)
        shown = parts[part - 1][1] if part is not None else list(items)
        today = clock.today()
        milestones = _milestones(uow, shown, request.agency_code, today)
        keys = [
            StatusUpdate.key_of(cycle.id or 0, rid, request.agency_code)
            for rid in shown
            if items[rid].version
        ]
        versions = _versions(uow, keys)
        part_of = {rid: n for n, (_, rids) in enumerate(parts, start=1) for rid in rids}
        groups: dict[str, list[ReplyItem]] = {}
        for rid in shown:
            row = items[rid]
            key = StatusUpdate.key_of(cycle.id or 0, rid, request.agency_code)
            item = ReplyItem(
                recommendation_id=rid,
                code=row.code,
                text=_text(row, language),
                role=row.role,
                milestones=tuple(milestones.get(rid, ())),
                previous=AnswerView(row.previous_status, row.previous_narrative)
                if row.previous_status
                else None,
                previous_cycle=previous_name if row.previous_status else None,
                current=_stored_answer(row) if row.reported_status else None,
                state=row.state,
                version=row.version or 0,
                reviewer_question=row.reviewer_question or "",
                lock_reason=lock_reason(cycle, request, row.state, today),
                versions=tuple(versions.get(key, ())),
                files=unpack(row.files_packed, rid, request.agency_code),
            )
            groups.setdefault(group_title(row._mapping, language), []).append(item)
        # Saved (a draft or later) means an answer with a status; returned ones are listed at the top.
        answered = {rid: row.state for rid, row in items.items() if row.reported_status is not None}
        return ReplyPage(
            cycle_name=cycle.name,
            hlcp_session=cycle.hlcp_session,
            deadline=cycle.deadline,
            agency_code=request.agency_code,
            agency_name=agency_name,
            request_state=request.state,
            answered_at=request.answered_at,
            past_deadline=today > cycle.deadline,
            cycle_open=cycle.state == CycleState.OPEN,
            secretariat_email=config.secretariat_email,
            groups=tuple(AgendaGroup(title, tuple(group)) for title, group in groups.items()),
            item_count=len(items),
            part=part or 1,
            parts=tuple(
                PartView(n, title, len(rids), sum(1 for rid in rids if rid in answered))
                for n, (title, rids) in enumerate(parts, start=1)
            ),
            part_of=part_of,
            language=language,
            returned=tuple(
                ReturnedItem(items[rid].code, rid, part_of[rid])
                for rid, state in answered.items()
                if state == ReviewState.RETURNED
            ),
        )


def plan_parts(
    items: dict[int, Any], part_size: int | None, language: str = Language.EN
) -> list[tuple[str, list[int]]]:
    """Split a long request into parts by agenda point, none over `part_size` items; a short one is one part.

    A 200-item page is heavy on a phone and slow to render; a part per agenda point is what a focal
    point works through anyway. An agenda point larger than a part is cut into near-equal pieces.
    """
    if part_size is None or len(items) <= part_size:
        return [("", list(items))]
    groups: dict[str, list[int]] = {}
    for rid, row in items.items():
        groups.setdefault(group_title(row, language), []).append(rid)
    parts: list[tuple[str, list[int]]] = []
    piece_of = translator(language).gettext("%(title)s (%(part)s of %(parts)s)")
    for title, rids in groups.items():
        pieces = -(-len(rids) // part_size)
        size = -(-len(rids) // pieces)
        for n in range(pieces):
            shown = piece_of % {"title": title, "part": n + 1, "parts": pieces} if pieces > 1 else title
            parts.append((shown, rids[n * size : (n + 1) * size]))
    return parts


# Statements are built once per process (bound parameters carry the values): building one costs
# about as much as running it.


@functools.cache
def _request_query() -> Select[Any]:
    """Query 1: the link's request, its cycle, its agency's name and the previous cycle (id, name)."""
    sr, cy, ag = tables.status_requests, tables.cycles, tables.agencies
    earlier = tables.cycles.alias("earlier")

    def previous(column: Any) -> Any:
        # The cycle created last before this one, cancelled ones aside (cycles.previous_cycle_id's rule).
        return (
            select(column)
            .where(
                earlier.c.id != cy.c.id,
                earlier.c.created_at <= cy.c.created_at,
                earlier.c.state != CycleState.CANCELLED.value,
            )
            .order_by(earlier.c.created_at.desc(), earlier.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    # The language of the people who answer (`Agency.reply_language`): the body's, or its chair's.
    answering, ct = tables.agencies.alias("answering"), tables.contacts
    spoken = func.coalesce(ct.c.language, answering.c.language)
    focal = (ct.c.agency_code == answering.c.code) & (ct.c.role == ContactRole.FOCAL_POINT.value)
    return (
        select(
            StatusRequest,
            StockTakeCycle,
            ag.c.name,
            previous(earlier.c.id),
            previous(earlier.c.name),
            answering.c.language,
            select(func.min(spoken)).where(focal).scalar_subquery(),
            select(func.max(spoken)).where(focal).scalar_subquery(),
        )
        .join(StockTakeCycle, cy.c.id == sr.c.cycle_id)
        .join(ag, ag.c.code == sr.c.agency_code)
        .join(answering, answering.c.code == func.coalesce(sr.c.answered_through, sr.c.agency_code))
        .where(sr.c.token_hash == bindparam("token_hash"))
    )


def _language(agency_language: str, lowest: str | None, highest: str | None) -> str:
    """The language the focal points share (the least and greatest of theirs agree), else the body's."""
    return lowest if lowest is not None and lowest == highest else agency_language


@functools.cache
def _items_query() -> Select[Any]:
    """Query 2: every item of the request (unordered), with its current and last cycle's answer."""
    ci, rec = tables.cycle_items, tables.recommendations
    now, last = tables.status_updates.alias("now"), tables.status_updates.alias("last")
    return (
        select(
            rec.c.id,
            rec.c.code,
            rec.c.agenda_point,
            rec.c.agenda_title,
            rec.c.kind,
            rec.c.source,
            rec.c.position,
            rec.c.text,
            # As text: decoded only for a page in another language, and only when there is one.
            cast(rec.c.translations, Text).label("translations_json"),
            ci.c.role,
            now.c.state,
            now.c.reported_status,
            now.c.narrative,
            # As text: decoded for the items shown only (decoding every item's took a sixth of a page).
            cast(now.c.evidence, Text).label("evidence_json"),
            now.c.next_milestone_date,
            now.c.obstacle,
            now.c.no_change,
            cast(now.c.milestone_reports, Text).label("milestones_json"),
            now.c.version,
            now.c.reviewer_question,
            last.c.reported_status.label("previous_status"),
            last.c.narrative.label("previous_narrative"),
            packed_files(ci),
        )
        .select_from(ci)
        .join(rec, rec.c.id == ci.c.recommendation_id)
        .outerjoin(
            now,
            and_(
                now.c.cycle_id == ci.c.cycle_id,
                now.c.recommendation_id == ci.c.recommendation_id,
                now.c.agency_code == ci.c.agency_code,
            ),
        )
        .outerjoin(
            last,
            and_(
                last.c.cycle_id == bindparam("previous_id"),
                last.c.recommendation_id == ci.c.recommendation_id,
                last.c.agency_code == ci.c.agency_code,
                last.c.state != ReviewState.DRAFT.value,
                last.c.reported_status.is_not(None),
            ),
        )
        .where(ci.c.cycle_id == bindparam("cycle_id"), ci.c.agency_code == bindparam("agency_code"))
    )


@functools.cache
def _milestones_query() -> Select[Any]:
    """Query 3: the milestones of the items shown, the agency's own and those shared by every owner."""
    ms = tables.milestones
    return (
        select(
            ms.c.id, ms.c.recommendation_id, ms.c.title, ms.c.due_date, ms.c.state, ms.c.done_on, ms.c.note
        )
        .where(
            ms.c.recommendation_id.in_(bindparam("ids", expanding=True)),
            ms.c.agency_code.is_(None) | (ms.c.agency_code == bindparam("agency_code")),
        )
        .order_by(ms.c.due_date, ms.c.id)
    )


@functools.cache
def _versions_query() -> Select[Any]:
    """Query 4: the history entries of the answers shown, oldest first."""
    h = tables.history
    return (
        select(h.c.key, h.c.to_state, h.c.at, h.c.data)
        .where(h.c.entity == StatusUpdate.ENTITY, h.c.key.in_(bindparam("keys", expanding=True)))
        .order_by(h.c.id)
    )


def _stored_answer(row: Any) -> AnswerView:
    """The stored answer of an item row (as `replies.stored_answer` gives an update's)."""
    return AnswerView(
        status=row.reported_status,
        narrative=row.narrative,
        evidence=tuple(json.loads(row.evidence_json)),
        next_milestone_date=row.next_milestone_date.isoformat() if row.next_milestone_date else "",
        obstacle=row.obstacle,
        no_change=bool(row.no_change),
        milestones=tuple(
            (int(m["milestone_id"]), m["outcome"], m.get("on") or "", m.get("why") or "")
            for m in json.loads(row.milestones_json or "[]")
        ),
    )


def _milestones(
    uow: SqlUnitOfWork, recommendation_ids: Sequence[int], agency_code: str, today: date
) -> dict[int, list[MilestoneView]]:
    found: dict[int, list[MilestoneView]] = defaultdict(list)
    if not recommendation_ids:
        return found
    rows = uow.session.execute(
        _milestones_query(), {"ids": list(recommendation_ids), "agency_code": agency_code}
    ).all()
    for mid, rid, title, due, state, done_on, note in rows:
        overdue = state in (MilestoneState.PLANNED, MilestoneState.OVERDUE) and due < today
        found[rid].append(MilestoneView(mid, title, due, state, overdue, done_on, note or ""))
    return found


def _versions(uow: SqlUnitOfWork, keys: Iterable[str]) -> dict[str, list[VersionView]]:
    keys = list(keys)
    found: dict[str, list[VersionView]] = defaultdict(list)
    if not keys:
        return found
    for key, state, at, data in uow.session.execute(_versions_query(), {"keys": keys}).all():
        if "version" in data:  # reviews of an answer are in its history too, without a version
            found[key].append(
                VersionView(data["version"], data["status"], data["narrative"], state, at, data["channel"])
            )
    return found


def group_title(row: Mapping[str, Any], language: str = Language.EN) -> str:
    """The heading an item is listed under (see `agenda_heading`), in `language`."""
    return translator(language).text(
        agenda_heading_said(row["kind"], row["agenda_point"], row["agenda_title"])
    )


def _text(row: Any, language: str) -> str:
    """The item's text in `language` when the recommendation has a translation there, else as written."""
    if language == Language.EN or row.translations_json in (None, "{}"):
        return str(row.text)
    return text_in(row.text, json.loads(row.translations_json), language)
