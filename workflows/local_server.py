"""Follow-up's local Prefect server: started in the background by the first flow command, then reused.

With no PREFECT_API_URL configured, Prefect would start a temporary server inside every flow command
(10-45 s on the 2-core target machines, most of each command). Instead the first flow command starts
`prefect server start` on a free loopback port as a detached process, records where it is in
`$PREFECT_HOME/followup-server.json`, and every later command checks that record and the server's
health (milliseconds) and uses it. A server that died or stopped answering is replaced.

Prefect's own `prefect server start --background` is not used: it pipes the server's output to the
command that exits right away (so the server has no log and later writes fail), and its PID file
does not say which port the server listens on.

Beside it runs the command server (`workflows.command_server`): a process that has imported Prefect
and the flows, from which later flow commands' processes are forked (`workflows.command_client`), so
they do not import Prefect themselves. The record names both; each is restarted when found dead.

Prefect is imported only inside `prefect_api`, when a flow is about to run: `followup server status`
and `stop` stay fast.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from workflows.prefect_env import prefect_home

STARTUP_TIMEOUT_SECONDS = 180.0  # a fresh PREFECT_HOME migrates its database first: ~20 s idle, ~60 s loaded
HEALTH_TIMEOUT_SECONDS = 5.0  # a busy server still answers its health check well within this
STOP_TIMEOUT_SECONDS = 10.0
PROGRESS_EVERY_SECONDS = 5.0  # how often a start still waiting says so: no silence of more than a few seconds
COMMAND_SERVER = b"workflows.command_server"  # its module, and what its command line shows


class LocalServerError(RuntimeError):
    """The local Prefect server could not be started (the message says why and where its log is)."""


@dataclass(frozen=True)
class LocalServer:
    """Where the local Prefect server listens and which process it is."""

    api_url: str
    pid: int
    log: str
    started_at: str
    commands_pid: int | None = None  # the command server's (records written before it existed lack it)

    @property
    def ui_url(self) -> str:
        """The Prefect UI's address (the API's without `/api`)."""
        return self.api_url.removesuffix("/api")


def record_path() -> Path:
    """The file recording the running local server (in Prefect's home)."""
    return prefect_home() / "followup-server.json"


def log_path() -> Path:
    """The local server's log, rewritten at each start."""
    return prefect_home() / "server.log"


def commands_log_path() -> Path:
    """The command server's log: each start, each command it ran, why it stopped (appended to)."""
    return prefect_home() / "commands.log"


def recorded() -> LocalServer | None:
    """The server the record names, whether or not it still runs (None without a readable record)."""
    try:
        return LocalServer(**json.loads(record_path().read_text()))
    except (OSError, ValueError, TypeError):
        return None


def is_running(server: LocalServer) -> bool:
    """Whether the recorded process is alive and its API answers its health check."""
    return _process_alive(server.pid) and _healthy(server.api_url)


def commands_running(server: LocalServer) -> bool:
    """Whether the recorded command server is alive (it may still be importing, not yet listening)."""
    return server.commands_pid is not None and _process_alive(server.commands_pid, COMMAND_SERVER)


def ensure_running(say: Callable[[str], None]) -> LocalServer:
    """The running local server, started first (under a lock, so only once) if there is none.

    A command server that is gone (stopped as stale, killed) is started again, in the background.
    """
    server = recorded()
    if server is not None and is_running(server) and commands_running(server):
        return server
    with _start_lock(say):
        server = recorded()  # another command may have started it while this one waited
        if server is not None and is_running(server):
            if not commands_running(server):
                server = replace(server, commands_pid=_start_commands())
                _write_record(server)
            return server
        if server is not None:
            say(f"The local Prefect server (pid {server.pid}) is not answering: starting a new one.")
            _terminate(server.pid)
        return _start(say, server)


def stop(say: Callable[[str], None]) -> LocalServer | None:
    """Stop the local server and forget it; the server that was recorded (None if there was none).

    Flow commands still running in the command server's children stop with it.
    """
    with _start_lock(say):
        server = recorded()
        if server is None:
            return None
        _terminate(server.pid)
        if server.commands_pid is not None:
            _terminate(server.commands_pid, COMMAND_SERVER)
        record_path().unlink(missing_ok=True)
        return server


def _start(say: Callable[[str], None], previous: LocalServer | None) -> LocalServer:
    """Start the Prefect server; the command server too, unless the previous one still runs."""
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = log_path()
    say(f"Starting a local Prefect server for this and later flow commands (log: {log})...")
    began = time.monotonic()
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [_prefect_executable(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: it outlives this command and the terminal's Ctrl-C
        )
    kept = previous is not None and commands_running(previous)
    # Started now, it imports while the Prefect server starts.
    commands = previous.commands_pid if previous is not None and kept else _start_commands()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    server = LocalServer(api_url, process.pid, str(log), started_at, commands)
    try:
        _wait_until_healthy(server, process, say)
    except BaseException:  # Ctrl-C included: never leave behind a server no record names
        _terminate(server.pid)
        if not kept and commands is not None:
            _terminate(commands, COMMAND_SERVER)
        raise
    _write_record(server)
    say(
        f"Local Prefect server ready after {time.monotonic() - began:.0f} s: {server.ui_url} "
        "(`followup server stop` stops it)."
    )
    return server


def _wait_until_healthy(
    server: LocalServer, process: subprocess.Popen[bytes], say: Callable[[str], None]
) -> None:
    began = time.monotonic()
    next_word = began + PROGRESS_EVERY_SECONDS
    while (waited := time.monotonic() - began) < STARTUP_TIMEOUT_SECONDS:
        if process.poll() is not None:
            raise LocalServerError(
                f"the local Prefect server exited with status {process.returncode} while starting; "
                f"see {server.log}"
            )
        if _healthy(server.api_url):
            return
        if time.monotonic() >= next_word:  # no silent wait: a loaded machine may take a minute
            say(f"... still starting ({waited:.0f} s; the first start prepares Prefect's database)")
            next_word += PROGRESS_EVERY_SECONDS
        time.sleep(0.25)
    raise LocalServerError(
        f"the local Prefect server did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s; see {server.log}"
    )


def _start_commands() -> int:
    """Start the command server in the background (it imports for a second or two, then listens)."""
    # Without Follow-up's settings: each command's process takes its client's environment, and the
    # first command's secrets (database and mail passwords, the key) have no business in a process
    # that outlives it.
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "PREFECT_API_URL" and not name.upper().startswith("FOLLOWUP_")
    }
    with commands_log_path().open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", COMMAND_SERVER.decode()],
            env=env,
            cwd=prefect_home(),  # not this command's folder: `-m` would import from there first
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process.pid


def _write_record(server: LocalServer) -> None:
    # Write then rename: a command reading the record never sees half of it.
    partial = record_path().with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(server), indent=2))
    partial.replace(record_path())


