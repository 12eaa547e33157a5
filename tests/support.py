"""What several test modules share: the reply scenario and its service helpers, the CLI runner, the
browser fixtures, the flows' and fault tests' helpers, the stock-take data set and the e-mail
contexts (in-memory ports are in `tests.fakes`).

Test modules import from here, never from one another; pytest fixtures defined here (`browser`,
`portal_url`) are registered for every test through `pytest_plugins` in `tests/conftest.py`.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from db import tables
from db.engine import make_engine
from db.unit_of_work import SqlUnitOfWork
from domain.answers import RawAnswer
from domain.lifecycle import MilestoneState, ReviewState
from domain.model import Answer, Channel, Milestone, Recommendation, ReportedStatus, StatusUpdate
from domain.stocktake import CycleInfo, StockTake, assemble_stocktake
from domain.tokens import derive_token, sheet_mark
from notifications import outbox as outbox_module
from notifications.outbox import DispatchReport, OutboxNotifier
from tests import factories
from tests.smtp import SmtpServer, free_port
from workflows import bootstrap
from workflows.bootstrap import FixedClock
from workflows.config import CycleConfig
from workflows.queries import reply_page, reply_views
from workflows.queries.emails import names_of
from workflows.services import replies, review
from workflows.settings import get_settings

if TYPE_CHECKING:  # the web stack and the browser are loaded by the tests that use them
    import httpx2
    from fastapi.testclient import TestClient
    from playwright.sync_api import Browser
    from typer.testing import Result

# --- the reply scenario: two agencies; AAA owns A1.1, A1.2 (with BBB as contributor) and A2.1, BBB
# also leads SR1; a previous cycle holds AAA's answers, which the current cycle's page shows for reference.
TODAY = date(2026, 3, 10)
DEADLINE = date(2026, 3, 31)
CYCLE = "2026-spring"
SECRETARIAT_TOKEN = "s3cretariat-t0ken-for-tests"
GRACE = 14
BY = "hlcp secretariat"


@dataclass(frozen=True)
class Stored:
    """A stored update, read while its session was open."""

    state: str
    version: int
    status: str | None
    narrative: str
    channel: str | None


@dataclass
class Scenario:
    """What the tests need to know about the seeded database."""

    uow: SqlUnitOfWork
    cycle_id: int
    tokens: dict[str, str]
    ids: dict[str, int]
    clock: bootstrap.FixedClock

    def notifier(self, uow: SqlUnitOfWork) -> OutboxNotifier:
        """The application's notifier (the outbox), writing in `uow`'s transaction."""
        return bootstrap.notifier(uow, self.clock)

    @property
    def config(self) -> CycleConfig:
        """Links and the secretariat's address as the application builds them."""
        return bootstrap.cycle_config()

    def update(self, code: str, agency: str = "AAA") -> Stored | None:
        """What is stored for an item in the current cycle."""
        with self.uow:
            found = self.uow.updates.get(self.cycle_id, self.ids[code], agency)
            if found is None:
                return None
            return Stored(found.state, found.version, found.reported_status, found.narrative, found.channel)

    def outbox(self, kind: str) -> list[dict[str, object]]:
        """Queued messages of one kind."""
        with self.uow:
            rows = self.uow.session.execute(select(tables.outbox).where(tables.outbox.c.kind == kind))
            return [dict(r) for r in rows.mappings()]

    def request_state(self, agency: str = "AAA") -> tuple[str, datetime | None]:
        """State and answered-at of an agency's request in the current cycle."""
        with self.uow:
            request = self.uow.requests.get(self.cycle_id, agency)
            assert request is not None
            return request.state, request.answered_at


def seed(uow: SqlUnitOfWork) -> Scenario:
    """Agencies, recommendations, a milestone, a previous cycle with AAA's answers, the open cycle."""
    factories.add_agencies(uow, "AAA", "BBB")
    ids = factories.add_recommendations(
        uow, {"A1.1": ["AAA"], "A1.2": ["AAA", "BBB"], "A2.1": ["AAA"], "SR1": ["BBB"]}
    )
    with uow:
        uow.milestones.add(
            Milestone(recommendation_id=ids["A1.1"], title="Expert group meeting", due_date=date(2026, 3, 1))
        )
        uow.commit()
    before, _ = factories.open_cycle(uow, "2025-autumn", date(2025, 9, 30), ["AAA", "BBB"])
    at = datetime(2025, 9, 20, 9, 0, tzinfo=UTC)
    with uow:
        for code, status, narrative in (
            ("A1.1", ReportedStatus.IN_PROGRESS, "Terms of reference drafted."),
            ("A1.2", ReportedStatus.NOT_STARTED, ""),
        ):
            update = StatusUpdate(cycle_id=before, recommendation_id=ids[code], agency_code="AAA")
            uow.updates.add(update)
            answer = Answer(recommendation_id=ids[code], status=status, narrative=narrative)
            update.apply(answer, at=at, by="AAA focal point", channel=Channel.PORTAL, submit=True)
        uow.commit()
    cycle_id, tokens = factories.open_cycle(uow, CYCLE, DEADLINE, ["AAA", "BBB"])
    return Scenario(uow, cycle_id, tokens, ids, bootstrap.FixedClock(TODAY))


