"""`followup report NAME`: write a cycle's stock-take report (reads only; no Prefect import)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from domain.errors import ValidationError
from reporting import FORMATS
from workflows import bootstrap
from workflows.cli.base import app, console, user_errors


def _parse_day(value: str | None) -> date | None:
    # Parsed here rather than by Typer so a bad date is a one-line error with exit 1, like every other.
    try:
        return date.fromisoformat(value) if value is not None else None
    except ValueError:
        raise ValidationError("--today", f"'{value}' is not a date (YYYY-MM-DD)") from None


@app.command("report")
def report(
    name: str = typer.Argument(..., help="The cycle's name (see `followup cycle list`)."),
    format: str = typer.Option("all", "--format", "-f", help=f"{'|'.join(FORMATS)}|all"),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Directory to write to (default: reports/ of $FOLLOWUP_STORAGE, else of $FOLLOWUP_HOME).",
    ),
    today: str | None = typer.Option(
        None,
        "--today",
        help="Report as of this day (YYYY-MM-DD); default today. A closed cycle: the day it closed.",
    ),
) -> None:
    """Write the stock-take report of cycle NAME (Word, HTML, Markdown, spreadsheet) and print the paths."""
    from workflows.services.stocktake import write_reports

    with user_errors():
        clock = bootstrap.clock(_parse_day(today))
        formats = FORMATS if format == "all" else (format,)
        paths = write_reports(
            bootstrap.uow(),
            name,
            formats=formats,
            out_dir=out or bootstrap.get_settings().reports_dir,
            clock=clock,
            language=bootstrap.get_settings().secretariat_language,
        )
    for path in paths.values():
        console.print(str(path), highlight=False, soft_wrap=True)
