"""The Typer application, shared console and error handling for every `followup` command."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from domain.errors import DomainError

app = typer.Typer(
    name="followup",
    help="Follow-up: import a report's recommendations, run stock-take cycles, produce the stock-take.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped output is read in files and logs, where a table cut at Rich's default 80 columns loses rows' ends.
PIPED_WIDTH = 200


def new_console(*, stderr: bool = False) -> Console:
    """A console as wide as the terminal, or PIPED_WIDTH columns when piped (unless COLUMNS is set)."""
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, width=PIPED_WIDTH if piped else None)


console = new_console()
err_console = new_console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn domain errors into a red one-line message and exit status 1 (no traceback).

    A statement that found no table says the database is not initialised, rather than SQL's words.
    """
    try:
        yield
    except DomainError as exc:
        _fail(exc)
    except Exception as exc:
        from db.engine import DatabaseNotInitialised, missing_table

        table = missing_table(exc)
        if table is None:
            raise
        from workflows import bootstrap

        _fail(DatabaseNotInitialised(bootstrap.database_url(), table))


def _fail(error: DomainError) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1) from None


def sub_app(name: str, help_text: str) -> typer.Typer:
    """Create and register a command group (`followup NAME ...`)."""
    group = typer.Typer(help=help_text, no_args_is_help=True, pretty_exceptions_enable=False)
    app.add_typer(group, name=name)
    return group


# Command groups shared by several modules (each module adds its own commands to them).
cycle_app = sub_app("cycle", "Stock-take cycles: launch, watch, collect, close, re-issue links.")
owners_app = sub_app("owners", "Who owns which recommendation, and their milestones.")
reply_app = sub_app("reply", "Spreadsheet replies: write an agency's template, import filled files.")
review_app = sub_app("review", "Secretariat review of replies: accept, return with a question, assess.")


DATE_FORMATS = ["%Y-%m-%d"]
TODAY_OPTION = typer.Option(
    None, "--today", formats=DATE_FORMATS, help="Replay the run as if on this day (YYYY-MM-DD)."
)


def day_of(value: datetime | None) -> date | None:
    """The day of a parsed `--today` option (None when not given)."""
    return value.date() if value else None


def mail_news(sent: int) -> str:
    """What became of messages sent at once: handed to the mail server, or queued for a later run."""
    if sent:
        return "sent by e-mail"
    return (
        "queued for e-mail (the mail server did not take it now; "
        "`followup mail send` or the next flow run sends it)"
    )
