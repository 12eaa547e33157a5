"""The cycle flows under Prefect's test harness, sending to a real SMTP server on loopback."""

from __future__ import annotations

import contextlib
import json
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.lifecycle import RequestState
from tests.smtp import SmtpServer
from tests.support import FLOWS_DEADLINE as DEADLINE
from tests.support import LAUNCH_DAY, latest_artifact, launch, outcome, sent_messages, submit_answers
from workflows import bootstrap

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

AGENCIES = ["ILO", "IOM", "UNHCR"]


def follow_up(day: date) -> dict[str, Any]:
    from workflows import flows

    return outcome(flows.daily_follow_up(today=day, return_state=True))


def request_states() -> dict[str, str]:
    with bootstrap.uow() as uow:
        cycle = uow.cycles.require("Spring 2026")
        return {r.agency_code: r.state for r in uow.requests.for_cycle(cycle.id or 0)}


def test_launch_mails_each_agency_once_and_a_second_launch_mails_nobody(
    catalogue: dict[str, int], smtp_server: SmtpServer
) -> None:
    first = launch()
    assert (first["created"], first["sent"], first["marked_sent"]) == (True, 3, AGENCIES)
    assert sorted(m["To"] for m in smtp_server.messages) == [
        f"focal.point@{a.lower()}.example.org" for a in AGENCIES
    ]
    again = launch()
    assert (again["created"], again["enqueued"], again["sent"]) == (False, 0, 0)
    assert len(smtp_server.messages) == 3
    assert request_states() == dict.fromkeys(AGENCIES, RequestState.SENT.value)


def test_a_replayed_calendar_reminds_on_schedule_stops_after_a_reply_and_escalates_after_the_deadline(
    catalogue: dict[str, int], smtp_server: SmtpServer
) -> None:
    launch()
    days = [16, 17, 18, 24, 25, 29, 30, 31, 32, 33, 34, 35]  # days after launch; the deadline is day 30
    for offset in days:
        day = LAUNCH_DAY + timedelta(days=offset)
        if day == DEADLINE - timedelta(days=5):
            submit_answers("Spring 2026", "ILO", [catalogue["SR1"]], day)
        follow_up(day)
    reminders = [agency for kind, agency in sent_messages() if kind == "reminder"]
    # 14 and 7 days before: everyone; 2 days before: ILO has answered in between.
    assert reminders == ["ILO", "IOM", "UNHCR", "ILO", "IOM", "UNHCR", "IOM", "UNHCR"]
    escalations = [agency for kind, agency in sent_messages() if kind == "escalation"]
    assert escalations == ["IOM", "UNHCR"]
    heads = [m for m in smtp_server.messages if m["To"] == "head.office@iom.example.org"]
    assert (
        len(heads) == 1 and heads[0]["Cc"] == "hlcp.secretariat@un.example.org, focal.point@iom.example.org"
    )
    assert request_states() == {"ILO": "answered", "IOM": "escalated", "UNHCR": "escalated"}
    assert len({m["Message-ID"] for m in smtp_server.messages}) == len(smtp_server.messages)


def test_the_follow_up_reports_overdue_agencies_and_names_them_in_its_summary(
    catalogue: dict[str, int],
) -> None:
    launch()
    found = follow_up(DEADLINE + timedelta(days=1))
    rows = {row["agency"]: (row["request state"], row["items overdue"]) for row in found["rows"]}
    assert rows == {"ILO": ("overdue", 1), "IOM": ("overdue", 3), "UNHCR": ("overdue", 2)}
    assert found["newly_overdue_requests"] == [f"Spring 2026:{a}" for a in AGENCIES]
    assert "Requests newly overdue: 3 (Spring 2026: ILO, IOM, UNHCR)" in found["summary"]
    artifact = json.loads(latest_artifact("overdue-agencies").data)
    assert {row["agency"] for row in artifact} == set(AGENCIES)


def test_a_send_refused_by_the_mail_server_is_retried_and_nothing_is_sent_twice(
    catalogue: dict[str, int], smtp_server: SmtpServer
) -> None:
    smtp_server.refuse_next(2)
    launched = launch()
    assert smtp_server.refused == 2
    assert launched["marked_sent"] == AGENCIES
    assert sorted(m["To"] for m in smtp_server.messages) == [
        f"focal.point@{a.lower()}.example.org" for a in AGENCIES
    ]