def bbb_saves_a_draft(site: Scenario) -> None:
    """BBB, the other agency, saves a draft answer to SR1 through the reply service."""
    answer = RawAnswer(site.ids["SR1"], status="in_progress", narrative="Begun.", loaded_version=0)
    replies.save_reply(
        site.uow,
        site.notifier(site.uow),
        site.clock,
        site.config,
        site.tokens["BBB"],
        [answer],
        submit=False,
        grace_days=get_settings().token_grace_days,
    )


@contextmanager
def portal_with(site: Scenario, monkeypatch: pytest.MonkeyPatch, **settings: str) -> Iterator[TestClient]:
    """A client of the portal on the site's database, with these settings (`portal_part_size="2"`)."""
    from fastapi.testclient import TestClient

    from portal.app import create_app

    for name, value in settings.items():
        monkeypatch.setenv(f"FOLLOWUP_{name.upper()}", value)
    get_settings.cache_clear()
    with TestClient(create_app(clock=site.clock)) as client:
        yield client


def move_to_agenda_point(site: Scenario, code: str, point: int) -> None:
    """A re-import moves the item to another agenda point, its text unchanged."""
    with site.uow:
        moved = site.uow.session.get(Recommendation, site.ids[code])
        assert moved is not None
        title = "Moved on re-import"
        moved.amend(text=moved.text, at=site.clock.now(), by="import", agenda_point=point, agenda_title=title)
        site.uow.commit()


def open_page(s: Scenario, token: str, clock: bootstrap.FixedClock | None = None) -> reply_views.ReplyPage:
    return reply_page.open_request(s.uow, clock or s.clock, s.config, token, grace_days=GRACE)


def save(
    s: Scenario, answers: list[RawAnswer], *, submit: bool, clock: bootstrap.FixedClock | None = None
) -> replies.SaveResult:
    clock = clock or s.clock
    return replies.save_reply(
        s.uow, s.notifier(s.uow), clock, s.config, s.tokens["AAA"], answers, submit=submit, grace_days=GRACE
    )


def all_items(s: Scenario, **overrides: str) -> list[RawAnswer]:
    """A complete, valid answer for each of AAA's three items."""
    values = {
        "A1.1": ("completed", "Meeting held in February."),
        "A1.2": ("in_progress", "Work started."),
        "A2.1": ("ongoing", ""),
    }
    return [
        RawAnswer(s.ids[code], status=overrides.get(code, status), narrative=narrative, loaded_version=0)
        for code, (status, narrative) in values.items()
    ]


def send_back(s: Scenario, code: str, question: str = "Which meeting?", agency: str = "AAA") -> None:
    review.return_item(
        s.uow, s.notifier(s.uow), s.clock, s.config, CYCLE, code, agency, question=question, by=BY
    )


