"""Two daily follow-ups running at once on PostgreSQL (two workers): every agency is reminded once."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db import tables
from db.engine import make_engine
from tests.support import SlowSmtpServer, make_catalogue, process_env, run_followup, start_followup

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_follow_ups_at_once_send_no_reminder_twice(
    database_url: str, slow_smtp: SlowSmtpServer, prefect_harness: None, tmp_path: Path
) -> None:
    catalogue = make_catalogue(database_url, agencies=10)
    env = process_env(database_url, slow_smtp.url, tmp_path / "home")
    launched_on = date.today()
    deadline = launched_on + timedelta(days=28)
    log = tmp_path / "followup.log"
    run_followup(
        "cycle",
        "launch",
        "Twice",
        "--deadline",
        deadline.isoformat(),
        "--allow-placeholders",
        env=env,
        log=log,
    )
    slow_smtp.messages.clear()
    slow_smtp.envelopes.clear()

    # Slow answers keep both workers sending at the same time, each claiming what the other has not.
    slow_smtp.delay = 0.2
    check = ("check", "--today", (deadline - timedelta(days=7)).isoformat())
    workers = [start_followup(*check, env=env, log=tmp_path / f"worker-{n}.log") for n in (1, 2)]
    for n, worker in enumerate(workers, start=1):
        assert worker.wait(timeout=300) == 0, (tmp_path / f"worker-{n}.log").read_text()[-4000:]

    received = slow_smtp.count_by_recipient()
    assert {catalogue.focal_point(a): received[catalogue.focal_point(a)] for a in catalogue.agencies} == {
        catalogue.focal_point(a): 1 for a in catalogue.agencies
    }
    assert len(slow_smtp.messages) == len(catalogue.agencies)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            ob = tables.outbox
            reminders = conn.execute(
                select(ob.c.agency_code, func.count())
                .where(ob.c.kind == "reminder")
                .group_by(ob.c.agency_code)
            ).all()
    finally:
        engine.dispose()
    assert dict(reminders) == dict.fromkeys(catalogue.agencies, 1)
