"""The `followup` console script: a few read-only commands answered without building the Typer app,
flow commands handed to the command server when one runs (see `workflows.command_client`).

Building the app with all its commands imports Typer, Rich, pydantic and every command module: more
than a read-only command costs itself. A command listed in `LEAN` is answered by its function,
given the arguments after its words; the function returns False for arguments it leaves to Typer
(`--help`, options), and raises a `DomainError` for bad input, said in one line with exit status 1,
as the Typer commands say it (`workflows.cli.base.user_errors`). Every other command goes to the
Typer app, which lists every command in `--help`; its commands call the same functions, so each
output is defined once.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

# The words naming a command -> "module:function" answering it (imported only when the words match).
LEAN = {
    ("cycle", "list"): "workflows.cli.cycle_views:lean_list",
    ("cycle", "show"): "workflows.cli.cycle_views:lean_show",
}


def lean_command(arguments: Sequence[str]) -> tuple[Callable[[list[str]], bool], list[str]] | None:
    """The function answering these arguments and the arguments it takes, if the command is lean."""
    for words, target in LEAN.items():
        if tuple(arguments[: len(words)]) == words:
            module, _, function = target.partition(":")
            return getattr(importlib.import_module(module), function), list(arguments[len(words) :])
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Answer `followup ARGS`: a lean command itself, a flow command in the command server when one
    answers (`workflows.command_client`), anything else through the Typer app in this process."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    found = lean_command(arguments)
    if found is not None:
        from domain.errors import DomainError

        answer, rest = found
        try:
            if answer(rest):
                return 0
        except DomainError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    from workflows.command_client import run_remote

    status = run_remote(arguments)
    if status is not None:
        return status
    from workflows.cli import app

    app(args=arguments, prog_name="followup")
    return 0  # Typer exits itself (standalone mode); not reached
