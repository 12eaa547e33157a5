"""The figures from grouped queries (`followup cycle show`, the read API, the public site) are the
figures of the assembled stock-take, on the same data."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from db import tables
from db.totals import write_requested_total
from db.unit_of_work import SqlUnitOfWork
from domain.errors import NotFound
from domain.lifecycle import MilestoneState, RecommendationState, ReviewState
from domain.model import Answering, OwnerRole, ReportedStatus
from tests.support import CURRENT, PREVIOUS
from tests.support import STOCKTAKE_TODAY as TODAY
from workflows.queries.figures import figures_of
from workflows.services.stocktake import build_stocktake

AGENCIES = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")
SECRETARIAT_BODY = "HLCP"
CYCLES = (  # name, launched, deadline
    ("Old", datetime(2024, 1, 10, tzinfo=UTC), date(2024, 2, 10)),
    ("Before", datetime(2025, 1, 10, tzinfo=UTC), date(2025, 2, 10)),
    ("Now", datetime(2025, 7, 10, tzinfo=UTC), date(2025, 8, 10)),
)


def both(uow: SqlUnitOfWork, cycle: str, today: date) -> tuple[dict[str, object], dict[str, object]]:
    """The grouped figures and the assembled stock-take's, as dictionaries."""
    with uow:
        grouped = figures_of(uow.session, cycle, today=today)
        assembled = build_stocktake(uow, cycle, today=today).figures
    return grouped.as_dict(), assembled.as_dict()


def test_the_grouped_figures_of_the_two_cycle_report_are_the_reports(
    uow: SqlUnitOfWork, ids: dict[str, int]
) -> None:
    for cycle, today in ((CURRENT, TODAY), (CURRENT, date(2026, 3, 10)), (PREVIOUS, date(2025, 10, 2))):
        grouped, assembled = both(uow, cycle, today)
        assert grouped == assembled, cycle


def _random_system(uow: SqlUnitOfWork, rng: random.Random) -> None:
    """Cycles whose parts cover every case the figures tell apart: no lead or two, drafts, returned
    and assessed answers, No change, closed recommendations, a body the secretariat answers for."""
    statuses = [s.value for s in ReportedStatus]
    rows: dict[Any, list[dict[str, Any]]] = {
        table: [] for table in (tables.cycle_items, tables.status_updates)
    }
    with uow:
        run = uow.session.execute
        codes = [*AGENCIES, SECRETARIAT_BODY]
        run(
            insert(tables.agencies),
            [
                {
                    "code": code,
                    "name": f"Agency {code}",
                    "aliases": [],
                    "answers": Answering.SECRETARIAT if code == SECRETARIAT_BODY else Answering.SELF,
                }
                for code in codes
            ],
        )
        recommendations = []
        for n in range(80):
            state = rng.choice([RecommendationState.ACTIVE] * 8 + [RecommendationState.IMPLEMENTED])
            recommendations.append(
                {
                    "source": "R",
                    "code": f"A{n // 10}.{n % 10}",
                    "kind": "annex",
                    "agenda_point": n // 10,
                    "text": "A recommendation.",
                    "position": n,
                    "state": state,
                }
            )
        ids = list(
            run(
                insert(tables.recommendations).returning(tables.recommendations.c.id), recommendations
            ).scalars()
        )
        run(
            insert(tables.history),
            [
                {"entity": "recommendation", "key": f"R:{r['code']}", "from_state": "active",
                 "to_state": r["state"], "at": datetime(2025, 5, 1, tzinfo=UTC), "by": "secretariat",
                 "why": "done", "data": {}}
                for r in recommendations
                if r["state"] != RecommendationState.ACTIVE
            ],
        )  # fmt: skip
        run(
            insert(tables.milestones),
            [
                {
                    "recommendation_id": rec_id,
                    "title": f"Milestone {k}",
                    "due_date": date(2025, 1, 1) + timedelta(days=rng.randint(0, 400)),
                    "state": rng.choice(list(MilestoneState)),
                    "agency_code": None,
                }
                for rec_id in ids
                for k in range(rng.choice((0, 0, 1, 2)))
            ],
        )
        owners = {}
        for rec_id in ids:
            leads = rng.choice((1,) * 8 + (0, 2))
            chosen = rng.sample(codes, rng.choice((1, 1, 2, 3)))
            owners[rec_id] = [
                (code, OwnerRole.LEAD if k < leads else OwnerRole.CONTRIBUTOR)
                for k, code in enumerate(chosen)
            ]
        for name, launched, deadline in CYCLES:
            cycle_id = run(
                insert(tables.cycles).returning(tables.cycles.c.id),
                {"name": name, "deadline": deadline, "state": "open", "created_at": launched,
                 "launched_at": launched},
            ).scalar_one()  # fmt: skip
            for rec_id in rng.sample(ids, 70):
                for code, role in owners[rec_id]:
                    rows[tables.cycle_items].append(
                        {"cycle_id": cycle_id, "recommendation_id": rec_id, "agency_code": code, "role": role}
                    )
                    if rng.random() < 0.25:
                        continue
                    rows[tables.status_updates].append(
                        {
                            "cycle_id": cycle_id,
                            "recommendation_id": rec_id,
                            "agency_code": code,
                            "reported_status": rng.choice([*statuses, None]),
                            "assessed_status": rng.choice([None, None, *statuses]),
                            "state": rng.choice(list(ReviewState)),
                            "no_change": rng.random() < 0.3,
                            "narrative": "",
                            "evidence": [],
                            "obstacle": "",
                            "reported_by": "",
                            "assessment_rationale": "",
                            "reviewer_question": "",
                            "version": 1,
                        }
                    )
        for table, values in rows.items():
            run(insert(table), values)
        for cycle_id in {item["cycle_id"] for item in rows[tables.cycle_items]}:
            write_requested_total(uow.session, cycle_id)
        uow.commit()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_grouped_figures_are_the_assembled_stocktakes_whatever_the_answers(
    uow: SqlUnitOfWork, seed: int
) -> None:
    _random_system(uow, random.Random(seed))
    for name, _launched, deadline in CYCLES:
        for today in (deadline - timedelta(days=3), deadline + timedelta(days=30)):
            grouped, assembled = both(uow, name, today)
            assert grouped == assembled, (name, today)
    grouped, _ = both(uow, "Now", date(2025, 9, 1))
    assert grouped["compared"] and grouped["reported"] and grouped["changed"] and grouped["closed"]


def test_the_grouped_figures_of_an_unknown_cycle_name_it(uow: SqlUnitOfWork) -> None:
    with uow, pytest.raises(NotFound, match="no cycle named 'Nowhere'"):
        figures_of(uow.session, "Nowhere", today=TODAY)
