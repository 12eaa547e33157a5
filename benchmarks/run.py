"""One backend's measurements, in a process of its own (so settings, memory and engines are its own).

`python -m benchmarks.run --backend sqlite --url URL --out FILE.json` expects PREFECT_API_URL to
point at a running Prefect server. It starts a loopback SMTP server, fills the database with the
generator, then measures each figure beside its raw baseline and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import re
import smtplib
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, insert, literal, select, text, update

from benchmarks import generate
from benchmarks.load import Client, Reply, fetch, run_load
from benchmarks.measure import Figure, peak_rss_mb, percentile, timed
from benchmarks.servers import Mailbox, free_port, http_server, smtp_server

SECRET_KEY = "5e" * 32
BY = "benchmark"
RAW = "raw-bench"


@dataclass
class Run:
    """The state one backend's run shares between its measurements."""

    backend: str
    url: str
    work: Path
    engine: Engine
    smtp_port: int
    mailbox: Mailbox
    items: int
    # The database of the next smaller size (its URL and items), kept for the reply pages in turns.
    smaller: tuple[str, int] | None = None
    figures: list[Figure] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        """Keep a figure and say it on the console as soon as it is measured."""
        self.figures.append(figure)
        base = f" (raw {figure.baseline:.3f})" if figure.baseline is not None else ""
        print(f"[{self.backend}] {figure.label}: {figure.value:.3f} {figure.unit}{base}", flush=True)
        return figure

    def wait_for_mail(self, count: int, timeout: float = 60) -> None:
        """Block until the SMTP server holds `count` messages (delivery is synchronous; this is a guard)."""
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        while len(self.mailbox) < count:
            if datetime.now(UTC) > deadline:
                raise RuntimeError(f"expected {count} messages at the SMTP server, got {len(self.mailbox)}")
            threading.Event().wait(0.05)


def _clock(today: date | None = None) -> Any:
    from workflows import bootstrap

    return bootstrap.clock(today)


def _uow() -> Any:
    from workflows import bootstrap

    return bootstrap.uow()


# --- catalogue --------------------------------------------------------------------------------


def bench_import(run: Run) -> None:
    """Import a 2,000-item report through the catalogue service; raw: the parsed rows inserted with Core."""
    from domain.importer import parse_report
    from workflows.services.catalogue import import_report

    text = generate.report_text(2000)
    with timed() as took:
        summary = import_report(_uow(), text, source="BENCH/IMPORT", clock=_clock(), by=BY)
    assert summary.added == 2000, summary
    parsed = parse_report(text, source="BENCH/IMPORT-RAW")
    rows = [
        {
            "source": parsed.source,
            "code": i.code,
            "kind": i.kind,
            "agenda_point": i.agenda_point,
            "agenda_title": i.agenda_title,
            "theme": i.theme,
            "parent_code": i.parent,
            "text": i.text,
            "position": i.position,
            "state": "active",
        }
        for i in parsed.items
    ]
    with timed() as raw:
        generate.bulk_insert(run.engine, _tables().recommendations, rows)
    run.add(
        Figure(
            "import_2k_s",
            "Import a 2,000-item report",
            took.seconds,
            baseline=raw.seconds,
            baseline_label="Core insert of the parsed rows",
        )
    )
    # The imported items would be ownerless in the cycle launched next: take them out again.
    t = _tables()
    with run.engine.begin() as conn:
        conn.execute(delete(t.recommendations).where(t.recommendations.c.source.like("BENCH/IMPORT%")))
        conn.execute(delete(t.history).where(t.history.c.key.like("BENCH/IMPORT%")))


def owners_yaml(population: generate.Population, codes: dict[int, str]) -> str:
    """The generated owners in the `followup owners apply` file format."""
    by_rec: dict[int, list[dict[str, Any]]] = {}
    for row in population.owners:
        by_rec.setdefault(row["recommendation_id"], []).append(row)
    lines = [f'report: "{population.source}"', "recommendations:"]
    for rec_id, rows in by_rec.items():
        owners = ", ".join(f"{r['agency_code']}: {r['role']}" for r in rows)
        lines.append(f'  "{codes[rec_id]}":\n    owners: {{{owners}}}')
    return "\n".join(lines) + "\n"


def bench_owners(run: Run, population: generate.Population) -> None:
    """Assign owners to every item from an owners file; raw: the same ownership rows inserted with Core."""
    from workflows.services.owners import apply_owners

    t = _tables()
    with run.engine.connect() as conn:
        codes = {r.id: r.code for r in conn.execute(select(t.recommendations.c.id, t.recommendations.c.code))}
    text = owners_yaml(population, codes)
    with timed() as raw:
        generate.bulk_insert(run.engine, t.ownerships, population.owners)
    with run.engine.begin() as conn:
        conn.execute(delete(t.ownerships))
    with timed() as took:
        summary = apply_owners(_uow(), text, clock=_clock(), by=BY, name="bench-owners.yaml")
    assert summary.owners_changed == len(codes), summary
    run.add(
        Figure(
            "owners_s",
            f"Assign owners to {len(codes):,} items (owners file)",
            took.seconds,
            baseline=raw.seconds,
            baseline_label="Core insert of the ownership rows",
        )
    )


def _tables() -> Any:
    from db import tables

    return tables


# --- launch -----------------------------------------------------------------------------------


def _messages_of(run: Run, cycle_id: int, kind: str) -> list[EmailMessage]:
    """The cycle's stored messages of one kind, as plain MIME messages for the smtplib baseline."""
    from notifications.messages import REPLY_LINK
    from workflows import bootstrap

    ob = _tables().outbox
    with run.engine.connect() as conn:
        rows = conn.execute(
            select(ob).where(ob.c.cycle_id == cycle_id, ob.c.kind == kind).order_by(ob.c.id)
        ).mappings()
        messages = []
        for row in rows:
            message = EmailMessage()
            message["From"] = "HLCP Secretariat <hlcp.secretariat@un.example.org>"
            message["To"] = ", ".join(row["recipients"])
            message["Subject"] = row["subject"]
            # The outbox keeps a placeholder; the dispatcher fills in the agency's link when it sends.
            link = bootstrap.reply_link(cycle_id, row["agency_code"])
            message.set_content(row["body_text"].replace(REPLY_LINK, link))
            message.add_alternative(row["body_html"].replace(REPLY_LINK, link), subtype="html")
            messages.append(message)
    return messages


def _send_raw(run: Run, messages: list[EmailMessage]) -> None:
    """The raw cost of delivery: one smtplib connection, the messages sent in a loop."""
    with smtplib.SMTP("127.0.0.1", run.smtp_port, timeout=30) as client:
        for message in messages:
            client.send_message(message)