def test_with_the_mail_server_down_the_cycle_opens_and_the_next_follow_up_sends_the_requests(
    catalogue: dict[str, int], smtp_server: SmtpServer
) -> None:
    smtp_server.refuse_next(1000)
    launched = launch()
    assert launched["created"] and launched["sent"] == 0
    assert request_states() == dict.fromkeys(AGENCIES, RequestState.PENDING.value)
    smtp_server.refuse_next(0)
    follow_up(LAUNCH_DAY + timedelta(days=1))
    assert [kind for kind, _ in sent_messages()] == ["status-request"] * 3
    assert request_states() == dict.fromkeys(AGENCIES, RequestState.SENT.value)


def test_closing_mails_the_summary_to_the_secretariat_and_writes_the_report(
    catalogue: dict[str, int], smtp_server: SmtpServer
) -> None:
    from workflows import flows

    launch()
    submit_answers("Spring 2026", "ILO", [catalogue["SR1"]], DEADLINE)
    closed = flows.close_stocktake_cycle(
        cycle_name="Spring 2026", formats=["md"], today=DEADLINE + timedelta(days=5)
    )
    assert closed["closed_now"] and Path(closed["report_paths"]["md"]).exists()
    [summary] = smtp_server.by_recipient("hlcp.secretariat@un.example.org")
    assert "Spring 2026" in summary["Subject"]
    assert request_states() == dict.fromkeys(AGENCIES, RequestState.CLOSED.value)
    # The report's link opens in the secretariat's browser: the portal's route, not a file:// path.
    link = "http://127.0.0.1:8000/cycles/spring-2026/reports/spring-2026-stocktake.md"
    assert closed["report_links"]["md"] == link and link in str(latest_artifact("stock-take-md").data)
    figures = str(latest_artifact("stock-take-figures").data)
    assert "| Overdue requests | 2 |" in figures and "| Reported on by their lead | " in figures
    again = flows.close_stocktake_cycle(
        cycle_name="Spring 2026", formats=["md"], today=DEADLINE + timedelta(days=6)
    )
    assert not again["closed_now"] and len(smtp_server.by_recipient("hlcp.secretariat@un.example.org")) == 1


def test_closing_draws_a_large_word_reports_pictures_in_a_child_process_within_its_task(
    catalogue: dict[str, int], smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reporting import docx as word_report
    from reporting import pictures as drawing
    from workflows import flows

    monkeypatch.setattr(word_report, "DRAWN_ASIDE_FROM", 0)  # a large report's way, on a small cycle
    children: list[int] = []
    drawn_aside = drawing.drawn_aside

    @contextlib.contextmanager
    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with drawn_aside(*args, **kwargs) as pngs:
            children.append(1)
            yield pngs

    monkeypatch.setattr(drawing, "drawn_aside", counted)
    launch()
    closed = flows.close_stocktake_cycle(
        cycle_name="Spring 2026", formats=["docx"], today=DEADLINE + timedelta(days=5)
    )
    with zipfile.ZipFile(closed["report_paths"]["docx"]) as package:
        pictures = [package.read(name) for name in package.namelist() if name.startswith("word/media/")]
    assert children == [1]
    assert len(pictures) == 2 and all(png.startswith(b"\x89PNG") for png in pictures)


def test_the_launch_runs_one_sending_task_per_twenty_agencies_not_one_per_item(followup_env: str) -> None:
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from tests.factories import add_agencies, add_recommendations
    from workflows import flows

    codes = [f"AG{n:02d}" for n in range(45)]
    add_agencies(bootstrap.uow(), *codes)
    add_recommendations(bootstrap.uow(), {f"A1.{n}": [codes[n % 45], codes[(n + 1) % 45]] for n in range(90)})
    state = flows.launch_stocktake_cycle(
        name="Spring 2026", deadline=DEADLINE, today=LAUNCH_DAY, allow_placeholders=True, return_state=True
    )
    assert state.is_completed() and state.result()["item_count"] == 180
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
    names: list[str] = []
    give_up = time.monotonic() + 30  # task runs are recorded in batches, asynchronously
    with get_client(sync_client=True) as client:
        while time.monotonic() < give_up and len(names) < 6:
            names = sorted(
                run.name.rsplit("-", 1)[0] for run in client.read_task_runs(flow_run_filter=flow_run)
            )
            time.sleep(0.5)
    assert names == [
        "mark-requests-sent",
        "open-cycle",
        "send-messages",
        "send-messages",
        "send-messages",
        "undelivered-mail",
    ]
