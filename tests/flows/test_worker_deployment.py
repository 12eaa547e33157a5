"""A real Prefect server and process worker run what `followup deploy` registered; automations alert.

The commands are those of the operator guide (docs/operator.md), which a test here checks.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

import httpx
import pytest

from tests.factories import open_cycle
from tests.prefect_server import BIN, running_prefect_server, stop_process_group
from tests.smtp import SmtpServer, free_port
from tests.support import sent_messages
from workflows import bootstrap

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = date(2026, 4, 1)
# The operator guide's steps, in its words (the test adds only where things are: ports, databases).
CREATE_POOL = "prefect work-pool create followup --type process"
DEPLOY = "followup deploy --pool followup"
START_WORKER = "prefect worker start --pool followup"
RUN_NOW = "prefect deployment run daily-follow-up/followup --watch"
INSTALL_AUTOMATIONS = "followup automations install --block custom-webhook/secretariat"


def make_server(port: int) -> list[str]:
    """`make server` itself, on `port`, with this venv's tools (and no install: `-o` the stamp)."""
    return ["make", "-C", str(ROOT), "-o", ".venv/.installed", "server", f"PREFECT_PORT={port}", f"BIN={BIN}"]


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Prefect server for this module's tests, started by `make server`; its API URL."""
    with running_prefect_server(tmp_path_factory.mktemp("prefect"), make_server) as url:
        yield url


def test_make_server_points_the_ui_at_the_api_on_its_own_port(prefect_api: str) -> None:
    ui_settings = httpx.get(prefect_api.removesuffix("/api") + "/ui-settings", timeout=10).json()
    assert ui_settings["api_url"] == prefect_api


