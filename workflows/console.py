"""The `followup` console script: a flow command runs in the command server when one answers, else here.

Kept apart from the Typer app, whose import (Typer, Rich, every command module) a command handed to
the command server never pays.
"""

from __future__ import annotations

import sys

from workflows.command_client import run_remote


def main() -> None:
    """Run `followup` with this process's arguments."""
    status = run_remote(sys.argv[1:])
    if status is not None:
        raise SystemExit(status)
    from workflows.cli import app

    app()