def form_of(page: httpx2.Response) -> dict[str, str]:
    """The hidden fields and current values of the reply form, as a browser would send them."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    for name, value in re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', page.text):
        fields[name] = value
    for dropdown in re.findall(r'<select id="[^"]+" name="([^"]+)".*?</select>', page.text, re.S):
        chosen = re.search(rf'name="{dropdown}".*?<option value="([^"]*)" selected', page.text, re.S)
        fields[dropdown] = chosen.group(1) if chosen else ""
    for name, value in re.findall(
        r'<input type="checkbox" id="[^"]+" name="([^"]+)" value="([^"]*)" checked', page.text
    ):
        fields[name] = value  # a browser sends a ticked box only
    return fields


def post(
    client: TestClient, token: str, fields: dict[str, str], action: str, *, part: int | None = None
) -> httpx2.Response:
    """Send the reply form with `action` (to one part of a long request if given); redirects not followed."""
    url = f"/r/{token}" if part is None else f"/r/{token}?part={part}"
    return client.post(url, data={**fields, "action": action}, follow_redirects=False)


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def portal_url(site: Scenario) -> Iterator[str]:
    """The portal served by uvicorn on a free loopback port, in a background thread."""
    import uvicorn

    from portal.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(clock=site.clock), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the portal did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium (the system's), closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


# --- the flows: a spring cycle launched through Prefect, and what the outbox handed over -------------

LAUNCH_DAY = date(2026, 3, 2)
FLOWS_DEADLINE = date(2026, 4, 1)


def launch(**overrides: Any) -> dict[str, Any]:
    """Run the launch flow for "Spring 2026" (deadline 1 April, launched 2 March) unless overridden."""
    from workflows import flows

    arguments: dict[str, Any] = {
        "name": "Spring 2026",
        "deadline": FLOWS_DEADLINE,
        "today": LAUNCH_DAY,
        "allow_placeholders": True,  # the test agencies' example.org addresses
    }
    return outcome(flows.launch_stocktake_cycle(**{**arguments, **overrides}, return_state=True))


def outcome(state: Any) -> dict[str, Any]:
    """What a flow run returned, also when it ended Undelivered (mail left for later runs): not green."""
    from workflows import flows

    if state.name == flows.UNDELIVERED_STATE:
        assert state.is_failed()  # shown red in the UI, not green
        return dict(state.result(raise_on_failure=False))
    return dict(state.result())


def forget_settings_and_engines() -> None:
    # bootstrap caches one engine per URL (None meaning "from settings"): start each test afresh.
    bootstrap.engine().dispose()
    bootstrap.engine.cache_clear()
    get_settings.cache_clear()


# --- `followup` in-process, as the CLI tests run it ----------------------------------------------

CliRun = Callable[..., "Result"]


def followup_in_process(database_url: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRun]:
    """`followup ARGS` run in-process on this database (initialised first), settings forgotten after."""
    from typer.testing import CliRunner

    from workflows.cli import app

    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    monkeypatch.setenv("FOLLOWUP_HOME", str(home))
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    assert run("init").exit_code == 0
    yield run
    forget_settings_and_engines()


def said(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


def forget_settings_and_keys() -> None:
    """Forget the settings, the engines and the secret keys bootstrap has checked, as a new process would."""
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()
    bootstrap._matching_keys.clear()
    bootstrap._unrecorded_keys.clear()


def submit_answers(cycle_name: str, agency: str, rec_ids: list[int], on: date) -> None:
    """The agency submits an answer for each of `rec_ids` (as the portal stores it)."""
    with bootstrap.uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        for rec_id in rec_ids:
            update = StatusUpdate(cycle_id=cycle.id or 0, recommendation_id=rec_id, agency_code=agency)
            uow.updates.add(update)
            update.apply(
                Answer(rec_id, ReportedStatus.IN_PROGRESS, narrative="Guidance drafted with partners."),
                at=bootstrap.FixedClock(on).now(),
                by=f"focal.point@{agency.lower()}.example.org",
                channel=Channel.PORTAL,
                submit=True,
            )
        uow.commit()


def sent_messages() -> list[tuple[str, str | None]]:
    """(kind, agency) of every message the outbox handed to the mail server, in order."""
    ob = tables.outbox
    with bootstrap.uow() as uow:
        rows = uow.session.execute(
            select(ob.c.kind, ob.c.agency_code)
            .where(ob.c.sent_at.is_not(None))
            .order_by(ob.c.sent_at, ob.c.id)
        ).all()
    return [(row.kind, row.agency_code) for row in rows]


def latest_artifact(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert found, f"no artifact {key}"
    return found[0]


def clock(minutes: float = 0) -> FixedClock:
    """A clock `minutes` after the test's start."""
    at = AT + timedelta(minutes=minutes)
    return FixedClock(at.date(), at)


def enqueue(
    uow: SqlUnitOfWork, key: str = "status-request:1:IOM", kind: str = "status-request", **kw: Any
) -> bool:
    """Queue one message (IOM's, in a cycle where IOM has a request) in its own committed transaction."""
    cycle_id = a_request(uow)
    with uow:
        stored = OutboxNotifier(uow, clock()).enqueue(
            kind,
            key=key,
            to=kw.pop("to", [FOCAL]),
            context=context(kind),
            cycle_id=cycle_id,
            agency_code="IOM",
            **kw,
        )
        uow.commit()
    return stored


def a_request(uow: SqlUnitOfWork) -> int:
    """A cycle in which IOM has a request, made on first use: a message with a reply link belongs to one."""
    with uow:
        found = uow.session.scalar(select(tables.cycles.c.id).where(tables.cycles.c.name == "Outbox"))
    if found is not None:
        return int(found)
    factories.add_agencies(uow, "IOM")
    factories.add_recommendations(uow, {"A1": ["IOM"]})
    return factories.open_cycle(uow, "Outbox", AT.date(), ["IOM"])[0]


def reply_links(_cycle_id: int, _agency_code: str) -> str:
    """The tests' reply link, the same for every request."""
    return REPLY_URL


def dispatch(*args: Any, **kwargs: Any) -> DispatchReport:
    """The dispatcher, deriving reply links with `reply_links`."""
    return outbox_module.dispatch(*args, links=reply_links, **kwargs)


AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FOCAL = "focal.point@iom.example.org"


