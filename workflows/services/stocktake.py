"""Use cases: build a cycle's stock-take from the database and write it in every format.

The data comes in a fixed handful of bulk queries (whatever the number of recommendations and
agencies); rendering lives in `reporting/`, which knows nothing about the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.errors import ValidationError
from domain.launch import cycle_slug
from domain.model import Answering, Milestone, StockTakeCycle
from domain.ports import Clock
from domain.stocktake import ClosedItem, CycleInfo, StockTake, StocktakeFigures, assemble_stocktake
from reporting import FORMATS
from workflows.queries.evidence import packed_files, unpack
from workflows.queries.figures import closed_query, latest_before


def _info(cycle: StockTakeCycle) -> CycleInfo:
    return CycleInfo(
        name=cycle.name,
        hlcp_session=cycle.hlcp_session,
        deadline=cycle.deadline,
        launched_at=cycle.launched_at,
        symbol=cycle.symbol,
        venue=cycle.venue,
        document_date=cycle.document_date,
        action_requested=cycle.action_requested,
    )


# The document fields `set_document` may change, with their longest allowed length (None: any).
DOCUMENT_FIELDS: dict[str, int | None] = {
    "hlcp_session": 200,
    "symbol": 100,
    "venue": 200,
    "document_date": None,
    "action_requested": None,
}


def check_document(values: dict[str, str | date | None]) -> None:
    """Refuse unknown document fields and texts longer than their column."""
    for name, value in values.items():
        if name not in DOCUMENT_FIELDS:
            raise ValidationError(name, "is not a document field")
        limit = DOCUMENT_FIELDS[name]
        if isinstance(value, str) and limit is not None and len(value) > limit:
            raise ValidationError(name, f"is {len(value)} characters long; at most {limit} fit")


def set_document(uow: SqlUnitOfWork, cycle_name: str, **values: str | date | None) -> None:
    """Set the form of a cycle's stock-take document (symbol, session, venue, date, action requested).

    Only the fields given change; an empty string clears a field back to its default.
    """
    check_document(values)
    with uow:
        cycle = uow.cycles.require(cycle_name)
        for name, value in values.items():
            setattr(cycle, name, value if value != "" else None)
        uow.commit()


def previous_cycle(uow: SqlUnitOfWork, cycle: StockTakeCycle) -> StockTakeCycle | None:
    """The latest cycle launched before `cycle` (for a cycle not yet launched: the latest launched)."""
    return uow.session.scalars(latest_before(select(StockTakeCycle), cycle.id, cycle.launched_at)).first()


def build_stocktake(uow: SqlUnitOfWork, cycle_name: str, *, today: date) -> StockTake:
    """The stock-take of `cycle_name` as of `today`, compared with the previous cycle."""
    session = uow.session
    cycle = uow.cycles.require(cycle_name)
    previous = previous_cycle(uow, cycle)
    items_t, updates_t = tables.cycle_items, tables.status_updates
    in_cycle = select(items_t.c.recommendation_id).where(items_t.c.cycle_id == cycle.id).distinct()

    items = session.execute(select(items_t).where(items_t.c.cycle_id == cycle.id)).all()
    recommendations = session.execute(
        select(tables.recommendations).where(tables.recommendations.c.id.in_(in_cycle))
    ).all()
    a = tables.agencies.c
    agencies = session.execute(select(a.code, a.name, a.short_name, a.article, a.answers)).all()
    names = {row.code: row.name for row in agencies}
    display = {row.code: f"{row.article} {row.short_name or row.name}".strip() for row in agencies}
    by_secretariat = frozenset(row.code for row in agencies if row.answers == Answering.SECRETARIAT)
    updates = session.execute(
        select(updates_t, packed_files(updates_t)).where(updates_t.c.cycle_id == cycle.id)
    ).all()
    previous_updates: Sequence[Any] = ()
    if previous is not None:
        u = updates_t.c
        previous_updates = session.execute(
            select(u.recommendation_id, u.agency_code, u.state, u.reported_status, u.assessed_status).where(
                updates_t.c.cycle_id == previous.id, updates_t.c.recommendation_id.in_(in_cycle)
            )
        ).all()
    milestone_rows = session.execute(
        select(tables.milestones).where(tables.milestones.c.recommendation_id.in_(in_cycle))
    ).all()
    milestones = [
        Milestone(
            recommendation_id=m.recommendation_id,
            title=m.title,
            due_date=m.due_date,
            agency_code=m.agency_code,
            state=m.state,
        )
        for m in milestone_rows
    ]
    for milestone, row in zip(milestones, milestone_rows, strict=True):
        milestone.done_on, milestone.note = row.done_on, row.note
    return assemble_stocktake(
        cycle=_info(cycle),
        previous=_info(previous) if previous else None,
        today=today,
        recommendations=recommendations,
        items=items,
        agency_names=names,
        updates=updates,
        previous_updates=previous_updates,
        milestones=milestones,
        source_titles=sorted({r.source for r in recommendations}),
        display_names=display,
        answered_by_secretariat=by_secretariat,
        closed=closed_items(uow),
        evidence_files={
            (u.recommendation_id, u.agency_code): unpack(u.files_packed, u.recommendation_id, u.agency_code)
            for u in updates
        },
    )


def closed_items(uow: SqlUnitOfWork) -> list[ClosedItem]:
    """The recommendations the secretariat closed, with how, why and when (their latest move); one query."""
    latest = {row.code: row for row in uow.session.execute(closed_query())}  # by id: the last move wins
    return [
        ClosedItem(row.code, row.text, row.state, row.why, row.at.date() if row.at else None)
        for row in latest.values()
    ]


def report_file_name(cycle_name: str, fmt: str) -> str:
    """The file a cycle's stock-take is written to, in one format (the portal serves it by this name)."""
    return f"{cycle_slug(cycle_name)}-stocktake.{fmt}"


