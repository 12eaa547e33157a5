"""The `followup` command line.

Importing the package costs nothing: the console script (`workflows.cli.entry`) answers a few
read-only commands itself, and `app`, the Typer application with every command, is built on first
use (`from workflows.cli import app`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.cli.commands import app

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from workflows.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
