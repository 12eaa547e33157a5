"""What `followup cycle list` and `followup cycle show` print, defined once.

The Typer commands (`workflows.cli.cycles`) print these texts through their console (which the demo
captures), and the console script (`workflows.cli.entry`), answering the commands itself without
building the Typer app, writes them to stdout: read through one Core connection, plain-text
tables, no ORM, pydantic or Rich loaded.
"""

from __future__ import annotations

import sys
from datetime import date

from workflows import bootstrap
from workflows.cli.text_table import text_table

NO_CYCLE = "No cycle yet: `followup cycle launch NAME --deadline YYYY-MM-DD`."


def cycles_text() -> str:
    """Every cycle with its session, deadline, state and answers so far."""
    from workflows.queries.cycle_list import list_cycles

    with bootstrap.reading() as db:
        lines = list_cycles(db)
    if not lines:
        return f"{NO_CYCLE}\n"
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
    return text_table(header, rows, right=(4, 5))


def cycle_text(name: str, today: date) -> str:
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
    # Items, not requests: the figures below count *Overdue requests* (agencies) apart.
    header = ("agency", "request", "requested", "answered", "items overdue", "sent", "answered on")
    total = ("total", "", str(overview.requested), str(overview.answered), str(overview.overdue), "", "")
    text = text_table(header, rows, title=title, total=total, right=(2, 3, 4))
    if figures is None:
        return text
    summary = ((label, str(value)) for label, value in headline(figures))
    title = "Stock-take figures (as in the report)"
    return f"{text}\n{text_table(('figure', 'value'), summary, title=title, right=(1,))}"


def lean_list(arguments: list[str]) -> bool:
    """`followup cycle list` for the console script (False: arguments such as --help, left to Typer)."""
    if arguments:
        return False
    sys.stdout.write(cycles_text())
    return True


def lean_show(arguments: list[str]) -> bool:
    """`followup cycle show NAME` for the console script (False: options such as --today, left to Typer)."""
    if len(arguments) != 1 or arguments[0].startswith("-"):
        return False
    sys.stdout.write(cycle_text(arguments[0], bootstrap.clock().today()))
    return True
