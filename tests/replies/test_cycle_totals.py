"""The cycles' kept totals (`db.totals`) equal what counting the snapshot and the answers gives, through
a cycle's life on both backends, and the migration that brought them counts the cycles already there."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from alembic import command
from openpyxl import load_workbook
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import sessionmaker

from db import tables
from db.engine import make_engine
from db.migrate import alembic_config, upgrade
from db.reads import answered_per
from db.unit_of_work import SqlUnitOfWork
from domain.answers import RawAnswer
from tests.factories import add_recommendations
from tests.fakes import FakeNotifier
from workflows import bootstrap
from workflows.queries.cycle_list import list_cycles
from workflows.services import closing, replies, review
from workflows.services import launch as launching
from workflows.services.agencies import load_registry
from workflows.services.reply_template import COLUMNS, HEADER_ROW, write_template
from workflows.services.spreadsheets import import_reply_file

LAUNCH_DAY = date(2026, 3, 2)
DEADLINE = date(2026, 4, 1)
CYCLE = "Spring 2026"
BY = "hlcp secretariat"
# ILO answers for itself, the GMG through the ILO, the secretariat for the HLCP (no request).
REGISTRY = """
agencies:
  - code: ILO
    name: International Labour Organization
    contacts: [{name: ILO focal point, email: focal@ilo.example.org}]
  - code: GMG
    name: Global Migration Group
    answers: {through: ILO}
    contacts: [{name: GMG chair, email: chair@gmg.example.org}]
  - code: HLCP
    name: High-Level Committee on Programmes
    answers: secretariat
    contacts: [{name: HLCP secretary, email: secretary@hlcp.example.org}]