def _raw_launch(run: Run, cycle_id: int, deadline: date) -> float:
    """The launch's rows written with Core (snapshot, requests, outbox) and its messages sent with smtplib."""
    from domain.tokens import derive_token, hash_token, new_nonce

    t = _tables()
    messages = _messages_of(run, cycle_id, "status-request")
    ob = t.outbox
    with run.engine.connect() as conn:
        outbox_rows = [dict(r) for r in conn.execute(select(ob).where(ob.c.cycle_id == cycle_id)).mappings()]
    now = datetime.now(UTC)
    with timed() as raw:
        with run.engine.begin() as conn:
            raw_id = conn.execute(
                insert(t.cycles).returning(t.cycles.c.id),
                {"name": RAW, "deadline": deadline, "state": "open", "created_at": now, "launched_at": now},
            ).scalar_one()
            own, rec = t.ownerships, t.recommendations
            conn.execute(
                insert(t.cycle_items).from_select(
                    ["cycle_id", "recommendation_id", "agency_code", "role"],
                    select(literal(raw_id), own.c.recommendation_id, own.c.agency_code, own.c.role)
                    .join(rec, rec.c.id == own.c.recommendation_id)
                    .where(rec.c.state == "active"),
                ),
            )
            counts = conn.execute(
                select(t.cycle_items.c.agency_code, func.count())
                .where(t.cycle_items.c.cycle_id == raw_id)
                .group_by(t.cycle_items.c.agency_code)
            ).all()
            requests = []
            for agency, count in counts:
                nonce = new_nonce()
                token_hash = hash_token(derive_token(SECRET_KEY, nonce, raw_id, agency))
                requests.append(
                    {
                        "cycle_id": raw_id,
                        "agency_code": agency,
                        "item_count": count,
                        "token_nonce": nonce,
                        "token_hash": token_hash,
                        "state": "sent",
                        "sent_at": now,
                    }
                )
            conn.execute(insert(t.status_requests), requests)
            copies = [
                {
                    **{k: v for k, v in r.items() if k != "id"},
                    "cycle_id": raw_id,
                    "idempotency_key": f"{RAW}:{r['idempotency_key']}",
                }
                for r in outbox_rows
            ]
            conn.execute(insert(ob), copies)
        _send_raw(run, messages)
    with run.engine.begin() as conn:
        conn.execute(delete(ob).where(ob.c.idempotency_key.like(f"{RAW}:%")))
        conn.execute(delete(t.cycles).where(t.cycles.c.id == raw_id))
    return raw.seconds


def bench_launch(run: Run, name: str, deadline: date) -> int:
    """Launch the cycle through the Prefect flow (server already running): snapshot, requests, e-mails."""
    from workflows import flows
    from workflows.prefect_env import without_heartbeats

    before = len(run.mailbox)
    # As `followup cycle launch` runs it: in this process, without heartbeats, against the server.
    with timed() as took, without_heartbeats():
        result = flows.launch_stocktake_cycle(
            name=name, deadline=deadline, hlcp_session="HLCP 99", allow_placeholders=True
        )
    sent = len(run.mailbox) - before
    t = _tables()
    with run.engine.connect() as conn:
        cycle_id = conn.execute(select(t.cycles.c.id).where(t.cycles.c.name == name)).scalar_one()
        agencies = conn.execute(
            select(func.count())
            .select_from(t.status_requests)
            .where(t.status_requests.c.cycle_id == cycle_id)
        ).scalar_one()
        items = conn.execute(
            select(func.count()).select_from(t.cycle_items).where(t.cycle_items.c.cycle_id == cycle_id)
        ).scalar_one()
    run.detail["launch"] = {"result": repr(result), "agencies": agencies, "cycle_items": items, "sent": sent}
    assert sent == agencies, f"{sent} messages arrived for {agencies} agencies"
    before = len(run.mailbox)
    raw = _raw_launch(run, cycle_id, deadline)
    assert len(run.mailbox) - before == agencies
    run.add(
        Figure(
            "launch_s",
            f"Launch a {run.items:,}-item cycle under Prefect ({agencies} e-mails over SMTP)",
            took.seconds,
            baseline=raw,
            baseline_label="Core inserts + smtplib loop",
            max_ratio=3.0,
        )
    )
    return int(cycle_id)


# --- follow-up --------------------------------------------------------------------------------


def _raw_follow_up(run: Run, cycle_id: int, today: date, messages: list[EmailMessage]) -> float:
    """The follow-up's queries and writes with Core (rolled back), and its reminders sent with smtplib."""
    t = _tables()
    sr, ms, ob = t.status_requests, t.milestones, t.outbox
    now = datetime.now(UTC)
    with timed() as raw:
        with run.engine.connect() as conn, conn.begin() as transaction:
            open_requests = conn.execute(
                select(sr.c.agency_code, sr.c.sent_at).where(
                    sr.c.cycle_id == cycle_id, sr.c.answered_at.is_(None)
                )
            ).all()
            late = (
                conn.execute(select(ms.c.id).where(ms.c.state == "planned", ms.c.due_date < today))
                .scalars()
                .all()
            )
            conn.execute(update(ms).where(ms.c.id.in_(late)).values(state="overdue"))
            conn.execute(
                insert(t.history),
                [
                    {
                        "entity": "milestone",
                        "key": str(i),
                        "from_state": "planned",
                        "to_state": "overdue",
                        "at": now,
                        "by": BY,
                        "why": "overdue",
                        "data": {},
                    }
                    for i in late
                ],
            )
            conn.execute(
                insert(ob),
                [
                    {
                        "idempotency_key": f"{RAW}:reminder:{agency}",
                        "kind": "reminder",
                        "cycle_id": cycle_id,
                        "agency_code": agency,
                        "recipients": [],
                        "cc": [],
                        "subject": m["Subject"],
                        "body_text": m.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
                        "body_html": "",
                        "message_id": f"<{agency}@bench>",
                        "mail_from": "a@b.org",
                        "reply_to": "a@b.org",
                        "state": "sent",
                        "attempts": 1,
                        "created_at": now,
                    }
                    for (agency, _), m in zip(open_requests, messages, strict=False)
                ],
            )
            transaction.rollback()
        _send_raw(run, messages)
    return raw.seconds


