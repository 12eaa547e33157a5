"""The reply page's read model: one agency's request, read in at most four queries whatever its size.

(1) the request with its cycle, agency name and previous cycle; (2) the list of every item without
its text, enough to cut the parts and count the saved answers; (3) the items shown, with their
texts, current answers and their evidence files, last cycle's answers and milestones; (4) the
stored versions of the answers shown (skipped when there are none). Nothing is cached: a page is
always as stored. What it returns is defined in `reply_views`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, Text, and_, bindparam, cast, func, or_, select

from db import tables
from db.evidence import packed_files, unpack
from db.reads import earlier_than, latest_of
from db.unit_of_work import SqlUnitOfWork
from domain.answers import UNKNOWN_LINK, ensure_link_open, last_answer, lock_reason, stored_answer
from domain.errors import NotFound
from domain.language import Language
from domain.lifecycle import CycleState, MilestoneState, ReviewState
from domain.model import ContactRole, StatusUpdate, running_name, text_in
from domain.ports import Clock
from domain.tokens import hash_token
from workflows.config import CycleConfig
from workflows.queries.reply_views import (
    AgendaGroup,
    MilestoneView,
    NoSuchPart,
    PartView,
    ReplyItem,
    ReplyPage,
    ReturnedItem,
    VersionView,
    cut_parts,
    heading_in,
)

_STILL_OPEN = (MilestoneState.PLANNED, MilestoneState.OVERDUE)


# What the page reads of the request and its cycle: columns, not ORM entities, whose loading (and
# the session's care of them) took a sixth of a page's reading.
class _Request(NamedTuple):
    agency_code: str
    state: str
    answered_at: datetime | None
    token_revoked_at: datetime | None


class _Agency(NamedTuple):
    name: str
    short_name: str
    article: str
    translations: dict[str, str]


class _Cycle(NamedTuple):
    id: int
    name: str
    hlcp_session: str | None
    deadline: date
    state: str
    closed_at: datetime | None


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

    With a `part_size`, a request of more items is cut into parts (see `reply_views.cut_parts`);
    without, it is one page. It is in the language of the people who answer (as their e-mails are):
    headings, and texts where the recommendation has a translation into it.
    """
    if not token or len(token) > 200:
        raise NotFound(UNKNOWN_LINK)
    with uow:
        session = uow.session
        found = session.execute(_request_query(), {"token_hash": hash_token(token)}).first()
        if found is None:
            raise NotFound(UNKNOWN_LINK)
        request, cycle, agency = (
            _Request._make(found[:4]),
            _Cycle._make(found[4:10]),
            _Agency._make(found[10:14]),
        )
        previous_id, previous_name = found[14:16]
        language = _language(*found[16:])
        ensure_link_open(request, cycle, clock.now(), grace_days)
        request_keys = {"cycle_id": cycle.id, "agency_code": request.agency_code}
        # Sorted here: SQLite sorting the rows took half as long as reading them.
        listed = sorted(session.execute(_list_query(), request_keys).all(), key=lambda row: row[-2:])
        # A request's items share a few headings: each is written once, not once per item.
        heading_of = functools.cache(functools.partial(heading_in, language=language))
        headings = {rid: heading_of(kind, point, title) for rid, _, kind, point, title, *_ in listed}
        parts = cut_parts(headings, part_size, language)
        if part is not None and not 1 <= part <= len(parts):
            raise NoSuchPart(f"this request has no part {part}", language)
        shown = parts[part - 1][1] if part is not None else list(headings)
        rows = (
            session.execute(_shown_query(), {**request_keys, "previous_id": previous_id, "ids": shown}).all()
            if shown
            else []
        )
        answers = {
            StatusUpdate.key_of(cycle.id, row.id, request.agency_code): row.id for row in rows if row.version
        }
        today = clock.today()
        items = _items(rows, _versions(uow, answers), previous_name, cycle, request, today, language)
        codes = {rid: code for rid, code, *_ in listed}
        groups: dict[str, list[ReplyItem]] = {}
        for rid in shown:
            groups.setdefault(headings[rid], []).append(items[rid])
        # Saved (a draft or later) means an answer with a status; returned ones are listed at the top.
        saved = {rid: state for rid, _, _, _, _, state, status, *_ in listed if status is not None}
        part_of = {rid: n for n, (_, rids) in enumerate(parts, start=1) for rid in rids}
        return ReplyPage(
            cycle_name=cycle.name,
            hlcp_session=cycle.hlcp_session,
            deadline=cycle.deadline,
            agency_code=request.agency_code,
            agency_name=agency.name,
            agency_in_text=running_name(agency, language),
            request_state=request.state,
            answered_at=request.answered_at,
            past_deadline=today > cycle.deadline,
            cycle_open=cycle.state == CycleState.OPEN,
            secretariat_email=config.secretariat_email,
            groups=tuple(AgendaGroup(title, tuple(group)) for title, group in groups.items()),
            item_count=len(listed),
            part=part or 1,
            parts=tuple(
                PartView(n, title, len(rids), sum(1 for rid in rids if rid in saved))
                for n, (title, rids) in enumerate(parts, start=1)
            ),
            part_of=part_of,
            language=language,
            returned=tuple(
                ReturnedItem(codes[rid], rid, part_of[rid])
                for rid, state in saved.items()
                if state == ReviewState.RETURNED
            ),
        )


