"""What `followup cycle list` and `followup cycle show` print, defined once.

The Typer commands (`workflows.cli.cycles`) call these functions, and so does the console script
(`workflows.cli.entry`) when it answers the commands itself, without building the Typer app: they
read through one Core connection and print plain-text tables, loading no ORM, pydantic or Rich.
"""

from __future__ import annotations

from datetime import date

from workflows import bootstrap
from workflows.cli.text_table import text_table

NO_CYCLE = "No cycle yet: `followup cycle launch NAME --deadline YYYY-MM-DD`."


def print_cycles() -> None:
    """Every cycle with its session, deadline, state and answers so far."""
    from workflows.queries.cycle_list import list_cycles

    with bootstrap.reading() as db:
        lines = list_cycles(db)
    if not lines:
        print(NO_CYCLE)
        return
    rows = (
        (
            line.name,
            line.hlcp_session or "",
            line.deadline.isoformat(),
            line.state,
            f"{line.agencies_answered}/{line.agencies}",
            f"{line.answered}/{line.requested}",
        )
        for line in lines
    )
    header = ("cycle", "session", "deadline", "state", "agencies answered", "items answered")
    print(text_table(header, rows, right=(4, 5)), end="")


def print_cycle(name: str, today: date) -> None:
    """Per agency: items requested, answered, overdue, its request; then the report's figures on `today`."""
    from domain.figures import headline
    from domain.lifecycle import CycleState
    from workflows.queries.figures import figures_of
    from workflows.queries.progress import cycle_overview

    with bootstrap.reading() as db:
        overview = cycle_overview(db, name, today)
        # The headline figures from grouped queries: the report's own figures, without its assembly.
        figures = figures_of(db, name, today=today) if overview.state != CycleState.DRAFT else None
    title = (
        f"{overview.name} ({overview.hlcp_session or 'no session'}), deadline "
        f"{overview.deadline.isoformat()}, {overview.state}"
    )
    rows = (
        (
            line.code,
            line.state,
            str(line.requested),
            str(line.answered),
            str(line.overdue),
            line.sent_at.date().isoformat() if line.sent_at else "",
            line.answered_at.date().isoformat() if line.answered_at else "",
        )
        for line in overview.agencies
    )
    header = ("agency", "request", "requested", "answered", "overdue", "sent", "answered on")
    total = ("total", "", str(overview.requested), str(overview.answered), str(overview.overdue), "", "")
    print(text_table(header, rows, title=title, total=total, right=(2, 3, 4)), end="")
    if figures is not None:
        summary = ((label, str(value)) for label, value in headline(figures))
        title = "Stock-take figures (as in the report)"
        print(f"\n{text_table(('figure', 'value'), summary, title=title, right=(1,))}", end="")


def lean_list(arguments: list[str]) -> bool:
    """`followup cycle list` for the console script (False: arguments such as --help, left to Typer)."""
    if arguments:
        return False
    print_cycles()
    return True


def lean_show(arguments: list[str]) -> bool:
    """`followup cycle show NAME` for the console script (False: options such as --today, left to Typer)."""
    if len(arguments) != 1 or arguments[0].startswith("-"):
        return False
    print_cycle(arguments[0], bootstrap.clock().today())
    return True
