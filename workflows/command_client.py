"""The client side of the command server: a flow command handed to a process that has Prefect imported.

Importing Prefect takes most of a second, and a flow command's own work a fraction of that. The
command server (`workflows.command_server`, started beside the local Prefect server) has imported
Prefect and the flows once; `run_remote` sends it this process's command line, environment, working
directory and standard streams (the file descriptors themselves), a child forked from it runs the
very same Typer command against the local Prefect server, writing straight to this terminal, and
this process exits with its status. Ctrl-C here interrupts the child.

This module imports the standard library and `workflows.locations` only (the home as the settings
find it), so a flow command's process costs no more than a read-only one's. `run_remote` answers
None whenever the command should rather run in this process: not a flow command, PREFECT_API_URL
set, no command server listening, one run by another user, one that does not answer within
ANSWER_TIMEOUT_SECONDS (said on stderr), or one that imported other code than this process would (a
stale server: it exits, and the next flow command starts a new one)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import site
import socket
import struct
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from workflows import locations

# The command words that run a flow: `followup check`, `followup cycle launch|collect|close`.
FLOW_COMMANDS = {("check",), ("cycle", "launch"), ("cycle", "collect"), ("cycle", "close")}
SOCKET_NAME = "followup-commands.sock"  # in Prefect's home, beside the local server's record
ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "db", "notifications", "portal", "reporting", "workflows")
# Signals the client passes on to the command's process (Ctrl-C, kill, a closed terminal).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STREAMS = (0, 1, 2)  # stdin, stdout, stderr: handed over as they are (a terminal, a pipe, a file)
# The command's process says it is ready within milliseconds; a server that is stopped or hung must
# not hang the command (nor swallow the signals meant to stop it) beyond this.
ANSWER_TIMEOUT_SECONDS = 30.0


def is_flow_command(arguments: Sequence[str]) -> bool:
    """Whether `followup ARGUMENTS` runs a flow (the first one or two words name the command)."""
    return tuple(arguments[:1]) in FLOW_COMMANDS or tuple(arguments[:2]) in FLOW_COMMANDS


def socket_path(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path | None:
    """The command server's socket for this environment's Prefect home (None: the home is not known here).

    Prefect's home is $PREFECT_HOME, else $FOLLOWUP_HOME/prefect, else the per-user data directory's.
    A `.env` file in the working directory may set FOLLOWUP_HOME: then only the settings know the home,
    and the command runs in-process rather than in another home's server.
    """
    if environ.get("PREFECT_HOME"):
        home = Path(environ["PREFECT_HOME"])
    elif environ.get("FOLLOWUP_HOME"):
        home = Path(environ["FOLLOWUP_HOME"]) / "prefect"
    elif Path(locations.ENV_FILE).exists():
        return None
    else:
        home = locations.default_home() / "prefect"
    return home.resolve() / SOCKET_NAME


def code_version() -> str:
    """What identifies the code a process imports: Follow-up's sources (each one's path, change time and
    size), the Python environment, and its installed packages (site-packages changes at each install)."""
    sources = sorted((entry.path, entry.stat().st_mtime_ns, entry.stat().st_size) for entry in _sources())
    installed = [os.stat(path).st_mtime_ns for path in site.getsitepackages() if os.path.isdir(path)]
    digest = hashlib.sha256(repr(sources).encode()).hexdigest()
    return json.dumps([str(ROOT), sys.prefix, sys.version, digest, installed])


def _sources() -> Iterator[os.DirEntry[str]]:
    """The .py files of Follow-up's packages."""
    folders = [str(ROOT / package) for package in PACKAGES]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir() and entry.name != "__pycache__":
                    folders.append(entry.path)
                elif entry.name.endswith(".py"):
                    yield entry


