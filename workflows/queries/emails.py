"""What the e-mails say: the contexts their templates get, the items they list, the keys they go by.

Read models: the launch, the follow-up, the close and a re-issued link build their messages from here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, literal, select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.figures import StocktakeFigures, headline
from domain.language import Language
from domain.lifecycle import CycleState, RequestState, ReviewState
from domain.model import Agency, StatusRequest, StockTakeCycle, text_in
from domain.stocktake import sentence_start
from workflows.config import CycleConfig
from workflows.queries.progress import AgencyProgress


def status_request_key(request: StatusRequest) -> str:
    """The status request's idempotency key: one per link (a re-issued link gets a new one)."""
    return f"status-request:{request.cycle_id}:{request.agency_code}:{request.token_nonce[:8]}"


def queued_keys(uow: SqlUnitOfWork, prefix: str) -> set[str]:
    """The outbox keys that start with `prefix` (what was queued already)."""
    ob = tables.outbox
    return set(
        uow.session.scalars(select(ob.c.idempotency_key).where(ob.c.idempotency_key.startswith(prefix)))
    )


def agencies_by_code(uow: SqlUnitOfWork, codes: Iterable[str]) -> dict[str, Agency]:
    """The agencies with these codes, with their contacts, by code."""
    wanted = set(codes)
    return {a.code: a for a in uow.session.scalars(select(Agency).where(tables.agencies.c.code.in_(wanted)))}


def common_context(cycle: StockTakeCycle, config: CycleConfig, language: str | None = None) -> dict[str, Any]:
    """What every cycle e-mail shows: the cycle, the secretariat's address, the language it is written in.

    Without a `language`, the secretariat's own (the cycle summary).
    """
    return {
        "cycle": {"name": cycle.name, "hlcp_session": cycle.hlcp_session, "deadline": cycle.deadline},
        "secretariat_email": config.secretariat_email,
        "lang": language or config.secretariat_language,
    }


def agency_names(agency: Agency, language: str = Language.EN) -> dict[str, str]:
    """How messages name a body: its code (for codes' columns), full name, and running-text names.

    The article ("the World Bank") is English's: other languages name the body as the registry does.
    """
    display = agency.display_name if language == Language.EN else agency.short_name or agency.name
    return {
        "code": agency.code,
        "name": agency.name,
        "display": display,
        "display_start": sentence_start(display),
    }


def agency_context(
    cycle: StockTakeCycle,
    config: CycleConfig,
    agency: Agency,
    through: Agency | None = None,
    *,
    language: str | None = None,
) -> dict[str, Any]:
    """What an e-mail to one agency shows: the cycle, the secretariat, the agency (and who answers for it).

    Written in `language`, by default the one of the people who answer (the body's or its chair's).
    """
    lang = language or (through or agency).reply_language
    return {
        **common_context(cycle, config, lang),
        "agency": agency_names(agency, lang),
        "through": agency_names(through, lang) if through else None,
    }


def deadline_moves(uow: SqlUnitOfWork, cycle: StockTakeCycle) -> int:
    """How many times the cycle's deadline moved: the deadlines its history records, each change counted.

    Calendar events about the deadline carry it as their SEQUENCE, so a moved deadline updates them.
    """
    h = tables.history
    recorded = uow.session.scalars(
        select(h.c.data)
        .where(h.c.entity == StockTakeCycle.ENTITY, h.c.key == cycle.history_key())
        .order_by(h.c.id)
    )
    deadlines = [data["deadline"] for data in recorded if "deadline" in data]
    return sum(1 for before, after in pairwise(deadlines) if before != after)


def status_request_context(
    cycle: StockTakeCycle,
    config: CycleConfig,
    agency: Agency,
    request: StatusRequest,
    items: list[dict[str, Any]],
    through: Agency | None = None,
    *,
    moves: int,
) -> dict[str, Any]:
    """What the status-request e-mail shows: the link, the items (codes only if in parts), the event.

    `moves` is how often the deadline moved (`deadline_moves`), for the calendar event's SEQUENCE.
    """
    assert cycle.id is not None
    return {
        **agency_context(cycle, config, agency, through),
        "deadline_moves": moves,
        "reply_url": config.reply_url(cycle.id, agency.code, request.token_nonce),
        "item_count": request.item_count,
        "in_parts": request.item_count > config.part_size,
        "items_by_point": items,
    }


