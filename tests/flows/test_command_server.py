"""Flow commands through the command server (no PREFECT_API_URL set): real `followup` processes, a real
local Prefect server, the command server beside it; compared with the same commands run in-process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import SECRET_KEY
from tests.support import make_catalogue, process_alive
from workflows import command_client

FOLLOWUP = str(Path(sys.executable).parent / "followup")
# The same command line without the console script's hand-over: the Typer app in this process.
IN_PROCESS = [sys.executable, "-c", "from workflows.cli import app; app()"]
NAMES = ("Served", "Direct")  # as long as each other: a title centred over a table is the same
ALLOW = "--allow-placeholders"  # the generated agencies' addresses are example.org ones
# A deadline a month after the launch day given: the tests hold whatever day they run on.
WHEN = ("--deadline", "2031-03-01", "--today", "2031-02-01")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Follow-up home whose local Prefect server and command server run; both stopped afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOLLOWUP_", "PREFECT_"))}
    folder = tmp_path_factory.mktemp("served")
    env.update({"FOLLOWUP_HOME": str(folder / "home"), "FOLLOWUP_SECRET_KEY": SECRET_KEY, "COLUMNS": "200"})
    started = followup("server", "start", env=env)
    assert started.returncode == 0, started.stderr
    yield env
    stopped = followup("server", "stop", env=env)
    assert stopped.returncode == 0, stopped.stderr


@pytest.fixture
def env(home: dict[str, str], database_url: str, tmp_path: Path) -> dict[str, str]:
    """This test's database (eight agencies, forty items) and mail folder, the command server listening."""
    make_catalogue(database_url, agencies=8, recommendations=40)
    test_env = {**home, "FOLLOWUP_DATABASE_URL": database_url, "FOLLOWUP_MAIL_URL": f"file://{tmp_path}/mail"}
    wait_until_listening(test_env)
    return test_env


def followup(
    *args: str, env: dict[str, str], command: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `followup ARGS...` as the user would (or `command` instead of the console script)."""
    return subprocess.run(
        [*(command or [FOLLOWUP]), *args], env=env, capture_output=True, text=True, timeout=240
    )


def record(env: dict[str, str]) -> dict[str, object]:
    return dict(json.loads((prefect_home(env) / "followup-server.json").read_text()))


def prefect_home(env: dict[str, str]) -> Path:
    return Path(env["FOLLOWUP_HOME"]) / "prefect"


def commands_log(env: dict[str, str]) -> str:
    return (prefect_home(env) / "commands.log").read_text()


def ran_in_command_server(env: dict[str, str], log_before: str, *args: str) -> bool:
    """Whether the command server forked a process for `followup ARGS` since the log read `log_before`."""
    return f": followup {' '.join(args)}\n" in commands_log(env)[len(log_before) :]


def wait_until_listening(env: dict[str, str]) -> None:
    """Until the recorded command server answers (a command after a stale or dead one restarts it)."""
    if not process_alive(int(str(record(env)["commands_pid"]))):
        assert followup("server", "start", env=env).returncode == 0
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(prefect_home(env) / command_client.SOCKET_NAME))
                return
            except OSError:
                time.sleep(0.2)
    raise AssertionError(f"the command server does not listen:\n{commands_log(env)[-2000:]}")


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid`."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(proc.name))
    return found


def launched(output: str, name: str) -> str:
    return output.replace(name, "NAME")


def requests_table(shown: str) -> str:
    """The table of each agency's request in `followup cycle show` (without the figures after it)."""
    lines = shown.splitlines()
    return "\n".join(lines[: next(i for i, line in enumerate(lines) if "Stock-take figures" in line)])


@pytest.mark.slow
def test_a_flow_command_in_the_command_server_prints_and_stores_what_it_does_in_process(
    env: dict[str, str], tmp_path: Path
) -> None:
    log = commands_log(env)
    served = followup("cycle", "launch", "Served", *WHEN, ALLOW, env=env)
    assert served.returncode == 0, served.stderr[-3000:]
    assert ran_in_command_server(env, log, "cycle", "launch", "Served", *WHEN, ALLOW), (
        commands_log(env) + served.stderr[:3000]
    )
    assert "View at http://127.0.0.1:" in served.stderr  # a real Prefect run on the local server
    log = commands_log(env)
    direct = followup("cycle", "launch", "Direct", *WHEN, ALLOW, env=env, command=IN_PROCESS)
    assert direct.returncode == 0, direct.stderr[-3000:]
    assert commands_log(env) == log  # not through the command server
    assert launched(served.stdout, "Served") == launched(direct.stdout, "Direct")
    assert (
        served.stdout.startswith("Launched Served: 8 agencies, ")
        and "8 requests queued now, 8 sent" in served.stdout
    )
    # Each agency's request, as stored (the figures below it compare with the cycle before: not the same).
    shown = [requests_table(followup("cycle", "show", name, env=env).stdout) for name in NAMES]
    assert launched(shown[0], "Served") == launched(shown[1], "Direct")
    assert [line.split()[1] for line in shown[0].splitlines()[3:-2]] == ["sent"] * 8  # each agency's request
    mail = sorted(path.read_text(errors="replace") for path in (tmp_path / "mail").glob("*.eml"))
    assert len(mail) == 16 and sum("Served" in text for text in mail) == 8

    log = commands_log(env)
    checked = followup("check", "--today", "2031-03-04", env=env)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert ran_in_command_server(env, log, "check", "--today", "2031-03-04")
    assert checked.stdout.startswith("Follow-up of 2031-03-04: 0 reminders")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])  # the command server is under test, not the database