def send_message(sock: socket.socket, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    """One JSON line, with file descriptors attached to its first bytes if any."""
    data = json.dumps(message).encode() + b"\n"
    sent = socket.send_fds(sock, [data], list(fds)) if fds else 0
    if sent < len(data):  # (a peer that has answered and closed refuses even an empty send)
        sock.sendall(data[sent:])


class MessageReader:
    """Reads JSON lines from a socket; the first may bring file descriptors."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.fds: list[int] = []

    def next(self, max_fds: int = 0) -> dict[str, Any] | None:
        """The next message (None at the end of the stream)."""
        while b"\n" not in self.buffer:
            if max_fds and not self.fds:
                data, self.fds, _flags, _address = socket.recv_fds(self.sock, 65536, max_fds)
            else:
                data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message


def run_remote(arguments: Sequence[str]) -> int | None:
    """Run `followup ARGUMENTS` in the command server: its exit status, or None to run it in this process."""
    if not is_flow_command(arguments) or os.environ.get("PREFECT_API_URL"):
        return None
    path = socket_path()
    if path is None:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock, SignalRelay(sock) as relay:
        reader = MessageReader(sock)
        answer: dict[str, Any] | None = _hand_over(sock, reader, path, arguments)
        if answer == {"go": True}:
            sock.settimeout(None)  # the command itself may take as long as it takes
            relay.start()
            answer = reader.next()
    if answer is None or "fallback" in answer:
        # Killed by a signal passed on (SIGTERM), or refused before running anything (then the command
        # runs here, as if never sent): the signals this process received now take effect here.
        for signum in relay.received:
            signal.raise_signal(signum)
    if answer is None:
        print("error: the flow command's process ended without an exit status", file=sys.stderr)
        return 1
    return None if "fallback" in answer else int(answer["exit"])


def _hand_over(
    sock: socket.socket, reader: MessageReader, path: Path, arguments: Sequence[str]
) -> dict[str, Any]:
    """Send the command; {"go": True} once its process runs it, else the reason to run it here.

    The process runs the command only after this "go": a client that gave up waiting (and runs the
    command itself) or went away leaves it never run, so a command never runs twice.
    """
    sock.settimeout(ANSWER_TIMEOUT_SECONDS)
    try:
        here = os.getcwd()
        _connect(sock, path, here)
        if _server_uid(sock, path) != os.getuid():
            print(
                f"warning: {path} is served by another user: running the command here "
                "(remove that file if it should not be there)",
                file=sys.stderr,
            )
            return {"fallback": "another user"}
        send_message(sock, _request(arguments, here), STREAMS)
        answer = reader.next()
        if answer is None or "ready" not in answer:
            return answer or {"fallback": "closed"}  # declined, or ended before running anything
        send_message(sock, {"go": True})
    except TimeoutError:
        print(
            f"warning: the command server did not answer within {ANSWER_TIMEOUT_SECONDS:.0f} s "
            f"(its log: {path.parent / 'commands.log'}): running the command here; "
            "`followup server stop` stops it, the next flow command starts a new one",
            file=sys.stderr,
        )
        return {"fallback": "timeout"}
    except OSError:  # no server listening (none started, or it stopped), a stream closed here
        return {"fallback": "unreachable"}
    return {"go": True}


def peer_uid(sock: socket.socket) -> int | None:
    """The user running the process at the other end of a Unix socket (None where the system cannot say)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    credentials = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


def _server_uid(sock: socket.socket, path: Path) -> int:
    """Who listens: the command is handed over, environment and secrets included, to this user only."""
    uid = peer_uid(sock)
    return path.stat().st_uid if uid is None else uid


def _connect(sock: socket.socket, path: Path, here: str) -> None:
    """Connect by the socket's name in its folder: a socket's path may not exceed ~100 bytes, a home may."""
    os.chdir(path.parent)
    try:
        sock.connect(path.name)
    finally:
        os.chdir(here)


def _request(arguments: Sequence[str], cwd: str) -> dict[str, Any]:
    umask = os.umask(0o077)
    os.umask(umask)
    return {
        "version": code_version(),
        "argv": [sys.argv[0], *arguments],
        "cwd": cwd,
        "env": dict(os.environ),
        "umask": umask,
        # A stream Python could not open (its descriptor closed) is None; the child then takes the default.
        "encoding": [
            (getattr(stream, "encoding", None), getattr(stream, "errors", None))
            for stream in (sys.stdin, sys.stdout, sys.stderr)
        ],
    }


class SignalRelay:
    """While in use, the signals this process receives go to the command's process instead.

    Those received before the request is whole are held (a message must not land inside another)
    and sent once it is (`start`). A signal this process ignores (`nohup`, a script's background
    job) stays ignored.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received: list[int] = []
        self.started = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> SignalRelay:
        for signum in FORWARDED:
            handler = signal.getsignal(signum)
            if handler != signal.SIG_IGN:
                self.previous[signum] = signal.signal(signum, self._receive)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def start(self) -> None:
        """The request is sent: pass on what was held, and from now on each signal as it comes."""
        self.started = True
        for signum in self.received:
            self._send(signum)

    def _receive(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if self.started:
            self._send(signum)

    def _send(self, signum: int) -> None:
        with contextlib.suppress(OSError):  # the command has ended meanwhile
            send_message(self.sock, {"signal": signum})