"""


def counted(conn: Connection) -> dict[int, tuple[int, int, int]]:
    """Per cycle, its items, their recommendations and its answered items, counted as `cycle list` and
    `cycle show` counted them before."""
    ci, su = tables.cycle_items, tables.status_updates
    requested = {
        row.cycle_id: (row.items, row.recommendations)
        for row in conn.execute(
            select(
                ci.c.cycle_id,
                func.count().label("items"),
                func.count(func.distinct(ci.c.recommendation_id)).label("recommendations"),
            ).group_by(ci.c.cycle_id)
        )
    }
    answered: dict[int, int] = dict(conn.execute(answered_per(su.c.cycle_id)).all())
    return {cycle: (*items, answered.get(cycle, 0)) for cycle, items in requested.items()}


def kept(conn: Connection) -> dict[int, tuple[int, int, int]]:
    return {
        row.cycle_id: (row.requested_items, row.recommendations, row.answered_items)
        for row in conn.execute(select(tables.cycle_totals))
    }


def totals(uow: SqlUnitOfWork) -> tuple[dict[int, tuple[int, int, int]], dict[int, tuple[int, int, int]]]:
    with uow:
        conn = uow.session.connection()
        return kept(conn), counted(conn)


def test_the_kept_totals_equal_the_counted_ones_after_every_step_of_two_cycles_lives(
    settings_env: None, uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    load_registry(uow, REGISTRY, source="registry.yaml")
    ids = add_recommendations(
        uow, {"A1.1": ["ILO"], "A1.2": ["ILO", "GMG"], "A2.1": ["ILO"], "SR1": ["HLCP", "ILO"]}
    )
    config, clock = bootstrap.cycle_config(), bootstrap.FixedClock(LAUNCH_DAY + timedelta(days=3))
    steps = []

    def check(step: str, cycle_id: int) -> None:
        now_kept, now_counted = totals(uow)
        requested, _, answered = now_kept[cycle_id]
        steps.append((requested, answered))
        assert now_kept == now_counted, step

    def launch(name: str, day: date) -> int:
        deadline = day + (DEADLINE - LAUNCH_DAY)
        launched = launching.launch_cycle(
            uow,
            FakeNotifier(),
            bootstrap.FixedClock(day),
            config,
            name=name,
            deadline=deadline,
            allow_placeholders=True,
        )
        return launched.cycle_id

    def ilo_saves(codes: list[str], *, submit: bool) -> None:
        answers = [RawAnswer(ids[code], status="in_progress", narrative=f"On {code}.") for code in codes]
        notifier = bootstrap.notifier(uow, clock)
        replies.save_reply(uow, notifier, clock, config, ilo, answers, submit=submit, grace_days=14)

    cycle_id = launch(CYCLE, LAUNCH_DAY)
    with uow:
        request = uow.requests.get(cycle_id, "ILO")
        assert request is not None
        ilo = config.reply_token(cycle_id, "ILO", request.token_nonce)
    check("launched", cycle_id)
    ilo_saves(["A1.1", "A1.2"], submit=False)
    check("drafts saved", cycle_id)
    ilo_saves(["A1.1", "A1.2", "A2.1", "SR1"], submit=True)
    check("submitted", cycle_id)
    sheet = write_template(uow, config, CYCLE, "GMG", tmp_path / "gmg.xlsx")
    book = load_workbook(sheet)
    status = [column.header for column in COLUMNS].index("Status") + 1
    book.active.cell(HEADER_ROW + 1, status).value = "Ongoing"
    book.save(sheet)
    import_reply_file(uow, bootstrap.notifier(uow, clock), clock, config, sheet)
    check("spreadsheet imported", cycle_id)
    review.answer_for_body(uow, clock, CYCLE, ["SR1"], "HLCP", status="ongoing", narrative="Tabled.", by=BY)
    check("answered for the HLCP", cycle_id)
    review.return_item(
        uow, bootstrap.notifier(uow, clock), clock, config, CYCLE, "A1.2", "ILO", question="Which?", by=BY
    )
    check("returned", cycle_id)
    ilo_saves(["A1.2"], submit=False)
    check("returned answer saved as a draft", cycle_id)
    ilo_saves(["A1.2"], submit=True)
    check("answered again", cycle_id)
    review.accept(uow, clock, CYCLE, "A1.2", "GMG", by=BY)
    review.accept_all(uow, clock, CYCLE, "ILO", by=BY)
    check("accepted", cycle_id)
    closing.close_cycle(
        lambda: uow,
        lambda _uow: bootstrap.notifier(_uow, clock),
        clock,
        config,
        cycle_name=CYCLE,
        inbox_dir=tmp_path / "inbox",
        reports_dir=tmp_path / "reports",
        formats=["md"],
    )
    check("closed", cycle_id)
    check("next cycle launched", launch("Autumn 2026", LAUNCH_DAY + timedelta(days=180)))

    # ILO 4 items, the GMG 1, the HLCP 1; every answer counted once it is submitted or accepted.
    assert steps == [(6, 0), (6, 0), (6, 4), (6, 5), (6, 6), (6, 5), (6, 5), (6, 6), (6, 6), (6, 6), (6, 0)]
    with uow:
        lines = list_cycles(uow.session.connection())
    assert [(line.name, line.requested, line.answered) for line in lines] == [
        (CYCLE, 6, 6),
        ("Autumn 2026", 6, 0),
    ]


def test_the_migration_counts_the_totals_of_the_cycles_already_there(
    settings_env: None, database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    uow = SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False))
    load_registry(uow, REGISTRY, source="registry.yaml")
    ids = add_recommendations(uow, {"A1.1": ["ILO"], "A1.2": ["ILO", "GMG"], "SR1": ["HLCP"]})
    config, clock = bootstrap.cycle_config(), bootstrap.FixedClock(LAUNCH_DAY)
    launched = launching.launch_cycle(
        uow, FakeNotifier(), clock, config, name=CYCLE, deadline=DEADLINE, allow_placeholders=True
    )
    with uow:
        [ilo] = [r for r in uow.requests.for_cycle(launched.cycle_id) if r.agency_code == "ILO"]
        token = config.reply_token(launched.cycle_id, "ILO", ilo.token_nonce)
    answers = [RawAnswer(ids[code], status="in_progress", narrative="Begun.") for code in ("A1.1", "A1.2")]
    replies.save_reply(uow, FakeNotifier(), clock, config, token, answers, submit=True, grace_days=14)
    command.downgrade(alembic_config(database_url), "0015")
    upgrade(database_url)
    with engine.connect() as conn:
        assert kept(conn) == counted(conn) == {launched.cycle_id: (4, 3, 2)}
    engine.dispose()


def test_an_answer_whose_state_was_expired_still_moves_the_totals_by_its_previous_state(
    settings_env: None, uow: SqlUnitOfWork
) -> None:
    load_registry(uow, REGISTRY, source="registry.yaml")
    add_recommendations(uow, {"A1.1": ["HLCP"]})
    clock = bootstrap.FixedClock(LAUNCH_DAY)
    config = bootstrap.cycle_config()
    launched = launching.launch_cycle(
        uow, FakeNotifier(), clock, config, name=CYCLE, deadline=DEADLINE, allow_placeholders=True
    )
    review.answer_for_body(uow, clock, CYCLE, ["A1.1"], "HLCP", status="ongoing", narrative="Tabled.", by=BY)
    with uow:
        [answer] = uow.updates.for_request(launched.cycle_id, "HLCP")
        uow.session.expire(answer, ["state"])  # as after a rollback: its state is no longer loaded
        answer.state = "returned"
        uow.commit()
    now_kept, now_counted = totals(uow)
    assert now_kept == now_counted == {launched.cycle_id: (1, 1, 0)}
