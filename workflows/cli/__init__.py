"""The `followup` command line. Prefect is imported only by the commands that run flows."""

from __future__ import annotations

from workflows.cli import (  # noqa: F401  (register commands)
    catalogue,
    cycles,
    deploy,
    mail,
    replies,
    reports,
    review,
    server,
)
from workflows.cli.app import app

__all__ = ["app"]
