"""The stock-take's data, read in a fixed handful of bulk queries whatever the size of the cycle."""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, Text, case, cast, select
from sqlalchemy.orm import Session

from db import tables
from db.evidence import packed_files, unpack
from db.reads import closed_query, latest_before
from domain.language import Language
from domain.model import Answering, StockTakeCycle, running_name, text_in
from domain.stocktake import ClosedItem, CycleInfo, StockTake, assemble_stocktake


def _unless_empty(column: Any, empty: str) -> Any:
    """A JSON column as its text, NULL when it holds `empty` (decoded by `_decoded`).

    Nearly every answer's evidence is `[]` and nearly every recommendation's translations `{}`:
    decoding 300,000 of them took an eighth of a 100,000-item stock-take.
    """
    text = cast(column, Text)
    return case((text == empty, None), else_=text).label(column.name)


def _decoded(records: list[Any], field: str) -> list[Any]:
    """The records with `field` (read by `_unless_empty`) decoded where it holds something."""
    return [r._replace(**{field: json.loads(getattr(r, field))}) if getattr(r, field) else r for r in records]


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

    def _records(self, query: Select[Any]) -> list[Any]:
        """The query's rows as named tuples: a Row reads a column by name ten times slower, and the
        report reads each of tens of thousands of rows' columns several times."""
        result = self.session.execute(query)
        record = namedtuple("Record", list(result.keys()))  # type: ignore[misc]  # fields known at run time
        return list(map(record._make, result.all()))

    def of_cycle(self, cycle: StockTakeCycle, today: date, language: str = Language.EN) -> StockTake:
        """The stock-take of `cycle` as of `today`, compared with the previous cycle.

        Running text names an agency in `language` as the e-mails do (`running_name`: "the World
        Bank", "la Banque mondiale"). A recommendation's text is its translation in `language` when
        it has one.
        """
        previous = self.previous_cycle(cycle)
        items_t, updates_t = tables.cycle_items, tables.status_updates
        in_cycle = select(items_t.c.recommendation_id).where(items_t.c.cycle_id == cycle.id).distinct()

        i = items_t.c  # only what the report reads of the owners' parts (the cycle's index covers it)
        items = self._records(
            select(i.recommendation_id, i.agency_code, i.role).where(i.cycle_id == cycle.id)
        )
        rec = tables.recommendations.c
        recommendations = [
            # Quoted in `language` when imported in it too; else as the report wrote it.
            r._replace(text=text_in(r.text, r.translations, language)) if r.translations else r
            for r in _decoded(
                self._records(
                    select(*(_unless_empty(c, "{}") if c is rec.translations else c for c in rec)).where(
                        rec.id.in_(in_cycle)
                    )
                ),
                "translations",
            )
        ]
        a = tables.agencies.c
        agencies = self.session.execute(
            select(a.code, a.name, a.short_name, a.article, a.answers, a.translations)
        ).all()
        names = {row.code: row.name for row in agencies}
        display = {row.code: running_name(row, language) for row in agencies}
        by_secretariat = frozenset(row.code for row in agencies if row.answers == Answering.SECRETARIAT)
        u = updates_t.c
        # The columns the report shows: not the milestones reported (JSON decoded per row for nothing).
        updates = _decoded(
            self._records(
                select(
                    u.recommendation_id, u.agency_code, u.state, u.reported_status, u.assessed_status,
                    u.assessment_rationale, u.narrative, _unless_empty(u.evidence, "[]"), u.obstacle,
                    u.next_milestone_date, u.reported_by, u.reported_at, u.channel, u.no_change,
                    packed_files(updates_t),
                ).where(u.cycle_id == cycle.id),
            ),
            "evidence",
        )  # fmt: skip
        previous_updates: Sequence[Any] = ()
        if previous is not None:
            previous_updates = self._records(
                select(
                    u.recommendation_id, u.agency_code, u.state, u.reported_status, u.assessed_status
                ).where(updates_t.c.cycle_id == previous.id, updates_t.c.recommendation_id.in_(in_cycle)),
            )
        milestones = self._records(
            select(tables.milestones).where(tables.milestones.c.recommendation_id.in_(in_cycle))
        )
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
            closed=self.closed_items(today),
            evidence_files={  # the few answers with files: the rest have none by default
                (row.recommendation_id, row.agency_code): unpack(
                    row.files_packed, row.recommendation_id, row.agency_code
                )
                for row in updates
                if row.files_packed
            },
        )

    def closed_items(self, until: date) -> list[ClosedItem]:
        """The recommendations closed by day `until`, with how, why and when (their latest move)."""
        rows = self.session.execute(closed_query(until)).all()
        latest = {row.code: row for row in rows}  # ordered by id: the last move wins
        return [
            ClosedItem(row.code, row.text, row.state, row.why, row.at.date() if row.at else None)
            for row in latest.values()
        ]
