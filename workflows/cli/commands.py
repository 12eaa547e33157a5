"""Every `followup` command, registered on the Typer app (Prefect is imported only by the commands that
run flows)."""

from __future__ import annotations

from workflows.cli import (  # noqa: F401  (register commands)
    agencies,
    api_tokens,
    catalogue,
    cycles,
    deploy,
    mail,
    publish,
    replies,
    reports,
    review,
    server,
)
from workflows.cli.base import app

__all__ = ["app"]
