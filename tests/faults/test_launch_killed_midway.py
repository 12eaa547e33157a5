"""Kill the launch flow while it is sending, run it again: every agency gets its request exactly once."""

from __future__ import annotations

import os
import signal
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, Table, func, select

from db import tables
from db.engine import make_engine
from tests.support import SlowSmtpServer, make_catalogue, process_env, run_followup, start_followup

pytestmark = pytest.mark.slow


def _count(database_url: str, table: Table, *where: ColumnElement[bool]) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())
    finally:
        engine.dispose()


def test_a_launch_killed_while_sending_and_run_again_asks_every_agency_exactly_once(
    database_url: str, slow_smtp: SlowSmtpServer, prefect_harness: None, tmp_path: Path
) -> None:
    catalogue = make_catalogue(database_url, agencies=8)
    slow_smtp.delay = 0.5  # each message arrives, then its sender waits half a second for the reply
    env = process_env(database_url, slow_smtp.url, tmp_path / "home")
    deadline = (date.today() + timedelta(days=28)).isoformat()
    launch = ("cycle", "launch", "Killed launch", "--deadline", deadline, "--allow-placeholders")
    log = tmp_path / "followup.log"

    first = start_followup(*launch, env=env, log=log)
    arrived_at_kill = 0
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up and first.poll() is None:
        if len(slow_smtp.messages) >= 3:
            # Killed while waiting for the server's answer to the third message (it has arrived).
            os.killpg(first.pid, signal.SIGKILL)
            arrived_at_kill = len(slow_smtp.messages)
            break
        time.sleep(0.01)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL, (
        f"the launch was not killed mid-way:\n{log.read_text()[-3000:]}"
    )
    assert 3 <= arrived_at_kill < len(catalogue.agencies)

    slow_smtp.delay = 0.0
    run_followup(*launch, env=env, log=log)
    # The next day's follow-up settles the message whose sender died (it is not sent blindly again),
    # and, since its delivery is unknown, ends not green and exits 1 for an operator to check it.
    check = ("check", "--today", (date.today() + timedelta(days=2)).isoformat())
    run_followup(*check, env=env, log=log, expect_exit=1)
    assert "1 given up" in log.read_text() and "delivery unknown" in log.read_text()

    received = slow_smtp.count_by_recipient()
    assert {catalogue.focal_point(a): received[catalogue.focal_point(a)] for a in catalogue.agencies} == {
        catalogue.focal_point(a): 1 for a in catalogue.agencies
    }
    assert len(slow_smtp.messages) == len(catalogue.agencies)
    assert _count(database_url, tables.cycles) == 1
    assert _count(database_url, tables.status_requests) == len(catalogue.agencies)
    assert _count(database_url, tables.cycle_items) == catalogue.owner_pairs
    assert _count(database_url, tables.outbox, tables.outbox.c.kind == "status-request") == len(
        catalogue.agencies
    )
