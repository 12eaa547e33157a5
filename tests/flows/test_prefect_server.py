"""The daily follow-up against a real `prefect server`, read back through the Prefect client."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from domain.model import Milestone
from tests.factories import open_cycle
from tests.prefect_server import BIN, running_prefect_server
from tests.support import submit_answers
from workflows import bootstrap

pytestmark = pytest.mark.slow

DEADLINE = date(2026, 4, 1)


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[str]:
    """A real Prefect server on a free loopback port with its own PREFECT_HOME; its API URL."""
    with running_prefect_server(tmp_path) as url:
        yield url


@pytest.mark.parametrize("backend", ["sqlite"])  # the server is what is under test here, not the database
def test_the_daily_follow_up_publishes_the_overdue_agencies_artifact_and_events_to_a_prefect_server(
    catalogue: dict[str, int], prefect_server: str, tmp_path: Path
) -> None:
    open_cycle(bootstrap.uow(), "Spring 2026", DEADLINE, ["ILO", "IOM", "UNHCR"])
    submit_answers("Spring 2026", "ILO", [catalogue["SR1"]], DEADLINE)
    with bootstrap.uow() as uow:
        uow.milestones.add(
            Milestone(
                recommendation_id=catalogue["A2.1"],
                title="Guidance note",
                due_date=DEADLINE,
                agency_code="UNHCR",
            )
        )
        uow.commit()
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "PREFECT_HOME": str(tmp_path / "prefect-client")}
    day = DEADLINE + timedelta(days=1)
    check = subprocess.run(
        [str(BIN / "followup"), "check", "--today", day.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert check.returncode == 0, check.stderr[-3000:]
    assert "Starting temporary server" not in check.stderr  # it ran against the real server

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.events.filters import EventFilter, EventNameFilter
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"api.url": prefect_server}), get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["overdue-agencies"]))
        )
        assert isinstance(artifact.data, str)  # a table artifact stores its rows as JSON
        table: list[dict[str, str | int]] = json.loads(artifact.data)
        rows = {(r["agency"], r["request state"], r["items overdue"], r["milestones overdue"]) for r in table}
        assert rows == {("IOM", "overdue", 3, 0), ("UNHCR", "overdue", 2, 1)}
        [run] = client.read_flow_runs()
        assert run.name == f"follow-up {day.isoformat()}"
        # Events are persisted asynchronously (in batches): poll, with a bound.
        wanted = {"followup.request.overdue", "followup.milestone.overdue", "followup.reply.received"}
        give_up = time.monotonic() + 60
        events = []
        while time.monotonic() < give_up:
            page = client.read_events(
                filter=EventFilter(event=EventNameFilter(prefix=["followup."])), limit=50
            )
            events = page.events
            if wanted <= {e.event for e in events}:
                break
            time.sleep(1)
    assert wanted <= {e.event for e in events}
    overdue_iom = next(
        e for e in events if e.event == "followup.request.overdue" and e.payload["agency"] == "IOM"
    )
    assert overdue_iom.resource.id == "followup.cycle.Spring 2026"
    related = {r.id for r in overdue_iom.related}
    assert {"followup.agency.IOM", "followup.recommendation.A1.1"} <= related
    replied = next(e for e in events if e.event == "followup.reply.received")
    assert "followup.agency.ILO" in {r.id for r in replied.related}  # beside the flow run Prefect adds
    [late_milestones] = [e for e in events if e.event == "followup.milestone.overdue"]  # one per agency
    assert late_milestones.resource.id == "followup.agency.UNHCR"
    assert late_milestones.payload["overdue"] == len(late_milestones.payload["milestones"]) == 1
