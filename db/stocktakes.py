"""The stock-take's data, read in a fixed handful of bulk queries whatever the size of the cycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import tables
from db.evidence import packed_files, unpack
from db.reads import closed_query, latest_before
from domain.model import Answering, Milestone, StockTakeCycle
from domain.stocktake import ClosedItem, CycleInfo, StockTake, assemble_stocktake


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


class Stocktakes:
    """Each cycle's stock-take, assembled by `domain.stocktake` from bulk reads."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def previous_cycle(self, cycle: StockTakeCycle) -> StockTakeCycle | None:
        """The latest cycle launched before `cycle` (for a cycle not yet launched: the latest launched)."""
        return self.session.scalars(
            latest_before(select(StockTakeCycle), cycle.id, cycle.launched_at)
        ).first()

    def of_cycle(self, cycle: StockTakeCycle, today: date) -> StockTake:
        """The stock-take of `cycle` as of `today`, compared with the previous cycle."""
        session = self.session
        previous = self.previous_cycle(cycle)
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
                select(
                    u.recommendation_id, u.agency_code, u.state, u.reported_status, u.assessed_status
                ).where(updates_t.c.cycle_id == previous.id, updates_t.c.recommendation_id.in_(in_cycle))
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
            closed=self.closed_items(),
            evidence_files={
                (u.recommendation_id, u.agency_code): unpack(
                    u.files_packed, u.recommendation_id, u.agency_code
                )
                for u in updates
            },
        )

    def closed_items(self) -> list[ClosedItem]:
        """The recommendations the secretariat closed, with how, why and when (their latest move)."""
        rows = self.session.execute(closed_query()).all()
        latest = {row.code: row for row in rows}  # ordered by id: the last move wins
        return [
            ClosedItem(row.code, row.text, row.state, row.why, row.at.date() if row.at else None)
            for row in latest.values()
        ]