def _items(
    rows: Sequence[Row[Any]],
    versions: Mapping[int, list[VersionView]],
    previous_cycle: str | None,
    cycle: _Cycle,
    request: _Request,
    today: date,
    language: str,
) -> dict[int, ReplyItem]:
    """The items shown, by id, from query 3's rows (one per milestone, or one for an item without)."""
    milestones: dict[int, list[MilestoneView]] = {}
    firsts: dict[int, Row[Any]] = {}
    for row in rows:
        firsts.setdefault(row.id, row)
        found = milestones.setdefault(row.id, [])
        if row.milestone_id is not None:
            state, due = row.milestone_state, row.due_date
            overdue = state in _STILL_OPEN and due < today
            found.append(
                MilestoneView(row.milestone_id, row.title, due, state, overdue, row.done_on, row.note or "")
            )
    return {
        rid: ReplyItem(
            recommendation_id=rid,
            code=row.code,
            text=_text(row, language),
            role=row.role,
            milestones=tuple(sorted(milestones[rid], key=_soonest)),
            previous=last_answer(
                row.previous_status, row.previous_assessed, row.previous_narrative, row.previous_rationale
            )
            if row.previous_status
            else None,
            previous_cycle=previous_cycle if row.previous_status else None,
            current=stored_answer(row) if row.reported_status else None,
            state=row.state,
            version=row.version or 0,
            reviewer_question=row.reviewer_question or "",
            lock_reason=lock_reason(cycle, request, row.state, today),
            versions=tuple(versions.get(rid, ())),
            files=unpack(row.files_packed, rid, request.agency_code),
        )
        for rid, row in firsts.items()
    }


def _soonest(milestone: MilestoneView) -> tuple[date, int]:
    return milestone.due_date, milestone.id


def _versions(uow: SqlUnitOfWork, answers: Mapping[str, int]) -> dict[int, list[VersionView]]:
    """Per item, the stored versions of its answer (`answers`: item id by history key), oldest first."""
    found: dict[int, list[VersionView]] = {}
    if not answers:
        return found
    for key, state, at, data in uow.session.execute(_versions_query(), {"keys": list(answers)}):
        if "version" in data:  # reviews of an answer are in its history too, without a version
            found.setdefault(answers[key], []).append(
                VersionView(data["version"], data["status"], data["narrative"], state, at, data["channel"])
            )
    return found


# Statements are built once per process (bound parameters carry the values): building one costs
# about as much as running it.


@functools.cache
def _request_query() -> Select[Any]:
    """Query 1: the link's request, its cycle, its agency's names and the previous cycle (id, name)."""
    sr, cy, ag = tables.status_requests, tables.cycles, tables.agencies
    earlier = tables.cycles.alias("earlier")

    def previous(column: Any) -> Any:
        # The previous cycle, as the stock-take chooses it (db.reads.latest_before).
        return latest_of(
            select(column).where(earlier_than(earlier, cy.c.id, cy.c.launched_at)), earlier
        ).scalar_subquery()

    # The language of the people who answer (`Agency.reply_language`): the body's, or its chair's.
    answering, ct = tables.agencies.alias("answering"), tables.contacts
    spoken = func.coalesce(ct.c.language, answering.c.language)
    focal = (ct.c.agency_code == answering.c.code) & (ct.c.role == ContactRole.FOCAL_POINT.value)
    return (
        select(
            *(sr.c[name] for name in _Request._fields),
            *(cy.c[name] for name in _Cycle._fields),
            *(ag.c[name] for name in _Agency._fields),
            previous(earlier.c.id),
            previous(earlier.c.name),
            answering.c.language,
            select(func.min(spoken)).where(focal).scalar_subquery(),
            select(func.max(spoken)).where(focal).scalar_subquery(),
        )
        .select_from(sr)
        .join(cy, cy.c.id == sr.c.cycle_id)
        .join(ag, ag.c.code == sr.c.agency_code)
        .join(answering, answering.c.code == func.coalesce(sr.c.answered_through, sr.c.agency_code))
        .where(sr.c.token_hash == bindparam("token_hash"))
    )