def bench_follow_up(run: Run, name: str, cycle_id: int, deadline: date) -> None:
    """The daily follow-up over every item, 7 days before the deadline (a reminder for every agency)."""
    from workflows import flows
    from workflows.prefect_env import without_heartbeats

    today = deadline - timedelta(days=7)
    reminders = _messages_of(run, cycle_id, "status-request")
    before = len(run.mailbox)
    raw = _raw_follow_up(run, cycle_id, today, reminders)
    assert len(run.mailbox) - before == len(reminders)
    before = len(run.mailbox)
    with timed() as took, without_heartbeats():
        result = flows.daily_follow_up(today=today)
    sent = len(run.mailbox) - before
    run.detail["follow_up"] = {"today": today.isoformat(), "sent": sent, "result": repr(result)[:2000]}
    assert sent == len(reminders), f"{sent} reminders for {len(reminders)} unanswered agencies"
    run.add(
        Figure(
            "followup_s",
            f"Daily follow-up over {run.items:,} items under Prefect ({sent} reminders)",
            took.seconds,
            baseline=raw,
            baseline_label="Core queries + smtplib loop",
            max_ratio=3.0,
        )
    )


# --- cycle show (whole process) ---------------------------------------------------------------

# The per-agency count the progress table shows: `cycle show`'s only query before it showed the figures.
_RAW_SHOW = """
import sys
from sqlalchemy import create_engine, func, select
from db import tables as t
engine = create_engine(sys.argv[1])
with engine.connect() as conn:
    cycle = conn.execute(select(t.cycles.c.id).where(t.cycles.c.name == sys.argv[2])).scalar_one()
    for row in conn.execute(
        select(t.status_requests.c.agency_code, t.status_requests.c.item_count,
               func.count(t.status_updates.c.id))
        .outerjoin(t.status_updates, (t.status_updates.c.cycle_id == cycle)
                   & (t.status_updates.c.agency_code == t.status_requests.c.agency_code))
        .where(t.status_requests.c.cycle_id == cycle)
        .group_by(t.status_requests.c.agency_code, t.status_requests.c.item_count)
    ):
        print(*row)
"""

# The statements `cycle show` sent to the database, as the driver got them, sent again by a bare process.
_REPLAY_SHOW = """
import pickle, sys
from sqlalchemy import create_engine
with open(sys.argv[2], "rb") as handle:
    statements = pickle.load(handle)
with create_engine(sys.argv[1]).connect() as conn:
    for statement, parameters in statements:
        for row in conn.exec_driver_sql(statement, parameters):
            print(*row)
"""


def _statements_of_cycle_show(name: str) -> list[tuple[str, Any]]:
    """The SQL statements and parameters `followup cycle show` executes, captured in this process."""
    from sqlalchemy import event

    from workflows import bootstrap
    from workflows.cli.cycle_views import cycle_text

    captured: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        cycle_text(name, bootstrap.clock().today())
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return captured


def whole_process(argv: list[str], env: dict[str, str], repeat: int = 3) -> float:
    """The median wall time of running a command to completion."""
    (median,) = whole_processes([argv], env, repeat)
    return median