def _renderer(fmt: str) -> Callable[[StockTake], bytes]:
    """One format's renderer, importing that format's module only.

    Imported here so building the data does not pay for them, and one by one: importing every
    renderer (matplotlib, python-docx, openpyxl) took a quarter of writing the Markdown alone.
    """
    if fmt == "docx":
        from reporting.docx import render_docx

        return render_docx
    if fmt == "html":
        from reporting.html import render_html

        return lambda st: render_html(st).encode()
    if fmt == "md":
        from reporting.markdown import render_markdown

        return lambda st: render_markdown(st).encode()
    from reporting.xlsx import render_xlsx

    return render_xlsx


def _write_atomically(path: Path, content: bytes) -> None:
    # Write next to the target and rename: a reader never sees half a report. (Not mkstemp: its
    # owner-only mode would stick to the report; `open(..., "xb")` honours the umask.)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_reports(
    uow: SqlUnitOfWork,
    cycle_name: str,
    *,
    formats: Sequence[str] = FORMATS,
    out_dir: Path,
    clock: Clock,
) -> dict[str, Path]:
    """Write `<cycle-slug>-stocktake.<ext>` for each format into `out_dir`; returns format -> path."""
    return write_stocktake(uow, cycle_name, formats=formats, out_dir=out_dir, clock=clock).paths


@dataclass(frozen=True)
class WrittenStocktake:
    """The report files written (format -> path) and the figures they state."""

    paths: dict[str, Path]
    figures: StocktakeFigures


def write_stocktake(
    uow: SqlUnitOfWork,
    cycle_name: str,
    *,
    formats: Sequence[str] = FORMATS,
    out_dir: Path,
    clock: Clock,
) -> WrittenStocktake:
    """Write the stock-take in each format; the paths, and the figures for the e-mail and the artifact."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValidationError("format", f"'{', '.join(unknown)}' is not one of {', '.join(FORMATS)}")
    with uow:
        stocktake = build_stocktake(uow, cycle_name, today=clock.today())
    # Render everything first, so a failing format leaves no partial set of files behind.
    rendered = {fmt: _renderer(fmt)(stocktake) for fmt in dict.fromkeys(formats)}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for fmt, content in rendered.items():
        paths[fmt] = out_dir / report_file_name(cycle_name, fmt)
        _write_atomically(paths[fmt], content)
    return WrittenStocktake(paths, stocktake.figures)