def _language(agency_language: str, lowest: str | None, highest: str | None) -> str:
    """The language the focal points share (the least and greatest of theirs agree), else the body's."""
    return lowest if lowest is not None and lowest == highest else agency_language


def _answer_of_request() -> Any:
    """This cycle's answers of the request's items (for an outer join from its cycle items)."""
    ci, now = tables.cycle_items, tables.status_updates.alias("now")
    return now, and_(
        now.c.cycle_id == ci.c.cycle_id,
        now.c.recommendation_id == ci.c.recommendation_id,
        now.c.agency_code == ci.c.agency_code,
    )


@functools.cache
def _list_query() -> Select[Any]:
    """Query 2: every item of the request, with what cuts the parts, counts answers and orders them."""
    ci, rec = tables.cycle_items, tables.recommendations
    now, answer_of_item = _answer_of_request()
    return (
        select(
            rec.c.id,
            rec.c.code,
            rec.c.kind,
            rec.c.agenda_point,
            rec.c.agenda_title,
            now.c.state,
            now.c.reported_status,
            rec.c.source,
            rec.c.position,
        )
        .select_from(ci)
        .join(rec, rec.c.id == ci.c.recommendation_id)
        .outerjoin(now, answer_of_item)
        .where(ci.c.cycle_id == bindparam("cycle_id"), ci.c.agency_code == bindparam("agency_code"))
    )


@functools.cache
def _shown_query() -> Select[Any]:
    """Query 3: the items shown, with their text, current answer and its files, last cycle's answer,
    and milestones (the agency's own and those shared by every owner): a row per milestone, or one
    for an item without."""
    ci, rec, ms = tables.cycle_items, tables.recommendations, tables.milestones
    now, answer_of_item = _answer_of_request()
    last = tables.status_updates.alias("last")
    return (
        select(
            rec.c.id,
            rec.c.code,
            rec.c.text,
            # As text: decoded only for a page in another language, and only when there is one.
            cast(rec.c.translations, Text).label("translations_json"),
            ci.c.role,
            now.c.state,
            now.c.reported_status,
            now.c.narrative,
            now.c.evidence,
            now.c.next_milestone_date,
            now.c.obstacle,
            now.c.no_change,
            now.c.milestone_reports,
            now.c.version,
            now.c.reviewer_question,
            last.c.reported_status.label("previous_status"),
            last.c.narrative.label("previous_narrative"),
            last.c.assessed_status.label("previous_assessed"),
            last.c.assessment_rationale.label("previous_rationale"),
            ms.c.id.label("milestone_id"),
            ms.c.title,
            ms.c.due_date,
            ms.c.state.label("milestone_state"),
            ms.c.done_on,
            ms.c.note,
            packed_files(ci),
        )
        .select_from(ci)
        .join(rec, rec.c.id == ci.c.recommendation_id)
        .outerjoin(now, answer_of_item)
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
        .outerjoin(
            ms,
            and_(
                ms.c.recommendation_id == ci.c.recommendation_id,
                or_(ms.c.agency_code.is_(None), ms.c.agency_code == ci.c.agency_code),
            ),
        )
        .where(
            ci.c.cycle_id == bindparam("cycle_id"),
            ci.c.agency_code == bindparam("agency_code"),
            ci.c.recommendation_id.in_(bindparam("ids", expanding=True)),
        )
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


def _text(row: Row[Any], language: str) -> str:
    """The item's text in `language` when the recommendation has a translation there, else as written."""
    if language == Language.EN or row.translations_json in (None, "{}"):
        return str(row.text)
    return text_in(row.text, json.loads(row.translations_json), language)
