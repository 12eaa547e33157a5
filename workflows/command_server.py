"""The command server: flow commands run in processes forked from one that has Prefect imported.

`workflows.local_server` starts it beside the local Prefect server (`python -m workflows.command_server`,
in Prefect's home, log `commands.log`); `followup server stop` stops both. It imports Prefect, the flows
and what a flow run loads on first use, and nothing that reads a setting, opens a connection or starts
a thread. It then listens on `followup-commands.sock` in Prefect's home (owner-only). For each flow
command (`workflows.command_client`) from a process of the same user it forks a child that takes the
client's standard streams, working directory, environment and umask, says it is ready, and once the
client says "go" (a client that gave up waiting runs the command itself) runs the same Typer command
as the client would have, flows and all, against the local Prefect server; its output goes straight
to the client's terminal.

What a child would otherwise inherit from the server is checked or redone: Follow-up's settings are
read in the child only (no cache is filled here); Prefect's settings, read at its import, must equal
what the client's environment and directory give, else the child declines and the client runs the
command itself; Prefect's console logging is set up again for the client's terminal. A client whose
code differs (`command_client.code_version`) makes the server decline and exit: stale code never runs.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import importlib
import io
import logging.config
import os
import shlex
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from workflows import command_client as client

# What a flow command loads on first use, beyond the flows' own imports (measured: `followup check`,
# `cycle launch`); each imports in the server once instead of in every command.
WARM_MODULES = (
    "workflows.flows",
    "workflows.local_server",
    "workflows.services.stocktake",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.concurrency.context",
    "prefect.concurrency.v1.context",
    "prefect.utilities.visualization",
    "fastapi.encoders",  # Prefect serializes flow parameters with it
    "email_validator",
    "anyio._backends._asyncio",
    "encodings.idna",
    "sqlite3",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "psycopg2",
    "sqlalchemy.dialects.postgresql.psycopg2",
    "typer",
    "rich.table",
    "rich._emoji_codes",
)
REQUEST_TIMEOUT_SECONDS = 5.0  # a client sends its request at once; a silent one must not block others


def main() -> None:
    """Import, listen, and fork a child per flow command until stopped or found stale."""
    version = client.code_version()  # before importing: a change made during the import makes it stale
    for module in WARM_MODULES:
        importlib.import_module(module)
    os.chdir(os.environ["PREFECT_HOME"])  # the socket's name is relative: a long home still fits
    listener = _listen()
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished children are reaped by the kernel
    print(f"Command server {os.getpid()} listening on {Path.cwd() / client.SOCKET_NAME}", flush=True)
    try:
        while _serve(listener, version):
            pass
    finally:
        _forget(listener)


def _listen() -> socket.socket:
    Path(client.SOCKET_NAME).unlink(missing_ok=True)  # left by a server that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o177)  # created owner-only: another user cannot run commands as this one
    try:
        listener.bind(client.SOCKET_NAME)
    finally:
        os.umask(umask)
    listener.listen(16)
    return listener


def _forget(listener: socket.socket) -> None:
    """Close and remove the socket, unless a newer server has made its own at the same name."""
    mine = _inode(listener)
    listener.close()
    with contextlib.suppress(FileNotFoundError):
        if os.stat(client.SOCKET_NAME).st_ino == mine:
            os.unlink(client.SOCKET_NAME)


def _inode(listener: socket.socket) -> int | None:
    try:
        return os.stat(listener.getsockname()).st_ino
    except OSError:
        return None


def _exit_on_signal(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def _serve(listener: socket.socket, version: str) -> bool:
    """Answer one client (fork its command's process); False when this server is stale and must exit."""
    conn, _address = listener.accept()
    with conn:
        if (uid := client.peer_uid(conn)) not in (None, os.getuid()):
            # The socket is owner-only, but not every system enforces a socket file's mode.
            print(f"Refused a connection from another user (uid {uid}).", flush=True)
            return True
        conn.settimeout(REQUEST_TIMEOUT_SECONDS)
        reader = client.MessageReader(conn)
        try:
            request = reader.next(max_fds=len(client.STREAMS))
        except (OSError, ValueError):
            request = None
        fds = reader.fds
        try:
            if request is None or len(fds) != len(client.STREAMS):
                return True  # a client that gave up, or not one of ours
            if request.get("version") != version:
                print("A client runs other code than this server imported: exiting.", flush=True)
                _forget(listener)  # before answering: the client's fallback may start a new server
                _answer(conn, {"fallback": "stale"})
                return False
            sys.stdout.flush()
            sys.stderr.flush()
            child = os.fork()
            if child == 0:
                listener.close()
                _run_child(conn, reader, request, fds)
            print(f"{child}: followup {shlex.join(request['argv'][1:])}", flush=True)
        finally:
            for fd in fds:
                os.close(fd)
    return True


def _answer(conn: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the client has gone: nobody to tell
        client.send_message(conn, message)


def _run_child(
    conn: socket.socket, reader: client.MessageReader, request: dict[str, Any], fds: list[int]
) -> NoReturn:
    """The command's process: run it as the client would have, tell the client its status, exit."""
    status = 1
    try:
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)  # what a fresh process has (it may wait for children)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        conn.settimeout(None)
        _take_over(request, fds)
        declined = _prefect_settings_differ()
        if declined:
            _answer(conn, {"fallback": declined})
            os._exit(0)
        client.send_message(conn, {"ready": os.getpid()})
        if reader.next() != {"go": True}:
            os._exit(0)  # the client gave up waiting (it runs the command itself) or went away
        _log_to_this_terminal()
        threading.Thread(target=_relay_signals, args=(reader,), daemon=True).start()
        status = _run_command(request["argv"])
        # What the interpreter does at exit: Prefect's services drain their queues (logs, events).
        getattr(threading, "_shutdown")()  # noqa: B009  (private, as multiprocessing calls it)
        atexit._run_exitfuncs()
    except BaseException:  # anything at all: the client must still hear a status
        traceback.print_exc()
    finally:
        for signum in client.FORWARDED:
            signal.signal(signum, signal.SIG_IGN)  # the client's departure must not cut the last words
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError):
                stream.flush()
        _answer(conn, {"exit": status})
        os._exit(status)