def run(command: str, env: dict[str, str], *, cwd: Path | None = None, timeout: float = 180) -> str:
    """Run one of the guide's commands with the test's venv first; its output, or the test fails."""
    words = shlex.split(command)
    done = subprocess.run(
        [str(BIN / words[0]), *words[1:]], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


def test_the_operator_guide_gives_the_commands_these_tests_run() -> None:
    guide = (ROOT / "docs" / "operator.md").read_text()
    for command in (CREATE_POOL, DEPLOY, START_WORKER, RUN_NOW, INSTALL_AUTOMATIONS, "make server"):
        assert command in guide


def _pool_deployments(api: str) -> dict[str, dict[str, Any]]:
    """The deployments named `followup` by flow name: entrypoint, pull steps, schedules, parameters."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"api.url": api}), get_client(sync_client=True) as client:
        found = client.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["followup"]))
        )
        flow_names = {flow.id: flow.name for flow in client.read_flows()}
    return {
        flow_names[d.flow_id]: {
            "entrypoint": d.entrypoint,
            "path": d.path,
            "pull_steps": d.pull_steps or [],
            "work_pool": d.work_pool_name,
            "crons": [s.schedule.cron for s in d.schedules],  # type: ignore[union-attr]
            "parameters": d.parameters,
            "tags": d.tags,
        }
        for d in found
    }


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_process_worker_runs_the_daily_follow_up_that_followup_deploy_registered_on_postgresql(
    catalogue: dict[str, int], smtp_server: SmtpServer, prefect_api: str, tmp_path: Path
) -> None:
    open_cycle(bootstrap.uow(), "Spring 2026", DEADLINE, ["ILO", "IOM", "UNHCR"])
    # FOLLOWUP_DATABASE_URL (this test's PostgreSQL database), _MAIL_URL and _SECRET_KEY come from
    # the followup_env fixture, as the guide exports them.
    operator = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_HOME": str(tmp_path / "operator")}
    run("followup init", operator)
    run(CREATE_POOL, operator)

    # prefect.yaml first: `followup deploy` then finds the same four deployments and updates them.
    run("prefect --no-prompt deploy --all", operator, cwd=ROOT)
    from_yaml = _pool_deployments(prefect_api)
    with_launch = run(f"{DEPLOY} --launch-cron '0 8 1 2,8 *'", operator)
    assert with_launch.count("updated") == 4 and "created" not in with_launch
    assert _pool_deployments(prefect_api)["launch-stocktake-cycle"]["crons"] == ["0 8 1 2,8 *"]
    run(DEPLOY, operator)  # back to an on-demand launch: the schedule goes
    deployed = _pool_deployments(prefect_api)
    assert deployed == from_yaml
    assert set(deployed) == {
        "daily-follow-up",
        "collect-replies",
        "close-stocktake-cycle",
        "launch-stocktake-cycle",
    }
    daily = deployed["daily-follow-up"]
    assert daily["entrypoint"] == "workflows.flows.daily_follow_up"
    assert (daily["path"], daily["pull_steps"], daily["crons"]) == (None, [], ["0 7 * * *"])

    # The worker: its own Prefect home, Follow-up home and working directory, far from the checkout.
    elsewhere = tmp_path / "worker"
    elsewhere.mkdir()
    worker_env = {
        **operator,
        "PREFECT_HOME": str(elsewhere / "prefect"),
        "FOLLOWUP_HOME": str(elsewhere / "home"),
        "PREFECT_WORKER_QUERY_SECONDS": "2",  # pick the run up promptly (default 10 s)
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [str(BIN / "prefect"), *shlex.split(START_WORKER)[1:]],
        env=worker_env,
        cwd=elsewhere,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        two_days_before = (DEADLINE - timedelta(days=2)).isoformat()
        watched = run(f"{RUN_NOW} --param today={two_days_before} --watch-timeout 240", operator, timeout=300)
    finally:
        stop_process_group(worker)
        log.close()
    assert "Completed" in watched
    # The worker's flow run reached this test's PostgreSQL database and SMTP server: one reminder each.
    assert sorted(sent_messages()) == [("reminder", "ILO"), ("reminder", "IOM"), ("reminder", "UNHCR")]
    assert len(smtp_server.messages) == 3


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep the test's output clean
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback HTTP endpoint standing in for the secretariat's chat or mail gateway."""
    server = HTTPServer(("127.0.0.1", free_port()), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("backend", ["sqlite"])  # the failed run needs a database; which one does not matter
def test_automations_are_installed_once_and_notify_the_secretariat_of_failed_mail_and_a_failed_run(
    prefect_api: str, webhook: tuple[str, list[dict[str, Any]]], database_url: str, tmp_path: Path
) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client
    from prefect.settings import temporary_settings

    url, received = webhook
    with temporary_settings(updates={"api.url": prefect_api}):
        block_id = CustomWebhookNotificationBlock(
            name="secretariat",
            url=url,
            json_data={"subject": "{{subject}}", "body": "{{body}}"},
            headers=None,
            cookies=None,
        ).save("secretariat", overwrite=True)
    operator = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_HOME": str(tmp_path / "operator")}
    first = run(INSTALL_AUTOMATIONS, operator)
    again = run(INSTALL_AUTOMATIONS, operator)
    assert first.count("created") == 3
    assert again.count("updated") == 3 and "created" not in again

    with temporary_settings(updates={"api.url": prefect_api}), get_client(sync_client=True) as client:
        ours = [a for a in client.read_automations() if a.name.startswith("followup: ")]
    assert sorted(a.name for a in ours) == [
        "followup: a flow run failed",
        "followup: mail failed",
        "followup: no daily follow-up in 26 hours",
    ]
    assert {action.block_document_id for a in ours for action in a.actions} == {block_id}  # type: ignore[union-attr]

    # A mail.failed event reaches the server: the secretariat's endpoint is notified.
    event = {
        "id": str(uuid4()),
        "occurred": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "event": "followup.mail.failed",
        "resource": {"prefect.resource.id": "followup.cycle.Spring 2026"},
        "payload": {"agencies": ["IOM"]},
    }
    assert httpx.post(f"{prefect_api}/events", json=[event], timeout=10).status_code < 300
    give_up = time.monotonic() + 60
    while not received and time.monotonic() < give_up:
        time.sleep(0.5)
    assert [note["subject"] for note in received] == ["Follow-up: e-mail could not be delivered"]
    assert "followup.cycle.Spring 2026" in received[0]["body"]

    # A real flow run that fails (collecting an unknown cycle, as a deployment's run would: the command
    # line refuses the name before any run starts) is named in the next notification.
    collect_unknown = "from workflows import flows; flows.collect_replies(cycle_name='No such cycle')"
    failing = subprocess.run(
        [str(BIN / "python"), "-c", collect_unknown],
        env={**operator, "FOLLOWUP_DATABASE_URL": database_url, "FOLLOWUP_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert failing.returncode == 1, failing.stderr[-3000:]
    give_up = time.monotonic() + 60
    while len(received) < 2 and time.monotonic() < give_up:
        time.sleep(0.5)
    subject = received[1]["subject"]
    assert subject.startswith("Follow-up: collect-replies run ") and subject.endswith(" ended Failed")
    assert "no cycle named 'No such cycle'" in received[1]["body"]
    # A link into the UI, which `make server` sets for its port (PREFECT_UI_URL).
    assert prefect_api.removesuffix("/api") + "/runs/flow-run/" in received[1]["body"]


def _fails(command: str, env: dict[str, str]) -> str:
    """Run a command that must refuse; its error output."""
    words = shlex.split(command)
    done = subprocess.run(
        [str(BIN / words[0]), *words[1:]], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stdout[-2000:]
    return " ".join(done.stderr.split())


def test_deploy_and_automations_refuse_a_missing_server_pool_or_block_saying_what_to_do(
    prefect_api: str, tmp_path: Path
) -> None:
    no_server = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    no_server["PREFECT_HOME"] = str(tmp_path / "no-server")
    assert "error: PREFECT_API_URL: not set" in _fails(DEPLOY, no_server)

    operator = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_HOME": str(tmp_path / "operator")}
    assert (
        "error: --pool: no work pool 'elsewhere' on "
        f"{prefect_api}: create it with `prefect work-pool create elsewhere --type process`"
    ) in _fails("followup deploy --pool elsewhere", operator)
    assert f"error: --block: no block 'slack-webhook/nobody' on {prefect_api}: create one" in _fails(
        "followup automations install --block slack-webhook/nobody", operator
    )
