"""`followup server start/status/stop`: the local Prefect server flow commands start when none is set.

None of these import Prefect: they read the record in Prefect's home and ask the server's health.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from workflows.cli.base import console, err_console, sub_app

if TYPE_CHECKING:  # imported where used: importing it sets Prefect's defaults and makes its home
    from workflows.local_server import LocalServer

server_app = sub_app(
    "server",
    "The local Prefect server flow commands use when PREFECT_API_URL is not set (started on first use).",
)


@server_app.command("start")
def start() -> None:
    """Start the local Prefect server now, rather than with the first flow command."""
    from workflows import local_server

    with server_errors():
        server = local_server.ensure_running(say)
    _describe(server, "running")
    _warn_if_api_configured()


@server_app.command("status")
def status() -> None:
    """Whether the local Prefect server runs, where, and its log (exit status 1 when it does not run)."""
    from workflows import local_server

    server = local_server.recorded()
    running = server is not None and local_server.is_running(server)
    if server is None:
        console.print("No local Prefect server: the next flow command starts one.")
    else:
        _describe(server, "running" if running else "not answering (the next flow command starts a new one)")
    _warn_if_api_configured()
    if not running:
        raise typer.Exit(1)


@server_app.command("stop")
def stop() -> None:
    """Stop the local Prefect server (its runs stay in Prefect's home; the next flow command restarts it)."""
    from workflows import local_server

    server = local_server.stop(say)
    if server is None:
        console.print("No local Prefect server to stop.")
    else:
        also = f" and its command server (pid {server.commands_pid})" if server.commands_pid else ""
        console.print(f"Stopped the local Prefect server (pid {server.pid}, {server.ui_url}){also}.")


def say(message: str) -> None:
    """Tell the user what the local server is doing while they wait (on stderr)."""
    err_console.print(message, style="yellow", markup=False, highlight=False, soft_wrap=True)


@contextmanager
def server_errors() -> Iterator[None]:
    """Turn a local server that failed to start into a red one-line message and exit status 1."""
    from workflows.local_server import LocalServerError

    try:
        yield
    except LocalServerError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _describe(server: LocalServer, state: str) -> None:
    from workflows.local_server import commands_log_path, commands_running

    console.print(f"Local Prefect server: {state}", highlight=False)
    console.print(f"  API:     {server.api_url}", highlight=False)
    console.print(f"  UI:      {server.ui_url}", highlight=False)
    console.print(f"  pid:     {server.pid}, started {server.started_at}", highlight=False)
    console.print(f"  log:     {server.log}", highlight=False)
    commands = (
        f"pid {server.commands_pid}, log {commands_log_path()} (flow commands run in processes it forks)"
        if commands_running(server)
        else "not running (the next flow command starts it)"
    )
    console.print(f"  command server: {commands}", highlight=False, soft_wrap=True)


def _warn_if_api_configured() -> None:
    if api_url := os.environ.get("PREFECT_API_URL"):
        err_console.print(
            f"PREFECT_API_URL is set ({api_url}): flow commands use that server, not the local one.",
            style="yellow",
            markup=False,
        )