@contextmanager
def _start_lock(say: Callable[[str], None]) -> Iterator[None]:
    """Hold `$PREFECT_HOME/followup-server.lock`: commands started together start one server."""
    import fcntl  # POSIX only, like the rest of the process handling here

    lock = prefect_home() / "followup-server.lock"
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("Waiting for the local Prefect server another command is starting...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=HEALTH_TIMEOUT_SECONDS) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _process_alive(pid: int, marker: bytes = b"prefect") -> bool:
    """Whether `pid` is a live process whose command line has `marker` (not a zombie, not a recycled pid)."""
    try:
        # When this very process started the server (the demo, tests), a dead server is a zombie
        # child until reaped: reap it, or it would look alive.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: its parent (or init) reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process now holds that pid
    cmdline = Path(f"/proc/{pid}/cmdline")
    # On Linux, make sure it is still our server: after a reboot the pid may belong to anything,
    # and a zombie (dead, its parent not yet told) has an empty command line.
    return not cmdline.exists() or marker in cmdline.read_bytes()


def _terminate(pid: int, marker: bytes = b"prefect") -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL if it is still there after a while."""
    if not _process_alive(pid, marker):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)  # started with a session of its own: its group id is its pid
        except ProcessLookupError:
            return
        give_up = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < give_up:
            if not _process_alive(pid, marker):
                return
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prefect_executable() -> str:
    # The `prefect` script installed beside this interpreter, so the server runs the same Prefect.
    beside = Path(sys.executable).parent / "prefect"
    return str(beside) if beside.exists() else "prefect"


@contextmanager
def prefect_api(say: Callable[[str], None]) -> Iterator[str]:
    """Point flows at the Prefect API the operator configured, else at Follow-up's local server.

    Prefect's settings decide whether an API is configured (PREFECT_API_URL in the environment, a
    profile or prefect.toml; the test harness's server). Without one, the local server is started
    once in the background (this module) instead of a temporary server per command.
    """
    from prefect.settings import get_current_settings, temporary_settings

    configured = get_current_settings().api.url
    if configured:
        yield configured
        return
    server = ensure_running(say)
    with temporary_settings(updates={"api.url": server.api_url}):
        yield server.api_url
