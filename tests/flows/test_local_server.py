"""The local Prefect server flow commands start when no PREFECT_API_URL is set: real processes, loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import SECRET_KEY
from tests.support import process_alive

pytestmark = pytest.mark.slow  # each test starts a real Prefect server (~10-30 s on 2 cores)

FOLLOWUP = str(Path(sys.executable).parent / "followup")
STARTING = "Starting a local Prefect server"


@pytest.fixture
def home_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A `followup` environment with a home of its own and no Prefect API configured; stops its server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOLLOWUP_", "PREFECT_"))}
    env.update({"FOLLOWUP_HOME": str(tmp_path / "home"), "FOLLOWUP_SECRET_KEY": SECRET_KEY, "COLUMNS": "200"})
    yield env
    followup("server", "stop", env=env)
    if _record(env) is not None:  # `server stop` failed: do not leave a server running after the tests
        os.killpg(recorded_server(env)[1], signal.SIGKILL)


def followup(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `followup ARGS...` as the user would, bounded in time."""
    return subprocess.run([FOLLOWUP, *args], env=env, capture_output=True, text=True, timeout=240)


def _record(env: dict[str, str]) -> dict[str, object] | None:
    path = Path(env["FOLLOWUP_HOME"]) / "prefect" / "followup-server.json"
    return json.loads(path.read_text()) if path.exists() else None


def recorded_server(env: dict[str, str]) -> tuple[str, int]:
    """(API URL, pid) of the local server the home records."""
    record = _record(env)
    assert record is not None, "no local server recorded"
    return str(record["api_url"]), int(str(record["pid"]))


def healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("backend", ["sqlite"])  # the server is under test here, not the database
def test_the_first_flow_command_starts_a_local_server_and_the_next_one_reuses_it(
    database_url: str, home_env: dict[str, str]
) -> None:
    env = {**home_env, "FOLLOWUP_DATABASE_URL": database_url}
    first = followup("check", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert STARTING in first.stderr and "Local Prefect server ready" in first.stderr
    assert "Starting temporary server" not in first.stderr
    api_url, pid = recorded_server(env)
    assert api_url.startswith("http://127.0.0.1:") and healthy(api_url)
    assert api_url.removesuffix("/api") in first.stderr  # the UI link the user can open

    second = followup("check", env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert STARTING not in second.stderr and "Starting temporary server" not in second.stderr
    assert recorded_server(env) == (api_url, pid)
    assert f"View at {api_url.removesuffix('/api')}/runs/flow-run/" in second.stderr  # it ran there


def test_a_server_that_was_killed_is_noticed_and_replaced(home_env: dict[str, str]) -> None:
    assert followup("server", "start", env=home_env).returncode == 0
    api_url, pid = recorded_server(home_env)
    os.killpg(pid, signal.SIGKILL)
    _wait_until_gone(pid)
    assert not healthy(api_url)

    restarted = followup("server", "start", env=home_env)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert f"(pid {pid}) is not answering: starting a new one" in restarted.stderr
    new_url, new_pid = recorded_server(home_env)
    assert new_pid != pid and healthy(new_url)


def test_server_status_reports_the_running_server_and_server_stop_stops_it(home_env: dict[str, str]) -> None:
    before = followup("server", "status", env=home_env)
    assert before.returncode == 1 and "No local Prefect server" in before.stdout
    assert followup("server", "start", env=home_env).returncode == 0
    api_url, pid = recorded_server(home_env)

    status = followup("server", "status", env=home_env)
    assert status.returncode == 0, status.stderr
    assert "running" in status.stdout and api_url in status.stdout and f"pid:     {pid}" in status.stdout
    assert str(Path(home_env["FOLLOWUP_HOME"]) / "prefect" / "server.log") in status.stdout

    stopped = followup("server", "stop", env=home_env)
    assert stopped.returncode == 0 and f"pid {pid}" in stopped.stdout
    _wait_until_gone(pid)
    assert not healthy(api_url) and _record(home_env) is None
    after = followup("server", "status", env=home_env)
    assert after.returncode == 1 and "No local Prefect server" in after.stdout


def test_two_commands_started_together_share_one_server(home_env: dict[str, str]) -> None:
    together = [
        subprocess.Popen(
            [FOLLOWUP, "server", "start"],
            env=home_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [command.communicate(timeout=240) for command in together]
    assert [command.returncode for command in together] == [0, 0], outputs
    _api_url, pid = recorded_server(home_env)
    assert all(f"pid:     {pid}," in stdout for stdout, _stderr in outputs)
    assert sum(STARTING in stderr for _stdout, stderr in outputs) == 1
    assert server_processes(home_env) == [pid]


def test_interrupting_the_first_command_while_the_server_starts_leaves_no_server_behind(
    home_env: dict[str, str],
) -> None:
    command = subprocess.Popen([FOLLOWUP, "server", "start"], env=home_env, stderr=subprocess.PIPE, text=True)
    assert command.stderr is not None
    while STARTING not in command.stderr.readline():
        assert command.poll() is None, "the command ended before starting the server"
    log = Path(home_env["FOLLOWUP_HOME"]) / "prefect" / "server.log"
    give_up = time.monotonic() + 60
    while not (log.exists() and log.stat().st_size) and time.monotonic() < give_up:
        time.sleep(0.1)  # the server process runs and writes its log: it is starting, not yet healthy
    assert len(server_processes(home_env)) == 1
    command.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends it
    command.communicate(timeout=60)
    assert command.returncode != 0
    assert server_processes(home_env) == [] and _record(home_env) is None
    assert server_processes(home_env, b"workflows.command_server") == []  # started beside it, stopped too


def test_a_server_that_cannot_start_fails_the_command_in_one_line_naming_its_log(
    home_env: dict[str, str],
) -> None:
    # A Prefect database nobody listens on: the server exits while migrating it.
    env = {**home_env, "PREFECT_API_DATABASE_CONNECTION_URL": "postgresql+asyncpg://nobody@127.0.0.1:9/none"}
    failed = followup("server", "start", env=env)
    log = Path(home_env["FOLLOWUP_HOME"]) / "prefect" / "server.log"
    assert failed.returncode == 1
    assert "error: the local Prefect server exited with status" in failed.stderr
    assert f"see {log}" in failed.stderr.replace("\n", "") and log.stat().st_size > 0
    assert "Traceback" not in failed.stderr and _record(home_env) is None


def test_server_status_answers_without_importing_prefect(home_env: dict[str, str]) -> None:
    script = (
        "import sys\nfrom typer.testing import CliRunner\nfrom workflows.cli import app\n"
        "result = CliRunner().invoke(app, ['server', 'status'])\n"
        "print(result.output)\n"
        "print('prefect imported:', any(m.split('.')[0] == 'prefect' for m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=home_env, capture_output=True, text=True, timeout=60
    )
    assert "No local Prefect server" in done.stdout and "prefect imported: False" in done.stdout


def server_processes(env: dict[str, str], command: bytes = b"server\0start") -> list[int]:
    """Pids of the live Prefect servers (or other `command`) whose home is this test's (read from /proc)."""
    home = f"PREFECT_HOME={Path(env['FOLLOWUP_HOME']).resolve() / 'prefect'}".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline, environ = (proc / "cmdline").read_bytes(), (proc / "environ").read_bytes()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if command in cmdline and home in environ.split(b"\0") and process_alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def _wait_until_gone(pid: int) -> None:
    give_up = time.monotonic() + 30
    while process_alive(pid) and time.monotonic() < give_up:
        time.sleep(0.1)
    assert not process_alive(pid), f"process {pid} still running"