def test_exit_statuses_and_errors_come_back_from_the_command_server(env: dict[str, str]) -> None:
    log = commands_log(env)
    unknown = followup("cycle", "collect", "No such cycle", env=env)
    assert unknown.returncode == 1
    assert "error: no cycle named 'No such cycle'" in unknown.stderr and unknown.stdout == ""
    misspelt = followup("check", "--todya", "2031-01-01", env=env)
    assert misspelt.returncode == 2 and "No such option: --todya" in misspelt.stderr
    assert ran_in_command_server(env, log, "cycle", "collect", "'No such cycle'")
    assert ran_in_command_server(env, log, "check", "--todya", "2031-01-01")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_ctrl_c_interrupts_the_flow_command_in_the_command_server(env: dict[str, str]) -> None:
    with socket.socket() as probe:  # a port nobody listens on: every send fails and waits to retry
        probe.bind(("127.0.0.1", 0))
        refused = f"smtp://127.0.0.1:{probe.getsockname()[1]}"
    command = subprocess.Popen(
        [FOLLOWUP, "cycle", "launch", "Stopped", *WHEN, "--allow-placeholders"],
        env={**env, "FOLLOWUP_MAIL_URL": refused},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert command.stderr is not None
    said: list[str] = []
    while "send-messages" not in (line := command.stderr.readline()):  # the run waits between retries
        assert line, f"the command ended first: {''.join(said)}"
        said.append(line)
    command.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends it
    _out, rest = command.communicate(timeout=60)
    assert command.returncode == 130  # as when it runs in-process
    assert "Execution was aborted by an interrupt signal" in rest
    server = int(str(record(env)["commands_pid"]))
    give_up = time.monotonic() + 10
    while children_of(server) and time.monotonic() < give_up:
        time.sleep(0.1)
    assert children_of(server) == [] and process_alive(server)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_command_whose_client_gave_up_before_saying_go_never_runs(env: dict[str, str]) -> None:
    argv = ["followup", "cycle", "launch", "Never", *WHEN, ALLOW]
    request = {
        "version": command_client.code_version(),
        "argv": argv,
        "cwd": os.getcwd(),
        "env": env,
        "umask": 0o077,
        "encoding": [["utf-8", "strict"]] * 3,
    }
    with socket.socket(socket.AF_UNIX) as sock, open(os.devnull, "r+b") as null:
        sock.connect(str(prefect_home(env) / command_client.SOCKET_NAME))
        command_client.send_message(sock, request, [null.fileno()] * 3)
        ready = command_client.MessageReader(sock).next()
        assert ready is not None and "ready" in ready
    # The client went away (as one that timed out does, to run the command itself).
    give_up = time.monotonic() + 30
    while process_alive(int(ready["ready"])) and time.monotonic() < give_up:
        time.sleep(0.1)
    assert not process_alive(int(ready["ready"]))
    assert "Never" not in followup("cycle", "list", env=env).stdout


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_client_whose_prefect_settings_differ_runs_its_command_itself(env: dict[str, str]) -> None:
    debug = followup("check", env={**env, "PREFECT_LOGGING_LEVEL": "DEBUG"})
    assert debug.returncode == 0, debug.stderr[-3000:]
    assert "| DEBUG   |" in debug.stderr  # its own settings, not the server's


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_command_server_that_imported_other_code_never_runs_a_command_and_is_replaced(
    env: dict[str, str],
) -> None:
    stale = int(str(record(env)["commands_pid"]))
    source = Path(command_client.__file__)
    before = source.stat()
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))  # as if edited
    try:
        log = commands_log(env)
        checked = followup("check", env=env)
        assert checked.returncode == 0, checked.stderr[-3000:]
        assert not ran_in_command_server(env, log, "check")
        assert "A client runs other code than this server imported: exiting." in commands_log(env)
        assert not process_alive(stale)
        fresh = int(str(record(env)["commands_pid"]))
        assert fresh != stale and process_alive(fresh)  # started by the command run in-process
        wait_until_listening(env)
        log = commands_log(env)
        assert followup("check", env=env).returncode == 0
        assert ran_in_command_server(env, log, "check")
    finally:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_command_server_that_died_is_replaced_and_the_command_still_runs(env: dict[str, str]) -> None:
    dead = int(str(record(env)["commands_pid"]))
    os.killpg(dead, signal.SIGKILL)
    while process_alive(dead):
        time.sleep(0.05)
    checked = followup("check", env=env)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert checked.stdout.startswith("Follow-up of ")
    replaced = int(str(record(env)["commands_pid"]))
    assert replaced != dead and process_alive(replaced)
    status = followup("server", "status", env=env)
    assert f"command server: pid {replaced}, log " in status.stdout


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_command_server_keeps_none_of_follow_ups_settings_in_its_environment(env: dict[str, str]) -> None:
    wait_until_listening(env)
    server = int(str(record(env)["commands_pid"]))

    environment = Path(f"/proc/{server}/environ").read_bytes().split(b"\0")

    assert any(entry.startswith(b"PREFECT_HOME=") for entry in environment)
    assert not [entry for entry in environment if entry.upper().startswith(b"FOLLOWUP_")]
    assert any(name.startswith("FOLLOWUP_") for name in env)  # the clients have theirs


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_server_stop_stops_the_command_server_too(env: dict[str, str]) -> None:
    server = record(env)
    stopped = followup("server", "stop", env=env)
    assert stopped.returncode == 0 and f"its command server (pid {server['commands_pid']})" in stopped.stdout
    give_up = time.monotonic() + 30
    while (
        process_alive(int(str(server["pid"]))) or process_alive(int(str(server["commands_pid"])))
    ) and time.monotonic() < give_up:
        time.sleep(0.1)
    assert not process_alive(int(str(server["commands_pid"]))) and not process_alive(int(str(server["pid"])))
    assert not (prefect_home(env) / command_client.SOCKET_NAME).exists()
    assert followup("server", "start", env=env).returncode == 0  # for the tests after this one


def test_the_command_server_imports_without_reading_settings_or_starting_threads(tmp_path: Path) -> None:
    script = (
        "import importlib, sys, threading\n"
        "from workflows import bootstrap, command_server, settings\n"
        "for module in command_server.WARM_MODULES:\n"
        "    importlib.import_module(module)\n"
        "print(settings.get_settings.cache_info().currsize, bootstrap.engine.cache_info().currsize,\n"
        "      threading.active_count(), 'workflows.cli' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOLLOWUP_", "PREFECT_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")  # as the local server starts it
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # No settings or engine cached (each command reads its own), one thread (fork copies only the
    # caller's), and the command modules left to each command (their consoles look at its terminal).
    assert done.stdout.split() == ["0", "0", "1", "False"]