# The cycle use cases' configuration with links and sheet marks derived from the tests' key, as in production.
KEYED_CONFIG = CycleConfig(
    secretariat_email="hlcp.secretariat@un.example.org",
    reply_token=lambda cycle_id, agency, nonce: derive_token(factories.SECRET_KEY, nonce, cycle_id, agency),
    reply_url=lambda cycle_id, agency, nonce: f"http://portal/r/{agency}-{nonce[:4]}",
    sheet_mark=lambda cycle_id, agency: sheet_mark(factories.SECRET_KEY, cycle_id, agency),
)


# --- the CLI runner ---------------------------------------------------------------------------

# Runs a command in a fresh interpreter and reports which heavy packages got imported along the way
# (the ORM and pydantic-settings too: a read-only command reads through a Core connection; Babel
# too: only what writes to agencies needs the translations).
HEAVY_PACKAGES = (
    "babel",
    "prefect",
    "jinja2",
    "docx",
    "openpyxl",
    "fastapi",
    "uvicorn",
    "sqlalchemy.orm",
    "pydantic_settings",
)
CLI_SCRIPT = f"""
import sys
from typer.testing import CliRunner
from workflows.cli import app
result = CliRunner().invoke(app, sys.argv[1:])
print(result.output)
print("exit", result.exit_code)
print("prefect imported:", any(m == "prefect" or m.startswith("prefect.") for m in sys.modules))
print("heavy imports:", sorted(p for p in {HEAVY_PACKAGES!r} if p in sys.modules))
"""