def summary_context(
    cycle: StockTakeCycle,
    config: CycleConfig,
    progress: Sequence[AgencyProgress],
    figures: StocktakeFigures,
    paths: Mapping[str, Path],
    report_url: Callable[[Path], str],
) -> dict[str, Any]:
    """What the cycle summary to the secretariat shows: the stock-take's figures, who is late, the reports.

    Every number comes from the report's figures, so the e-mail and the report cannot disagree.
    """
    first_report = next(iter(paths.values()), None)
    return {
        **common_context(cycle, config),
        "figures": figures.as_dict(),
        "headline": [{"label": label, "value": value} for label, value in headline(figures)],
        "overdue_agencies": [
            {"code": p.code, "name": p.name, "display": p.display, "display_start": sentence_start(p.display)}
            for p in progress
            if p.missing
        ],
        "report_paths": [str(path) for path in paths.values()],
        "report_url": report_url(first_report) if first_report else None,
    }


def previous_cycle_id(uow: SqlUnitOfWork, cycle: StockTakeCycle) -> int | None:
    """The cycle before this one (not cancelled), whose answers are shown as last time's."""
    c = tables.cycles
    return uow.session.scalar(
        select(c.c.id)
        .where(
            c.c.id != cycle.id, c.c.created_at <= cycle.created_at, c.c.state != CycleState.CANCELLED.value
        )
        .order_by(c.c.created_at.desc(), c.c.id.desc())
        .limit(1)
    )


def items_by_point(
    uow: SqlUnitOfWork,
    cycle: StockTakeCycle,
    agency_codes: Sequence[str],
    *,
    codes_only: Iterable[str] = (),
    languages: Mapping[str, str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Each agency's items grouped by agenda point, with what it said last cycle.

    Agencies in `codes_only` get their items' codes and roles without texts or last answers: their
    e-mail lists codes only, and 20,000 texts are most of a large launch's reading. An agency with a
    language in `languages` gets the texts translated into it where they are.
    """
    ci, r, su = tables.cycle_items, tables.recommendations, tables.status_updates
    brief = set(codes_only)
    full = [code for code in agency_codes if code not in brief]
    previous = previous_cycle_id(uow, cycle)
    last = and_(
        su.c.cycle_id == previous,
        su.c.recommendation_id == ci.c.recommendation_id,
        su.c.agency_code == ci.c.agency_code,
        su.c.state != ReviewState.DRAFT.value,
    )
    layout = (ci.c.agency_code, ci.c.role, r.c.code, r.c.kind, r.c.agenda_point, r.c.agenda_title)
    details = (r.c.text, r.c.translations, su.c.reported_status, su.c.narrative)
    rows = [
        *uow.session.execute(
            select(*layout, *details)
            .join(r, r.c.id == ci.c.recommendation_id)
            .outerjoin(su, last)
            .where(ci.c.cycle_id == cycle.id, ci.c.agency_code.in_(full))
            .order_by(ci.c.agency_code, r.c.source, r.c.position)
        ).all(),  # one fetch, not one driver call per row (20,000 rows at 10k items)
        *uow.session.execute(
            select(*layout, *(literal(None).label(c.name) for c in details))
            .join(r, r.c.id == ci.c.recommendation_id)
            .where(ci.c.cycle_id == cycle.id, ci.c.agency_code.in_([c for c in agency_codes if c in brief]))
            .order_by(ci.c.agency_code, r.c.source, r.c.position)
        ).all(),
    ]
    points: dict[str, dict[int | None, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        point = points[row.agency_code].setdefault(
            row.agenda_point,
            {
                "kind": row.kind,
                "agenda_point": row.agenda_point,
                "agenda_title": row.agenda_title or "",
                "items": [],
            },
        )
        point["items"].append(
            {
                "code": row.code,
                "text": text_in(row.text or "", row.translations, (languages or {}).get(row.agency_code, "")),
                "role": row.role,
                "last_status": row.reported_status,
                "last_narrative": row.narrative or "",
            }
        )
    return {code: list(by_point.values()) for code, by_point in points.items()}


def status_requests_sent(uow: SqlUnitOfWork, cycle_id: int | None) -> dict[tuple[int, str], datetime]:
    """When the status request of each pending request (of one open cycle, or all) last left the outbox."""
    ob, sr, c = tables.outbox, tables.status_requests, tables.cycles
    rows = uow.session.execute(
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