def _take_over(request: dict[str, Any], fds: list[int]) -> None:
    """Become the client's process: its streams, directory, environment, umask, stream encodings."""
    for target, fd in zip(client.STREAMS, fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()  # TZ, read by the time functions at start
    os.umask(request["umask"])
    # Python's streams anew: the server's were made for its log (a seekable file, block-buffered).
    # Buffered as a fresh process buffers them: stdout line by line on a terminal, stderr always.
    stdin, stdout, stderr = request["encoding"]
    sys.stdin = _stream(0, "rb", stdin)
    sys.stdout = _stream(1, "wb", stdout, line_buffering=os.isatty(1))
    sys.stderr = _stream(2, "wb", stderr, line_buffering=True)


def _stream(fd: int, mode: str, encoding: list[str], *, line_buffering: bool = False) -> io.TextIOWrapper:
    """A text stream on `fd`, which stays open when the stream is dropped (as with Python's own)."""
    binary = open(fd, mode, closefd=False)  # noqa: SIM115  (the stream owns it)
    return io.TextIOWrapper(binary, encoding=encoding[0], errors=encoding[1], line_buffering=line_buffering)


def _prefect_settings_differ() -> str | None:
    """Why this server's Prefect cannot run the client's command (None: it can).

    Prefect read its settings when imported here (flows took their defaults from them); the client's
    environment and directory (`.env`, `prefect.toml`, a profile) must give the very same settings.
    """
    from prefect.settings import Settings, get_current_settings

    from workflows import prefect_env

    prefect_env.apply_defaults()  # as importing it does in a fresh process
    if Settings() != get_current_settings():
        return "Prefect settings differ from the command server's"
    return None


def _log_to_this_terminal() -> None:
    """Prefect's console logging made anew: its Rich consoles look at the client's terminal, not the log."""
    from prefect.logging.configuration import PROCESS_LOGGING_CONFIG

    # The same settings (checked above) give the same configuration, which is all of Prefect's setup.
    logging.config.dictConfig({**copy.deepcopy(PROCESS_LOGGING_CONFIG), "incremental": False})


def _relay_signals(reader: client.MessageReader) -> None:
    """Raise in this process the signals the client receives; the client gone is a SIGTERM."""
    while True:
        try:
            message = reader.next()
        except (OSError, ValueError):
            message = None
        os.kill(os.getpid(), int(message["signal"]) if message else signal.SIGTERM)
        if message is None:
            return


def _run_command(argv: list[str]) -> int:
    """Run the Typer command; its exit status as the interpreter would make it."""
    from workflows.cli import app

    sys.argv = list(argv)
    try:
        app(args=argv[1:], prog_name=Path(argv[0]).name)
    except SystemExit as exit_:
        code = exit_.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    main()
