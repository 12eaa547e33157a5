"""How the demo runs `followup` commands in its own process and prints each with a one-line result.

A table shows as its title and row count; `--verbose` (Transcript.verbose) prints every command's
whole output.
"""

from __future__ import annotations

import os

from rich.console import ConsoleRenderable, RenderHook
from rich.table import Table
from rich.text import Text

from workflows.cli.base import console


class Transcript:
    """How much the demo prints: each command with a one-line result, or (verbose) all its output."""

    verbose = False


class TablesAsCounts(RenderHook):
    """Print a table as one line, its title (or columns) and its row count, instead of its rows."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        """Replace each table among what is about to be printed by its one-line summary."""
        return [_counted(r) if isinstance(r, Table) else r for r in renderables]


def _counted(table: Table) -> Text:
    if table.row_count == 1:  # a result of one row reads better as its values than as "1 row"
        cells = ", ".join(
            f"{column.header} {_plain(next(iter(column.cells)))}".strip() for column in table.columns
        )
        return Text(f"{table.title}: {cells}" if table.title else cells)
    rows = f"{table.row_count} rows"
    if table.title:
        return Text(f"{table.title}: {rows}")
    columns = ", ".join(str(column.header) for column in table.columns if column.header)
    return Text(f"table of {rows} ({columns})")


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


class DemoFailed(RuntimeError):
    """A demo step's command exited non-zero."""


def followup(*args: str) -> None:
    """Run one `followup` command in this process, echoing it and its result; raise if it fails."""
    from workflows.cli import app

    command = f"$ followup {' '.join(_quoted(a) for a in args)}"
    if Transcript.verbose:
        console.print(f"\n{command}", style="bold cyan", highlight=False, soft_wrap=True)
        code = app(list(args), standalone_mode=False)
    else:
        console.print(command, style="bold cyan", highlight=False, soft_wrap=True)
        with console.capture() as captured:
            code = app(list(args), standalone_mode=False)
        console.print(Text("  " + result_line(captured.get())), soft_wrap=True)
    if code not in (None, 0):
        raise DemoFailed(f"`followup {' '.join(args)}` exited with status {code}")


def followup_for_each(agencies: list[str], *args: str) -> None:
    """Run one command per agency (`--agency` added); quiet, it is said once and its results in one line."""
    from workflows.cli import app

    if Transcript.verbose:
        for agency in agencies:
            followup(*args, "--agency", agency)
        return
    command = f"$ followup {' '.join(_quoted(a) for a in args)} --agency AGENCY, for {', '.join(agencies)}"
    console.print(command, style="bold cyan", highlight=False, soft_wrap=True)
    results = []
    for agency in agencies:
        with console.capture() as captured:
            code = app([*args, "--agency", agency], standalone_mode=False)
        if code not in (None, 0):
            raise DemoFailed(f"`followup {' '.join(args)} --agency {agency}` exited with status {code}")
        results.append(_shortened(captured.get().strip().split(":")[0]))
    console.print(Text("  " + "; ".join(results)), soft_wrap=True)


RESULT_LINES, RESULT_LINE_CHARACTERS = 3, 140


def result_line(output: str) -> str:
    """A command's output as one line: its first lines, each shortened; --verbose prints them all.

    A plain-text table (`followup cycle show`) gives its title, header and rows, spaces squeezed and
    the rules under its header left out.
    """
    lines = [" ".join(line.split()).rstrip(".") for line in output.splitlines() if line.strip(" -")]
    shown = [_shortened(line) for line in lines[:RESULT_LINES]]
    if len(lines) > RESULT_LINES:
        shown.append(f"... {len(lines) - RESULT_LINES} more lines")
    return "; ".join(shown)


def _shortened(line: str) -> str:
    return line if len(line) <= RESULT_LINE_CHARACTERS else line[: RESULT_LINE_CHARACTERS - 1] + "…"


def _quoted(arg: str) -> str:
    return f'"{arg}"' if " " in arg else arg


def quiet_output() -> None:
    """Show tables as counts and Prefect's log from warnings up (set before Prefect is imported)."""
    console.push_render_hook(TablesAsCounts())
    console.soft_wrap = True  # a one-line result stays one line in a narrow terminal's scrollback
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