def whole_processes(argvs: Sequence[list[str]], env: dict[str, str], repeat: int = 3) -> list[float]:
    """The median wall time of each command, run in turns: one of each per round.

    A figure and its baseline taken one after the other moved apart when the machine's load changed
    between them (a run measured `cycle list` at 1.68x its baseline where the same code measured
    1.40x a minute before); in turns, a change falls on both alike.
    """
    times: list[list[float]] = [[] for _ in argvs]
    for _ in range(repeat):
        for argv, taken in zip(argvs, times, strict=True):
            with timed() as took:
                done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(argv[:4])} failed: {done.stderr[-2000:]}")
            taken.append(took.seconds)
    return [sorted(taken)[len(taken) // 2] for taken in times]


FOLLOWUP = str(Path(sys.executable).with_name("followup"))


def bench_cycle_show(run: Run, name: str, *, answered: bool = False) -> None:
    """`followup cycle show` as a whole process; raw: a bare Python process sending the same SQL.

    The raw process replays the statements the command sends (captured here, with their parameters)
    through SQLAlchemy's driver-level `exec_driver_sql`: the issue's "a Python process running the
    same query", now that the command reads the stock-take's figures besides its per-agency table.
    The per-agency query alone, the earlier baseline, is reported beside it: what the figures add.
    Measured twice: just launched, and once every agency has answered (its figures then read every
    answer, as they do while the secretariat watches a cycle fill).
    """
    env = dict(os.environ)
    statements = run.work / "cycle-show-statements.pickle"
    statements.write_bytes(pickle.dumps(_statements_of_cycle_show(name)))
    took, raw, per_agency = whole_processes(
        [
            [FOLLOWUP, "cycle", "show", name],
            [sys.executable, "-c", _REPLAY_SHOW, run.url, str(statements)],
            [sys.executable, "-c", _RAW_SHOW, run.url, name],
        ],
        env,
    )
    key = "cli_show_answered_s" if answered else "cli_show_s"
    label = (
        f"`followup cycle show` on the {run.items:,}-item cycle"
        f"{', every agency answered' if answered else ''} (whole process)"
    )
    run.add(
        Figure(
            key,
            label,
            took,
            baseline=raw,
            baseline_label="python + SQLAlchemy process sending the same statements",
            max_ratio=1.5,
        )
    )
    run.add(
        Figure(
            f"{key}.per_agency",
            f"{label}, beside the per-agency count alone",
            took,
            baseline=per_agency,
            baseline_label="python + SQLAlchemy per-agency query process",
        )
    )


def bench_cycle_list(run: Run) -> None:
    """`followup cycle list` as a whole process; raw: `python -c "import sqlalchemy"`.

    A read-only command should cost little more than starting Python with the database library.
    """
    env = dict(os.environ)
    took, raw = whole_processes(
        [[FOLLOWUP, "cycle", "list"], [sys.executable, "-c", "import sqlalchemy"]], env, repeat=5
    )
    run.add(
        Figure(
            "cli_list_s",
            "`followup cycle list` (whole process)",
            took,
            baseline=raw,
            baseline_label='python -c "import sqlalchemy"',
            max_ratio=1.5,
        )
    )


# --- ingestion --------------------------------------------------------------------------------


def _agency_items(run: Run, cycle_id: int) -> dict[str, list[int]]:
    ci = _tables().cycle_items
    items: dict[str, list[int]] = {}
    with run.engine.connect() as conn:
        for agency, rec_id in conn.execute(
            select(ci.c.agency_code, ci.c.recommendation_id)
            .where(ci.c.cycle_id == cycle_id)
            .order_by(ci.c.id)
        ):
            items.setdefault(agency, []).append(rec_id)
    return items


def _tokens(run: Run, cycle_id: int) -> dict[str, str]:
    from workflows import bootstrap

    sr = _tables().status_requests
    with run.engine.connect() as conn:
        rows = conn.execute(select(sr.c.agency_code, sr.c.token_nonce).where(sr.c.cycle_id == cycle_id)).all()
    return {agency: bootstrap.reply_token(cycle_id, agency, nonce) for agency, nonce in rows}


def _answer_values(rng: random.Random) -> dict[str, str]:
    from domain.model import ReportedStatus

    status = rng.choice([s for s in ReportedStatus if s != ReportedStatus.BLOCKED])
    return {
        "status": status.value,
        # Never last cycle's words: a changed status must come with a new explanation.
        "narrative": f"Since the last stock-take: {generate.sentence(rng)}",
        "evidence": "https://example.org/evidence/report.pdf" if rng.random() < 0.3 else "",
        "next_milestone_date": "2027-03-31" if rng.random() < 0.3 else "",
        "obstacle": "",
    }


def _raw_answer(recommendation_id: int, rng: random.Random) -> Any:
    from domain.answers import RawAnswer

    values = _answer_values(rng)
    return RawAnswer(
        recommendation_id=recommendation_id,
        status=values["status"],
        narrative=values["narrative"],
        evidence=values["evidence"],
        next_milestone_date=values["next_milestone_date"],
    )


def _raw_updates(run: Run, rows: int) -> float:
    """The raw cost of storing `rows` answers: status_updates + history rows inserted with Core."""
    t = _tables()
    with run.engine.connect() as conn:
        pairs = conn.execute(select(t.ownerships.c.recommendation_id, t.ownerships.c.agency_code)).all()
    pairs = pairs[:rows]  # as many as were ingested (one per owner and item)
    now = datetime.now(UTC)
    rng = random.Random(3)
    with run.engine.begin() as conn:
        raw_id = conn.execute(
            insert(t.cycles).returning(t.cycles.c.id),
            {"name": RAW, "deadline": date.today(), "state": "open", "created_at": now},
        ).scalar_one()
    updates, history = [], []
    for rec_id, agency in pairs:
        values = _answer_values(rng)
        updates.append(
            {
                "cycle_id": raw_id,
                "recommendation_id": rec_id,
                "agency_code": agency,
                "reported_status": values["status"],
                "narrative": values["narrative"],
                "evidence": [],
                "obstacle": "",
                "reported_by": BY,
                "reported_at": now,
                "channel": "portal",
                "state": "submitted",
                "assessment_rationale": "",
                "reviewer_question": "",
                "version": 1,
            }
        )
        history.append(
            {
                "entity": "update",
                "key": f"{RAW}:{raw_id}:{rec_id}:{agency}",
                "from_state": "draft",
                "to_state": "submitted",
                "at": now,
                "by": BY,
                "why": "answer submitted",
                "data": {"status": values["status"], "narrative": values["narrative"]},
            }
        )
    with timed() as raw:
        generate.bulk_insert(run.engine, t.status_updates, updates)
        generate.bulk_insert(run.engine, t.history, history)
    with run.engine.begin() as conn:
        conn.execute(delete(t.cycles).where(t.cycles.c.id == raw_id))
        conn.execute(delete(t.history).where(t.history.c.key.like(f"{RAW}:%")))
    run.detail["raw_updates_rows"] = len(updates)
    return raw.seconds


def _submit_every_agency(run: Run, cycle_id: int, today: date) -> int:
    """Every agency submits all its items through the reply service the portal calls; how many items."""
    from workflows import bootstrap
    from workflows.services.replies import save_reply

    items, tokens = _agency_items(run, cycle_id), _tokens(run, cycle_id)
    rng = random.Random(5)
    batches = {agency: [_raw_answer(rid, rng) for rid in rec_ids] for agency, rec_ids in items.items()}
    clock, config = _clock(today), bootstrap.cycle_config()
    for agency, answers in batches.items():
        uow = _uow()
        result = save_reply(
            uow,
            bootstrap.notifier(uow, clock),
            clock,
            config,
            tokens[agency],
            answers,
            submit=True,
            grace_days=14,
        )
        assert not result.conflicts, result.conflicts
    return sum(len(b) for b in batches.values())


def bench_ingest_portal(run: Run, cycle_id: int, today: date) -> int:
    """Every agency submits all its items through the reply service the portal calls (one call per agency)."""
    with timed() as took:
        total = _submit_every_agency(run, cycle_id, today)
    raw = _raw_updates(run, total)
    run.detail["raw_ingest_s"] = raw
    run.add(
        Figure(
            "ingest_portal_s",
            f"Ingest {total:,} status updates (portal service, one submission per agency)",
            took.seconds,
            baseline=raw,
            baseline_label="Core insert of updates + history",
        )
    )
    return total


def bench_ingest_spreadsheet(run: Run, name: str, today: date) -> int:
    """Every agency returns its filled reply sheet (a new version of each answer); only imports are timed."""
    from openpyxl import load_workbook

    from domain.model import ReportedStatus
    from workflows import bootstrap
    from workflows.services.reply_template import COLUMNS, HEADER_ROW, write_template
    from workflows.services.spreadsheets import import_reply_file

    column = {c.key: n for n, c in enumerate(COLUMNS, start=1)}
    folder = run.work / "sheets"
    rng = random.Random(13)
    paths, rows = [], 0
    for agency in _agency_items(run, _cycle_id(run, name)):
        path = write_template(_uow(), bootstrap.cycle_config(), name, agency, folder / f"{agency}.xlsx")
        book = load_workbook(path)
        sheet = book.active
        assert sheet is not None
        for row in range(HEADER_ROW + 1, sheet.max_row + 1):
            if not sheet.cell(row, column["code"]).value:
                continue
            values = _answer_values(rng)
            sheet.cell(row, column["status"]).value = ReportedStatus(values["status"]).label
            sheet.cell(row, column["narrative"]).value = values["narrative"]
            rows += 1
        book.save(path)
        paths.append(path)
    clock = _clock(today)
    with timed() as took:
        for path in paths:
            uow = _uow()
            import_reply_file(uow, bootstrap.notifier(uow, clock), clock, bootstrap.cycle_config(), path)
    run.add(
        Figure(
            "ingest_spreadsheet_s",
            f"Ingest {rows:,} status updates (spreadsheet import, {len(paths)} files)",
            took.seconds,
            baseline=run.detail["raw_ingest_s"],
            baseline_label="Core insert of updates + history",
        )
    )
    return rows


def _cycle_id(run: Run, name: str) -> int:
    cycles = _tables().cycles
    with run.engine.connect() as conn:
        return int(conn.execute(select(cycles.c.id).where(cycles.c.name == name)).scalar_one())


# --- reports ----------------------------------------------------------------------------------

REPORT_MAX_RATIO = 10.0
REPORT_PEAK_MB_MAX = 1024.0
REPORT_CAP_S = 600.0  # a format slower than this is stopped: it has failed anyway
# This process's own peak memory in MB. Not getrusage: a child's ru_maxrss starts at its parent's
# peak (the bench process's, hundreds of MB at 100,000 items), so every report looked as large.
_PEAK_MB = """
import re
def PEAK_MB():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1)) / 1024
"""
_WRITE_REPORT = (
    _PEAK_MB
    + """
import sys, time
from datetime import date
from pathlib import Path
from workflows import bootstrap
from workflows.services.stocktake import write_reports, writer
writer(sys.argv[1])  # the format's renderer imported before the clock starts, as the raw's SQLAlchemy is
start = time.perf_counter()
clock = bootstrap.FixedClock(date.fromisoformat(sys.argv[3]))
write_reports(bootstrap.uow(), sys.argv[2], formats=[sys.argv[1]], out_dir=Path(sys.argv[4]), clock=clock)
print(time.perf_counter() - start, PEAK_MB())
"""
)


# The raw baseline, in a child process of its own too: its time (imports excluded) and peak memory.
_RAW_REPORT = (
    _PEAK_MB
    + """
import sys, time
from sqlalchemy import select
from db import tables as t
from db.engine import make_engine
start = time.perf_counter()
su, rec = t.status_updates, t.recommendations
with make_engine(sys.argv[2]).connect() as conn, open(sys.argv[3], "w") as handle:
    cycle_id = conn.execute(select(t.cycles.c.id).where(t.cycles.c.name == sys.argv[1])).scalar_one()
    for row in conn.execute(
        select(rec.c.code, rec.c.text, su.c.agency_code, su.c.reported_status, su.c.narrative)
        .join(rec, rec.c.id == su.c.recommendation_id)
        .where(su.c.cycle_id == cycle_id)
        .order_by(rec.c.position)
    ):
        handle.write("\\t".join(str(v) for v in row) + "\\n")
print(time.perf_counter() - start, PEAK_MB())
"""
)


def _report_in_child(script: str, *args: str) -> tuple[float, bool, float | None]:
    """Run a report script in a child process (timed inside it, imports excluded), stopped at the cap.

    Returns the seconds, whether it finished, and the child's peak RSS in MB (None when stopped).
    """
    argv = [sys.executable, "-c", script, *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=REPORT_CAP_S + 30, check=False)
    except subprocess.TimeoutExpired:
        return REPORT_CAP_S, False, None
    if done.returncode != 0:
        raise RuntimeError(f"report {args[0]} failed: {done.stderr[-2000:]}")
    seconds, rss_mb = (float(x) for x in done.stdout.strip().splitlines()[-1].split())
    return seconds, seconds <= REPORT_CAP_S, rss_mb


def bench_reports(run: Run, name: str, today: date) -> None:
    """Each stock-take format on its own; raw: the cycle's answers selected with Core and written as CSV.

    The raw report runs before the first format and after each, and a format's baseline is the mean
    of the two beside it: run once before all four, its time moved 1.2-2.4 s from run to run on
    PostgreSQL at 100,000 items, and the Word report's ratio with it.
    """
    from reporting import FORMATS

    out = run.work / "reports"

    def raw() -> tuple[float, float | None]:
        seconds, _, rss_mb = _report_in_child(_RAW_REPORT, name, run.url, str(run.work / "raw-report.csv"))
        return seconds, rss_mb

    raw_s, raw_rss_mb = raw()
    raws = [raw_s]
    for fmt in FORMATS:
        seconds, finished, rss_mb = _report_in_child(_WRITE_REPORT, fmt, name, today.isoformat(), str(out))
        run.detail.setdefault("report_peak_rss_mb", {})[fmt] = rss_mb
        raws.append(raw()[0])
        run.add(
            Figure(
                f"report_s.{fmt}",
                f"Stock-take of {run.items:,} items: {fmt}",
                seconds,
                baseline=(raws[-2] + raws[-1]) / 2,
                baseline_label="Core select + CSV, before and after",
                max_ratio=REPORT_MAX_RATIO,
                note="" if finished else f"stopped at the {REPORT_CAP_S:.0f} s cap, unfinished",
            )
        )
        run.add(
            Figure(
                f"report_peak_mb.{fmt}",
                f"Stock-take of {run.items:,} items: {fmt}, peak memory of its process",
                rss_mb if rss_mb is not None else float("inf"),
                unit="MB",
                baseline=raw_rss_mb,
                baseline_label="Core select + CSV process",
                target=REPORT_PEAK_MB_MAX,
            )
        )
    run.detail["report_raw"] = {"seconds": raws, "peak_rss_mb": raw_rss_mb}
    run.detail["report_sizes_bytes"] = {p.suffix: p.stat().st_size for p in out.iterdir()}


# --- portal -----------------------------------------------------------------------------------

_BASELINE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = PAGE
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": body})
"""
# The portal's own framework (FastAPI and its middleware, a threaded route) sending the same bytes with
# no render and no database: what any reply page, computed or cached, costs at the least here.
_CEILING_APP = """
from fastapi import FastAPI
from fastapi.responses import Response
from portal.security import MAX_BODY_BYTES, BodyLimitMiddleware, SecurityHeadersMiddleware

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
app.add_middleware(BodyLimitMiddleware, upload_limit=MAX_BODY_BYTES)
app.add_middleware(SecurityHeadersMiddleware)
SENT = dict((name.decode("latin-1"), value.decode("latin-1")) for name, value in HEADERS)


@app.get("/r/{token}")
def reply_page(token: str, part: int = 1) -> Response:
    return Response(PAGE, headers=SENT)
"""
# Concurrent clients the reply page is measured at, and its targets as ratios to the bare-ASGI
# baseline of the same run (machines here differ by 3x from one day to the next; ratios do not).
CONCURRENCY = (1, 5, 20)
P95_MAX_RATIO = {5: 5.0, 20: 10.0}
THROUGHPUT_MIN_SHARE = 0.30
QUERIES_PER_PAGE_MAX = 4
# Issue 17: the page at 100,000 items within 20 % of the page at 10,000 (one agency's part either way),
# judged from 10,000 items up: below, a request's parts hold a handful of items, not a page's worth.
PAGE_GROWTH_MAX = 1.2
PAGE_GROWTH_JUDGED_FROM_ITEMS = 10_000
# The suffix of a figure's key measured beside the next smaller size's, the two in turns.
IN_TURNS = ".in_turns"


def portal_key(pct: str, clients: int) -> str:
    """The key of a reply page latency figure in var/bench.json (20 clients' carry no suffix, as ever)."""
    return f"portal_{pct}_ms" if clients == 20 else f"portal_{pct}_ms.{clients}"


def _clients(count: int) -> str:
    return f"{count} client{'s' if count > 1 else ''}"


@contextmanager
def _uvicorn(run: Run, app: str, name: str, env: dict[str, str], workers: int = 1) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port; several workers listen as the portal's do."""
    port = free_port()
    if workers == 1:
        argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--log-level", "warning", "--no-access-log"]
    else:
        serve = (
            "import sys, uvicorn; from portal.listening import serve_in_processes; serve_in_processes("
            "uvicorn.Config(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]), workers=int(sys.argv[3]),"
            " log_level='warning', access_log=False))"
        )
        argv = [sys.executable, "-c", serve, app, str(port), str(workers)]
    with http_server(argv, port, env, run.work / f"{name}.log") as base:
        yield base


@contextmanager
def _followup_portal(run: Run, env: dict[str, str], name: str = "portal") -> Iterator[str]:
    """The portal as it is served in production: `followup portal`, one worker per CPU."""
    port = free_port()
    followup = str(Path(sys.executable).with_name("followup"))
    argv = [
        followup,
        "portal",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(os.cpu_count() or 1),
    ]
    with http_server(argv, port, env, run.work / f"{name}.log") as base:
        yield base


_CSRF = re.compile(r'name="csrf"\s+value="([^"]+)"')
_VERSION = re.compile(r'name="version-(\d+)"\s+value="(\d*)"')


async def _page(client: Client, path: str) -> Reply:
    """GET a page and keep its body (as sent: gzipped when the server chose so)."""
    return await client.get(path, keep_body=True)


def _part_paths(run: Run, cycle_id: int, tokens: dict[str, str]) -> dict[str, list[str]]:
    """Per token, the path of each part of its reply page, as the portal cuts it."""
    from workflows.queries.reply_views import plan_parts
    from workflows.settings import get_settings

    size = get_settings().portal_part_size
    uow = _uow()
    paths = {}
    with uow:
        for agency, token in tokens.items():
            items = uow.cycle_items.with_recommendations(cycle_id, agency, with_text=False)
            paths[token] = [f"/r/{token}?part={n}" for n in range(1, len(plan_parts(items, size)) + 1)]
    return paths


def _by_part(parts: dict[str, list[str]]) -> list[str]:
    """Part 1 of every request, then part 2 of every request, and so on."""
    depth = max(map(len, parts.values()), default=0)
    return [paths[n] for n in range(depth) for paths in parts.values() if len(paths) > n]


def _queries_per_page(paths: list[str]) -> int:
    """The most SQL statements one reply page costs, counted while rendering each path in this process."""
    from sqlalchemy import event

    from workflows import bootstrap
    from workflows.queries.reply_page import open_request
    from workflows.settings import get_settings

    settings = get_settings()
    engine = Engine  # every engine of this process: the page's, whichever it is
    clock, config = _clock(), bootstrap.cycle_config()
    counts = []
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        for path in paths:
            token, part = path.removeprefix("/r/").split("?part=")
            sent.clear()
            open_request(
                _uow(),
                clock,
                config,
                token,
                grace_days=settings.token_grace_days,
                part=int(part),
                part_size=settings.portal_part_size,
            )
            counts.append(len(sent))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return max(counts)


def _side_by_side(servers: dict[str, tuple[str, list[str]]]) -> dict[str, dict[int, dict[str, float]]]:
    """Each server's paths (by name: its base URL and paths) GET once at each concurrency, the servers
    back to back; latencies in ms.

    Measured in turns rather than one server after the other: on a machine others share, the load
    changes from one minute to the next, and each ratio should compare figures taken under the same.
    """
    for base, paths in servers.values():  # every worker connected, mapped and compiled before anything counts
        run_load(base, paths[:20], fetch, clients=5, cap_s=30)
    found: dict[str, dict[int, dict[str, float]]] = {name: {} for name in servers}
    for clients in CONCURRENCY:
        for name, (base, paths) in servers.items():
            found[name][clients] = {
                **run_load(base, paths, fetch, clients=clients, cap_s=60).summary(),
                "load_average_1min": os.getloadavg()[0],
            }
    return found


def _bare_asgi(run: Run, sample: Reply) -> str:
    """A directory with the bare ASGI app and the framework ceiling, each sending the sample's bytes."""
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in sample.headers.items()
        if name not in ("content-length", "date", "server", "transfer-encoding", "connection")
    ]
    baseline_dir = run.work / "baseline_app"
    baseline_dir.mkdir(exist_ok=True)
    for module, source in (("bare_asgi", _BASELINE_APP), ("framework_ceiling", _CEILING_APP)):
        (baseline_dir / f"{module}.py").write_text(f"PAGE = {sample.body!r}\nHEADERS = {headers!r}\n{source}")
    return str(baseline_dir)


def _analyze(run: Run) -> None:
    """Refresh the planner's statistics, as autovacuum would after bulk loads.

    Without them PostgreSQL estimates one row per table and joins a request's items to its answers
    by nested loops: 15 ms a page instead of 2.
    """
    with run.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def bench_reply_page(run: Run, cycle_id: int) -> None:
    """Reply pages rendered on request (no cache anywhere) at 1, 5 and 20 clients, beside a bare ASGI app.

    Every part of every request is asked for once at each concurrency; then the bare ASGI app (same
    worker count, same bytes and headers as a sample page) takes the same load in the same run, so
    the figures are ratios to what this machine does today. Submissions (POST) are measured after.
    """
    _analyze(run)
    by_agency = _tokens(run, cycle_id)
    tokens = list(by_agency.values())
    parts = _part_paths(run, cycle_id, by_agency)
    pages = _by_part(parts)
    queries = _queries_per_page(pages[:: max(1, len(pages) // 50)])
    # The next larger size loads these pages in turns with its own (`_smaller_portal`).
    (run.work / f"reply-pages-{run.items}.json").write_text(json.dumps(pages))
    env = dict(os.environ)
    load_before = os.getloadavg()
    with _followup_portal(run, env) as base, _smaller_portal(run, env) as smaller:
        # The bare app sends a page of median size (pages range from one item to a 40-item part).
        every = pages[:: max(1, len(pages) // 41)]
        replies = sorted(
            (o.reply for o in run_load(base, every, _page, clients=1, timeout=60).outcomes),
            key=lambda r: r.size,
        )
        sample = replies[len(replies) // 2]
        # One worker, as when the figures were taken: the ratios stay comparable from run to run.
        baselines = _bare_asgi(run, sample)
        bare_env = {**env, "PYTHONPATH": baselines}
        ceiling_env = {**env, "PYTHONPATH": os.pathsep.join([baselines, str(Path.cwd())])}
        workers = os.cpu_count() or 1  # the portal's
        with (
            _uvicorn(run, "bare_asgi:app", "bare", bare_env) as bare_base,
            _uvicorn(run, "framework_ceiling:app", "ceiling", ceiling_env, workers=workers) as ceiling_base,
        ):
            servers = {
                "portal": (base, pages),
                **({"smaller": smaller} if smaller else {}),  # right after the page it is compared with
                "bare": (bare_base, pages),
                "ceiling": (ceiling_base, pages),
            }
            measured = _side_by_side(servers)
        submission = _bench_submissions(run, base, cycle_id, by_agency, parts)
    portal, bare, ceiling = measured["portal"], measured["bare"], measured["ceiling"]
    load_after = os.getloadavg()
    print(
        f"[{run.backend}] load average before {_loadavg(load_before)}, after {_loadavg(load_after)}"
        f" ({os.cpu_count()} CPUs)",
        flush=True,
    )
    run.detail["portal"] = {
        "pages": len(pages),
        "requests": len(tokens),
        "page_bytes": len(sample.content()),
        "page_wire_bytes": sample.size,
        "page_content_encoding": sample.headers.get("content-encoding", "identity"),
        "queries_per_page": queries,
        "reply_page": {str(c): portal[c] for c in CONCURRENCY},
        "bare_asgi": {str(c): bare[c] for c in CONCURRENCY},
        "framework_ceiling": {str(c): ceiling[c] for c in CONCURRENCY},
        "load_average": {"before": load_before, "after": load_after},
        "submission": submission,
    }
    _reply_page_figures(run, portal, bare, queries, len(pages), len(sample.content()))
    _ceiling_figures(run, ceiling, bare)
    if smaller and run.smaller:
        run.detail["portal"]["smaller"] = {"items": run.smaller[1], "reply_page": measured["smaller"]}
        _in_turns_figures(run, portal, measured["smaller"], run.smaller[1])
    run.add(
        Figure(
            "portal_submit_p95_ms",
            "Submission p95 (POST, 20 clients)",
            submission["post_p95_ms"],
            unit="ms",
            note=f"{submission['requests']} submissions",
        )
    )


@contextmanager
def _smaller_portal(run: Run, env: dict[str, str]) -> Iterator[tuple[str, list[str]] | None]:
    """The portal of the next smaller size's database and that size's pages, when the run has one
    (none when that size's run stopped before its pages: this size's are measured all the same)."""
    url, items = run.smaller or ("", 0)
    listed = run.work / f"reply-pages-{items}.json"
    if not run.smaller or not listed.exists():
        yield None
        return
    pages = json.loads(listed.read_text())
    with _followup_portal(run, {**env, "FOLLOWUP_DATABASE_URL": url}, f"portal-{items}") as base:
        yield base, pages


def _in_turns_figures(
    run: Run, portal: dict[int, dict[str, float]], smaller: dict[int, dict[str, float]], smaller_items: int
) -> None:
    """The reply page's p95 beside the smaller size's, the two portals loaded in turns (issue 17).

    Taken in one run, the two sizes' pages meet the same machine: measured minutes apart, the
    growth at 5 clients moved between 0.87x and 2.45x from run to run on the same code.
    """
    for clients, limit in ((1, None), (5, PAGE_GROWTH_MAX)):
        run.add(
            Figure(
                portal_key("p95", clients) + IN_TURNS,
                f"Reply page p95 ({_clients(clients)}) beside the {smaller_items:,}-item one, in turns",
                portal[clients]["p95_ms"],
                unit="ms",
                baseline=smaller[clients]["p95_ms"],
                baseline_label=f"the {smaller_items:,}-item page",
                max_ratio=limit,
            )
        )


def _loadavg(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _reply_page_figures(
    run: Run,
    portal: dict[int, dict[str, float]],
    bare: dict[int, dict[str, float]],
    queries: int,
    pages: int,
    page_bytes: int,
) -> None:
    """The reply page's figures: p50 and p95 per concurrency, throughput at 20 and queries per page."""
    baseline_label = "bare ASGI, same bytes"
    for clients in CONCURRENCY:
        for pct in ("p50", "p95"):
            run.add(
                Figure(
                    portal_key(pct, clients),
                    f"Reply page {pct} ({_clients(clients)}, rendered on request)",
                    portal[clients][f"{pct}_ms"],
                    unit="ms",
                    baseline=bare[clients][f"{pct}_ms"],
                    baseline_label=baseline_label,
                    max_ratio=P95_MAX_RATIO.get(clients) if pct == "p95" else None,
                    note=f"{pages} pages, median {page_bytes // 1024} KiB"
                    if clients == 1 and pct == "p50"
                    else "",
                )
            )
    top = CONCURRENCY[-1]
    run.add(
        Figure(
            "portal_rps",
            f"Reply page throughput ({top} clients, rendered on request)",
            portal[top]["throughput_rps"],
            unit="req/s",
            baseline=bare[top]["throughput_rps"],
            baseline_label=baseline_label,
            min_ratio=THROUGHPUT_MIN_SHARE,
        )
    )
    run.add(
        Figure(
            "portal_queries_per_page",
            "SQL statements per reply page (the most of the pages counted)",
            queries,
            unit="queries",
            target=QUERIES_PER_PAGE_MAX + 1,
        )
    )


def _ceiling_figures(
    run: Run, ceiling: dict[int, dict[str, float]], bare: dict[int, dict[str, float]]
) -> None:
    """The framework ceiling's figures beside the same bare baseline, where the reply page has targets.

    Reported, not targets: they tell how much of a reply page's ratio no render or cache could remove.
    """
    label = "bare ASGI, same bytes"
    top = CONCURRENCY[-1]
    for clients in P95_MAX_RATIO:
        run.add(
            Figure(
                f"ceiling_p95_ms.{clients}",
                f"Framework ceiling p95 ({clients} clients: FastAPI sending the page's bytes, no render)",
                ceiling[clients]["p95_ms"],
                unit="ms",
                baseline=bare[clients]["p95_ms"],
                baseline_label=label,
            )
        )
    run.add(
        Figure(
            "ceiling_rps",
            f"Framework ceiling throughput ({top} clients: FastAPI sending the page's bytes, no render)",
            ceiling[top]["throughput_rps"],
            unit="req/s",
            baseline=bare[top]["throughput_rps"],
            baseline_label=label,
        )
    )


def _bench_submissions(
    run: Run, base: str, cycle_id: int, by_agency: dict[str, str], parts: dict[str, list[str]]
) -> dict[str, float]:
    """40 agencies submit a part of their page (GET, then POST) from 20 clients; POST latencies in ms."""
    items = _agency_items(run, cycle_id)
    token_items = {by_agency[agency]: rids for agency, rids in items.items()}
    rng = random.Random(9)

    async def submit(client: Client, path: str) -> Reply:
        page = await _page(client, path)
        if page.status != 200:
            return page
        text = page.text()
        csrf = _CSRF.search(text)
        if csrf is None:
            raise RuntimeError(f"no CSRF field on the reply page {path[:40]}")
        versions = dict(_VERSION.findall(text))
        form = {"csrf": csrf.group(1), "action": "submit"}
        for rid in token_items[path.split("/")[2].split("?")[0]]:
            if str(rid) not in versions:
                continue
            form[f"version-{rid}"] = versions[str(rid)]
            for key, value in _answer_values(rng).items():
                form[f"{key}-{rid}"] = value
        return await client.post(path, form)  # 303 to the receipt; not followed

    tokens = list(by_agency.values())
    posts = [parts[token][min(1, len(parts[token]) - 1)] for token in tokens[:40]]
    submitted = run_load(base, posts, submit, clients=20, cap_s=60)
    post_ms = [outcome.reply.ms for outcome in submitted.outcomes]
    summary = submitted.summary()
    summary.update({"post_p50_ms": percentile(post_ms, 50), "post_p95_ms": percentile(post_ms, 95)})
    return summary


# --- the run ----------------------------------------------------------------------------------


def execute(run: Run) -> None:
    """Fill the database, then measure in the order a cycle lives."""
    with timed() as took:
        population = generate.populate(run.engine, recommendations=run.items, with_owners=False)
    run.detail["generate_catalogue_s"] = took.seconds
    bench_import(run)
    bench_owners(run, population)
    with timed() as took:
        generate.add_history(run.engine, population)
    run.detail["generate_history_s"] = took.seconds
    _analyze_as_autovacuum_would(run)
    _cycle_lives(run, spreadsheets=True)


def execute_main(run: Run) -> None:
    """The figures issue 17 sets targets for, on a database filled with Core (owners and history too).

    Leaves out the report import, the owners file and the spreadsheet returns, whose preparation
    alone takes minutes at 100,000 items.
    """
    with timed() as took:
        generate.populate(run.engine, recommendations=run.items)
    run.detail["generate_s"] = took.seconds
    _analyze_as_autovacuum_would(run)
    _cycle_lives(run, spreadsheets=False)


def _analyze_as_autovacuum_would(run: Run) -> None:
    """On PostgreSQL, the planner statistics autovacuum keeps (it is off on some machines, CI's among
    them): of the generated tables, long before a launch; of the answers, which come over weeks."""
    if run.backend == "postgresql":
        _analyze(run)


def _cycle_lives(run: Run, *, spreadsheets: bool) -> None:
    """Launch a cycle, watch it, follow it up, ingest its replies, write its stock-take, serve its pages."""
    today = date.today()
    deadline = today + timedelta(days=28)
    name = "HLCP 99 stock-take"
    cycle_id = bench_launch(run, name, deadline)
    bench_cycle_show(run, name)
    bench_cycle_list(run)
    bench_follow_up(run, name, cycle_id, deadline)
    bench_ingest_portal(run, cycle_id, deadline - timedelta(days=5))
    _analyze_as_autovacuum_would(run)  # the answers come over weeks
    bench_cycle_show(run, name, answered=True)
    if spreadsheets:
        bench_ingest_spreadsheet(run, name, deadline - timedelta(days=4))
    bench_reports(run, name, deadline + timedelta(days=1))
    bench_reply_page(run, cycle_id)


def execute_reply_page(run: Run) -> None:
    """Only the reply page: a catalogue with owners and history, a cycle launched and answered, its pages.

    The cycle is launched through the service, not the Prefect flow (no server needed), and every
    agency submits once, so pages show last cycle's answers, the stored ones and their versions.
    """
    from workflows import bootstrap
    from workflows.services.launch import launch_cycle

    generate.populate(run.engine, recommendations=run.items)
    today = date.today()
    uow = _uow()
    clock = _clock(today)
    launched = launch_cycle(
        uow,
        bootstrap.notifier(uow, clock),
        clock,
        bootstrap.cycle_config(),
        name="HLCP 99 stock-take",
        deadline=today + timedelta(days=28),
        hlcp_session="HLCP 99",
        allow_placeholders=True,  # the generated agencies' example.org addresses
    )
    _submit_every_agency(run, launched.cycle_id, today)
    bench_reply_page(run, launched.cycle_id)


PARTS = {"all": execute, "main": execute_main, "reply-page": execute_reply_page}


def main(argv: list[str] | None = None) -> int:
    """Run one backend's measurements and write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--only", choices=sorted(PARTS), default="all")
    parser.add_argument(
        "--smaller",
        nargs=2,
        metavar=("URL", "ITEMS"),
        help="the next smaller size's database and items: its reply pages are loaded in turns with these",
    )
    args = parser.parse_args(argv)
    if args.smaller and not args.smaller[1].isdigit():
        parser.error(f"--smaller: ITEMS {args.smaller[1]!r} is not a count")
    work = args.out.parent / args.backend
    work.mkdir(parents=True, exist_ok=True)
    with smtp_server() as (port, mailbox):
        # Settings are read once per process: set them before anything of the application loads.
        os.environ.update(
            {
                "FOLLOWUP_DATABASE_URL": args.url,
                "FOLLOWUP_HOME": str(work / "home"),
                "FOLLOWUP_MAIL_URL": f"smtp://127.0.0.1:{port}",
                "FOLLOWUP_SECRET_KEY": SECRET_KEY,
            }
        )
        from db.engine import make_engine

        smaller = (args.smaller[0], int(args.smaller[1])) if args.smaller else None
        engine = make_engine(args.url)
        run = Run(args.backend, args.url, work, engine, port, mailbox, args.items, smaller=smaller)
        error = None
        try:
            PARTS[args.only](run)
        except Exception as exc:  # keep what was measured; the table says what failed
            import traceback

            traceback.print_exc()
            error = f"{type(exc).__name__}: {exc}"
    result = {
        "backend": args.backend,
        "figures": [f.as_dict() for f in run.figures],
        "detail": run.detail,
        "error": error,
        "peak_rss_mb": peak_rss_mb(),
        "messages_received": len(mailbox),
        "message_bytes_max": max(mailbox.sizes, default=0),
    }
    args.out.write_text(json.dumps(result, indent=2, default=str))
    return 0 if error is None else 1


if __name__ == "__main__":
    raise SystemExit(main())
