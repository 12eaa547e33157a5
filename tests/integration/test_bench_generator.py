"""The benchmark data is realistic where it matters: owners, history, and the report convention."""

from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import func, select

from benchmarks import generate
from db import tables
from db.engine import make_engine
from domain.importer import parse_report


def test_every_generated_item_has_one_lead_and_at_most_three_owners_and_every_agency_owns_items(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        population = generate.populate(engine, recommendations=600, agencies=40)
        with engine.connect() as conn:
            own = tables.ownerships
            leads = Counter(
                conn.execute(select(own.c.recommendation_id).where(own.c.role == "lead")).scalars()
            )
            owners = Counter(conn.execute(select(own.c.recommendation_id)).scalars())
            owning = set(conn.execute(select(own.c.agency_code).distinct()).scalars())
            points: dict[int | None, int] = dict(
                conn.execute(
                    select(tables.recommendations.c.agenda_point, func.count()).group_by(
                        tables.recommendations.c.agenda_point
                    )
                ).all()
            )
            updates = conn.execute(select(func.count()).select_from(tables.status_updates)).scalar_one()
            closed = conn.execute(
                select(func.count()).select_from(tables.cycles).where(tables.cycles.c.state == "closed")
            ).scalar_one()
    finally:
        engine.dispose()
    assert len(population.recommendation_ids) == 600
    assert set(leads.values()) == {1} and len(leads) == 600
    assert set(owners.values()) <= {1, 2, 3}
    assert owning == set(population.agencies) and len(owning) == 40
    assert set(points) == {None, *range(1, 9)}, "strategic items and the eight agenda points"
    assert closed == 3 and updates == 3 * len(population.owners), "three previous cycles, every part answered"


def test_a_generated_system_has_agencies_in_proportion_to_its_items_from_30_to_300() -> None:
    assert [generate.agencies_for(n) for n in (1_000, 10_000, 30_000, 100_000, 1_000_000)] == [
        30,
        100,
        300,
        300,
        300,
    ]


def test_the_generated_report_imports_to_exactly_the_generated_codes_texts_and_parents() -> None:
    text = generate.report_text(2000, seed=5)
    expected = generate.catalogue(2000, random.Random(5))
    parsed = parse_report(text, source="BENCH/TEST").items
    assert [i.code for i in parsed] == [e.code for e in expected]
    assert [(i.parent, i.agenda_point, i.theme) for i in parsed] == [
        (e.parent_code, e.agenda_point, e.theme) for e in expected
    ]
    assert all(i.text.rstrip(".") == e.text.rstrip(".") for i, e in zip(parsed, expected, strict=True))