def run(database_url: str, *args: str) -> str:
    """Run `followup ARGS` on the database in a fresh interpreter; its output, exit and Prefect lines."""
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": database_url,
        "FOLLOWUP_SECRET_KEY": factories.SECRET_KEY,
        "COLUMNS": "150",
    }
    done = subprocess.run(
        [sys.executable, "-c", CLI_SCRIPT, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# The console script as installed (`workflows.cli.entry`), with the modules it loaded: the commands it
# answers itself build no Typer app, so they import neither Typer, Rich nor pydantic.
CONSOLE_SCRIPT = """
import sys
from MAIN
try:
    status = main()
except SystemExit as exit:
    status = exit.code
sys.stdout.flush()
loaded = sorted(p for p in PACKAGES if p in sys.modules)
print(f"status {status}; loaded: {loaded}", file=sys.stderr)
"""


def console_script(
    env: dict[str, str], *args: str, typer_app: bool = False
) -> subprocess.CompletedProcess[str]:
    """`followup ARGS` through the console script (or, `typer_app`, straight through the Typer app) in a
    fresh interpreter, with no FOLLOWUP_ setting but `env`'s; stderr ends with its exit status and which
    of `typer`, `rich`, `pydantic` and the heavy packages it loaded."""
    packages = ("typer", "rich", "pydantic", *HEAVY_PACKAGES)
    main = "workflows.cli import app as main" if typer_app else "workflows.cli.entry import main"
    script = CONSOLE_SCRIPT.replace("PACKAGES", repr(packages)).replace("MAIN", main)
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**_without_followup_settings(os.environ), "FOLLOWUP_SECRET_KEY": factories.SECRET_KEY, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _without_followup_settings(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if not name.upper().startswith("FOLLOWUP_")}


# --- fault injection: a slow SMTP server, a small generated catalogue, `followup` as a process ----

FOLLOWUP = str(Path(sys.executable).parent / "followup")


@dataclass
class SlowSmtpServer(SmtpServer):
    """An SMTP server that keeps each message, then waits `delay` seconds before saying it accepted it.

    The wait puts the sender in the worst place to die: its message has arrived, the reply has not.
    """

    delay: float = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return reply

    def count_by_recipient(self) -> Counter[str]:
        """How many messages each envelope recipient received."""
        with self._lock:
            return Counter(address for _, recipients in self.envelopes for address in recipients)


@dataclass(frozen=True)
class Catalogue:
    """A small generated catalogue: its agencies and how many (item, owner) pairs it has."""

    agencies: list[str]
    owner_pairs: int

    def focal_point(self, agency: str) -> str:
        return f"focal.point@{agency.lower()}.example.org"


def make_catalogue(database_url: str, *, agencies: int = 8, recommendations: int = 40) -> Catalogue:
    """Agencies with contacts, recommendations with 1-3 owners each and milestones (the bench generator)."""
    from benchmarks import generate  # the bench generator: only the fault tests need it

    engine = make_engine(database_url)
    try:
        population = generate.populate(
            engine, recommendations=recommendations, agencies=agencies, previous_cycles=0
        )
    finally:
        engine.dispose()
    return Catalogue(population.agencies, len(population.owners))


def process_env(database_url: str, mail_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a `followup` process on this database, mail server and running Prefect server."""
    from prefect.settings import PREFECT_API_URL  # the test harness's server, set by `prefect_harness`

    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update(
        {
            "FOLLOWUP_HOME": str(home),
            "FOLLOWUP_DATABASE_URL": database_url,
            "FOLLOWUP_MAIL_URL": mail_url,
            "FOLLOWUP_SECRET_KEY": factories.SECRET_KEY,
            "FOLLOWUP_TASK_RETRY_DELAY_SECONDS": "[0]",
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "PREFECT_HOME": str(home / "prefect"),
            **extra,
        }
    )
    return env


def start_followup(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `followup ARGS...` in a process group of its own (so it can be killed whole)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [FOLLOWUP, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def run_followup(
    *args: str, env: dict[str, str], log: Path, timeout: float = 180, expect_exit: int = 0
) -> None:
    """Run `followup ARGS...` to completion; fail the test with its output unless it exits `expect_exit`."""
    process = start_followup(*args, env=env, log=log)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert code == expect_exit, f"followup {' '.join(args)} exited {code}:\n{log.read_text()[-4000:]}"


# --- the stock-take: HLCP 27 (previous) and HLCP 28 (reported on), chosen so every kind of change, a
# disagreement, a multi-owner roll-up, a draft that must not count, overdue and not-yet-due milestones occur

PREVIOUS = "HLCP 27 stock-take"
CURRENT = "HLCP 28 stock-take"
STOCKTAKE_TODAY = date(2026, 3, 20)
AGENCIES = ("ILO", "IOM", "OHCHR", "UNHCR", "UNICEF", "WHO")
OWNERS = {
    "SR1.i": ["ILO", "IOM"],
    "SR1.ii.a": ["UNICEF"],
    "SR2.i": ["OHCHR", "ILO", "WHO"],
    "A1.1": ["OHCHR"],
    "A1.2": ["UNICEF", "UNHCR"],
    "A2.1": ["ILO"],
    "A2.2": ["IOM"],
    "A3.1": ["UNHCR"],
    "A7.1": ["WHO", "IOM"],
}
S = ReportedStatus
# (code, agency, status, narrative, evidence, obstacle, assessed status, rationale)
PREVIOUS_ANSWERS = [
    ("SR1.i", "ILO", S.IN_PROGRESS, "Drafting the system-wide stock-take note.", (), "", None, ""),
    ("SR1.i", "IOM", S.IN_PROGRESS, "Contributing the IOM chapter.", (), "", None, ""),
    ("SR1.ii.a", "UNICEF", S.NOT_STARTED, "Waiting for UNDG guidance.", (), "", None, ""),
    ("SR2.i", "OHCHR", S.IN_PROGRESS, "Advocacy strategy outline circulated.", (), "", None, ""),
    ("A1.1", "OHCHR", S.IN_PROGRESS, "Access-to-justice toolkit in drafting.", (), "", None, ""),
    ("A1.2", "UNICEF", S.IN_PROGRESS, "Consultations with Member States.", (), "", None, ""),
    ("A2.1", "ILO", S.BLOCKED, "Labour market survey funding not secured.", (), "No donor", None, ""),
    ("A2.2", "IOM", S.ONGOING, "Remittance price monitoring continues.", (), "", None, ""),
    ("A7.1", "WHO", S.IN_PROGRESS, "Migrant health indicators drafted.", (), "", None, ""),
]
CURRENT_ANSWERS = [
    ("SR1.i", "ILO", S.COMPLETED, "Stock-take note tabled at HLCP 28.",
     ("https://example.org/hlcp28/note.pdf",), "", None, ""),
    ("SR1.i", "IOM", S.COMPLETED, "IOM chapter delivered.", (), "", None, ""),
    ("SR1.ii.a", "UNICEF", S.BLOCKED, "UNDAF guidelines on hold.", (),
     "UNDG has not scheduled the working group", None, ""),
    ("SR2.i", "OHCHR", S.IN_PROGRESS, "Strategy under review by GMG principals.", (), "", None, ""),
    ("SR2.i", "ILO", S.COMPLETED, "ILO input | labour indicators sent.", (), "", None, ""),
    ("A1.1", "OHCHR", S.COMPLETED, "Toolkit launched in Geneva.",
     ("https://example.org/toolkit", "https://example.org/launch-note"), "",
     S.IN_PROGRESS, "Toolkit launched, but the legal-aid module is still missing."),
    ("A1.2", "UNICEF", S.ONGOING, "Guarantees monitored through country offices.", (), "", None, ""),
    ("A2.2", "IOM", S.ONGOING, "Remittance price monitoring continues.",
     ("https://example.org/remittance-prices",), "", None, ""),
    ("A3.1", "UNHCR", S.IN_PROGRESS, "Training of border officials in 4 countries.", (), "", None, ""),
]  # fmt: skip
# (code, title, due date, state, agency)
MILESTONES = [
    ("SR1.i", "Stock-take note to HLCP", date(2025, 12, 1), MilestoneState.DONE, "ILO"),
    ("SR2.i", "Joint advocacy strategy agreed", date(2026, 1, 31), MilestoneState.PLANNED, None),
    ("A1.1", "Expert group meeting", date(2026, 6, 30), MilestoneState.PLANNED, "OHCHR"),
    ("A2.1", "Fair recruitment guidance published", date(2025, 6, 30), MilestoneState.PLANNED, "ILO"),
]


def _stocktake_answers(
    uow: SqlUnitOfWork, cycle_id: int, ids: dict[str, int], at: datetime, rows: list[tuple]
) -> None:
    with uow:
        for code, agency, status, narrative, evidence, obstacle, assessed, rationale in rows:
            update = StatusUpdate(cycle_id=cycle_id, recommendation_id=ids[code], agency_code=agency)
            uow.updates.add(update)
            answer = Answer(ids[code], status, narrative=narrative, evidence=evidence, obstacle=obstacle)
            by = f"focal.point@{agency.lower()}.example.org"
            update.apply(answer, at=at, by=by, channel=Channel.PORTAL, submit=True)
            if assessed is not None:
                update.transition(ReviewState.ACCEPTED, at=at, by="secretariat")
                update.assessed_status, update.assessment_rationale = assessed.value, rationale
        uow.commit()


def build_two_cycles(uow: SqlUnitOfWork) -> dict[str, int]:
    """Create the agencies, recommendations, milestones and both cycles; returns code -> id."""
    factories.add_agencies(uow, *AGENCIES)
    ids = factories.add_recommendations(uow, OWNERS, source="CEB/2014/4 Annex V")
    with uow:
        for code, title, due, state, agency in MILESTONES:
            uow.milestones.add(
                Milestone(
                    recommendation_id=ids[code], title=title, due_date=due, agency_code=agency, state=state
                )
            )
        uow.commit()
    previous_id, _ = factories.open_cycle(
        uow, PREVIOUS, date(2025, 10, 1), list(AGENCIES), hlcp_session="HLCP 27"
    )
    with uow:
        uow.cycles.require(PREVIOUS).launched_at = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
        uow.commit()
    _stocktake_answers(uow, previous_id, ids, datetime(2025, 9, 20, 10, 0, tzinfo=UTC), PREVIOUS_ANSWERS)
    current_id, _ = factories.open_cycle(
        uow, CURRENT, date(2026, 3, 15), list(AGENCIES), hlcp_session="HLCP 28"
    )
    _stocktake_answers(uow, current_id, ids, datetime(2026, 3, 10, 15, 30, tzinfo=UTC), CURRENT_ANSWERS)
    with uow:
        # A draft is the agency's own business until submitted: the report must not count it.
        draft = StatusUpdate(cycle_id=current_id, recommendation_id=ids["A1.2"], agency_code="UNHCR")
        uow.updates.add(draft)
        draft.apply(
            Answer(ids["A1.2"], S.COMPLETED, narrative="draft"),
            at=datetime(2026, 3, 11, tzinfo=UTC),
            by="focal.point@unhcr.example.org",
            channel=Channel.PORTAL,
            submit=False,
        )
        uow.commit()
    return ids


def empty_stocktake(hlcp_session: str | None = None) -> StockTake:
    """The stock-take of a cycle with no items."""
    return assemble_stocktake(
        cycle=CycleInfo(name="Empty", hlcp_session=hlcp_session, deadline=date(2026, 9, 1)),
        previous=None,
        today=date(2026, 9, 2),
        recommendations=[],
        items=[],
        agency_names={},
        updates=[],
    )


# --- e-mail contexts: an example context for every message kind, as the workflows build them ---


def agency_names(code: str, name: str, display: str | None = None) -> dict[str, str]:
    """How an e-mail context names an agency (its running-text name defaults to the full one)."""
    return names_of(code, name, display or name)


IOM = agency_names("IOM", "Organisation internationale pour les migrations — Genève")
MAIL_CYCLE = {"name": "2026-spring", "hlcp_session": "HLCP 51st session", "deadline": date(2026, 4, 3)}
SECRETARIAT = "hlcp.secretariat@un.example.org"
REPLY_URL = "http://127.0.0.1:8000/r/tok3n-IOM"
MADE_AT = datetime(2026, 3, 9, 8, 30, tzinfo=UTC)  # when a message is made: its calendar's DTSTAMP


def context(kind: str, **overrides: Any) -> dict[str, Any]:
    """A complete context for `kind`, with `overrides` replacing top-level values."""
    common: dict[str, Any] = {
        "cycle": MAIL_CYCLE,
        "secretariat_email": SECRETARIAT,
        "made_at": MADE_AT,
        "through": None,
    }
    by_kind: dict[str, dict[str, Any]] = {
        "status-request": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "deadline_moves": 0,
            "item_count": 3,
            "in_parts": False,
            "items_by_point": [
                {
                    "kind": "annex",
                    "agenda_point": 1,
                    "agenda_title": "Migration and development",
                    "items": [
                        {
                            "code": "A1.1",
                            "text": "Establish an inter-agency working group on migration data.",
                            "role": "lead",
                            "last_status": "in_progress",
                            "last_narrative": "Terms of reference agreed; first meeting held in Genève.",
                        },
                        {
                            "code": "A1.2",
                            "text": "Publish a joint statistical report.",
                            "role": "contributor",
                            "last_status": None,
                            "last_narrative": "",
                        },
                    ],
                },
                {
                    "kind": "strategic",
                    "agenda_point": None,
                    "agenda_title": "",
                    "items": [
                        {
                            "code": "SR1.ii.a",
                            "text": "Report progress to the CEB every year.",
                            "role": "lead",
                            "last_status": "completed",
                            "last_narrative": "Reported in 2025.",
                        }
                    ],
                },
            ],
        },
        "reminder": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "deadline_moves": 0,
            "days_left": 7,
            "unanswered_count": 2,
            "item_count": 3,
        },
        "cycle-cancelled": {"agency": IOM, "reply_url": REPLY_URL, "deadline_moves": 0},
        "deadline-extended": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "deadline_moves": 1,
            "days_left": 21,
            "unanswered_count": 2,
            "item_count": 3,
            "previous_deadline": date(2026, 3, 20),
        },
        "escalation": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "days_overdue": 3,
            "unanswered_count": 2,
            "focal_points": ["focal.point@iom.example.org", "deputy@iom.example.org"],
        },
        "receipt": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "deadline_moves": 0,
            "submitted_at": datetime(2026, 3, 20, 14, 5, tzinfo=UTC),
            "recorded": [
                {"code": "A1.1", "status": "completed", "narrative": "Working group met twice; report out."},
                {"code": "A1.2", "status": "blocked", "narrative": ""},
            ],
        },
        "returned": {
            "agency": IOM,
            "reply_url": REPLY_URL,
            "returned": [
                {
                    "code": "A1.1",
                    "status": "completed",
                    "narrative": "Barometer published.",
                    "question": "Is the survey programme itself complete, or only its first edition?",
                }
            ],
        },
        "cycle-summary": {
            "figures": {
                "items": 9,
                "reported": 7,
                "reported_rate": 78,
                "overdue_requests": 4,
                "overdue_milestones": 2,
            },
            "headline": [
                {"label": "Recommendations", "value": 9},
                {"label": "Overdue requests", "value": 4},
                {"label": "Overdue milestones", "value": 2},
            ],
            "overdue_agencies": [IOM, agency_names("UNDP", "United Nations Development Programme", "UNDP")],
            "report_paths": ["var/reports/2026-spring/stock-take.docx"],
            "report_url": None,
        },
    }
    return {**common, **by_kind[kind], **overrides}


# --- the public record: a closed cycle and an open one, with answers in every review state -----------

RECORD_REPORT = "CEB/2014/4 Annex V"
RECORD_CLOSED = "Autumn 2025"
RECORD_OPEN = "Spring 2026"
RECORD_CLOSED_ON = date(2025, 10, 20)
# Texts that must never reach the public: an answer submitted but not accepted in the closed cycle,
# an accepted answer of the open cycle, and a draft.
NOT_ACCEPTED = "Submitted, never accepted."
OPEN_CYCLE_ANSWER = "Accepted in a cycle still open."
DRAFT_ANSWER = "A draft nobody was sent."
# (code, agency, status, narrative, evidence, review: accept | assess:<status> | submit | draft)
RECORD_CLOSED_ANSWERS = [
    ("SR1", "BBB", S.IN_PROGRESS, "Joint strategy drafted.", ("https://example.org/strategy",), "accept"),
    ("A1.1", "AAA", S.COMPLETED, "Toolkit launched <in Geneva> & online.", (), "assess:in_progress"),
    ("A1.2", "AAA", S.ONGOING, NOT_ACCEPTED, (), "submit"),
    ("A1.2", "BBB", S.BLOCKED, "Waiting for funds.", (), "accept"),
]  # fmt: skip
RECORD_OPEN_ANSWERS = [
    ("A1.1", "AAA", S.COMPLETED, OPEN_CYCLE_ANSWER, (), "accept"),
    ("SR1", "BBB", S.COMPLETED, DRAFT_ANSWER, (), "draft"),
    ("A2.1", "AAA", S.NOT_STARTED, "Submitted in the open cycle.", (), "submit"),
]  # fmt: skip


def _record_answers(uow: SqlUnitOfWork, cycle_id: int, ids: dict[str, int], rows: list[tuple]) -> None:
    from domain import review as review_rules

    at = datetime(2025, 9, 20, 9, 0, tzinfo=UTC)
    with uow:
        for code, agency, status, narrative, evidence, verdict in rows:
            update = StatusUpdate(cycle_id=cycle_id, recommendation_id=ids[code], agency_code=agency)
            uow.updates.add(update)
            answer = Answer(ids[code], status, narrative=narrative, evidence=evidence)
            by = f"focal.point@{agency.lower()}.example.org"
            update.apply(answer, at=at, by=by, channel=Channel.PORTAL, submit=verdict != "draft")
            if verdict.startswith(("accept", "assess")):
                assess = ReportedStatus(verdict.split(":")[1]) if verdict.startswith("assess") else None
                why = "The legal-aid module is missing." if assess else ""
                review_rules.accept(update, label=code, at=at, by="secretariat", assess=assess, why=why)
        uow.commit()


def build_public_record(uow: SqlUnitOfWork) -> dict[str, int]:
    """Two agencies, four recommendations, a closed cycle and an open one; returns code -> id."""
    from domain.lifecycle import CycleState

    factories.add_agencies(uow, "AAA", "BBB")
    owners = {"SR1": ["BBB"], "A1.1": ["AAA"], "A1.2": ["AAA", "BBB"], "A2.1": ["AAA"]}
    ids = factories.add_recommendations(uow, owners, source=RECORD_REPORT)
    closed, _ = factories.open_cycle(uow, RECORD_CLOSED, date(2025, 10, 1), ["AAA", "BBB"])
    _record_answers(uow, closed, ids, RECORD_CLOSED_ANSWERS)
    with uow:
        cycle = uow.cycles.require(RECORD_CLOSED)
        cycle.launched_at = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
        closing = datetime.combine(RECORD_CLOSED_ON, datetime.min.time(), UTC)
        cycle.transition(CycleState.CLOSED, at=closing, by="test")
        cycle.closed_at = closing
        uow.commit()
    opened, _ = factories.open_cycle(uow, RECORD_OPEN, date(2026, 3, 31), ["AAA", "BBB"])
    _record_answers(uow, opened, ids, RECORD_OPEN_ANSWERS)
    return ids


# --- evidence files: real files of each kind accepted, and the scenario's evidence folder ----------------

MINIMAL_PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def office_zip(parts: dict[str, bytes] | dict[str, str]) -> bytes:
    """A zip of these parts (name -> content), as Office files are packed."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in parts.items():
            package.writestr(name, content)
    return buffer.getvalue()


def ooxml_package(main: str, content_type: str) -> bytes:
    """A zip shaped as an Office Open XML package whose main part is `main`, declared as `content_type`."""
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Override PartName="/{main}" ContentType="{content_type}"/></Types>'
    )
    return office_zip({"[Content_Types].xml": types, main: "<root/>"})


def compound_file(stream: str) -> bytes:
    """The start of an Office 97-2003 file (a Compound File) whose directory names `stream`."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entry = stream.encode("utf-16-le") + b"\0\0"
    return header + "Root Entry".encode("utf-16-le") + bytes(44) + entry + bytes(4096)


def sample_file(kind: str) -> bytes:
    """A small but real file of an accepted kind ("pdf", "docx", "png", "doc", "text"...)."""
    import io

    if kind == "pdf":
        return MINIMAL_PDF
    if kind == "docx":
        from docx import Document

        buffer = io.BytesIO()
        document = Document()
        document.add_paragraph("Terms of reference of the expert group.")
        document.save(buffer)
        return buffer.getvalue()
    if kind == "xlsx":
        from openpyxl import Workbook

        buffer = io.BytesIO()
        Workbook().save(buffer)
        return buffer.getvalue()
    if kind == "pptx":
        from domain.evidence import OOXML_MAIN

        return ooxml_package(*OOXML_MAIN["pptx"])
    if kind in ("doc", "xls", "ppt"):
        from domain.evidence import OLE_STREAMS

        return compound_file(OLE_STREAMS[kind])
    if kind in ("png", "jpeg", "gif", "webp"):
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (0, 90, 156)).save(buffer, format=kind.upper())
        return buffer.getvalue()
    assert kind == "text", kind
    return "Minutes of the meeting in Côte d’Ivoire, 12 February: the work plan is agreed.\n".encode()


def evidence_folder_files() -> list[Path]:
    """Every file under the evidence folder of the settings in force (temporary ones included)."""
    root = get_settings().evidence_dir
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def prepare_spring_cycle(database_url: str) -> None:
    """Two agencies, two recommendations and the open cycle "Spring 2026" (deadline 2026-04-01)."""
    uow = bootstrap.uow(database_url)
    factories.add_agencies(uow, "ILO", "IOM")
    factories.add_recommendations(uow, {"SR1": ["ILO", "IOM"], "A1.1": ["IOM"]})
    factories.open_cycle(uow, "Spring 2026", date(2026, 4, 1), ["ILO", "IOM"])
    bootstrap.engine(database_url).dispose()


def process_alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
