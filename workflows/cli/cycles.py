"""Stock-take cycle commands: `cycle launch/set/extend/cancel/collect/close/list/show`, `check`, `serve`.

Each command imports what it uses in its body: commands that run flows import Prefect there. `list`
and `show` print what `workflows.cli.cycle_views` defines, which the console script also answers
without building this app (`workflows.cli.entry`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import typer
from rich.markup import escape

from workflows import bootstrap
from workflows.cli import cycle_views
from workflows.cli.base import (
    DATE_FORMATS,
    TODAY_OPTION,
    app,
    console,
    cycle_app,
    day_of,
    err_console,
    user_errors,
)
from workflows.cli.deploy import DEADLINE_DAYS_OPTION, FOLLOWUP_CRON_OPTION, LAUNCH_CRON_OPTION
from workflows.cli.server import say, server_errors

SHOWN_ROWS = 50  # overdue rows printed by `check`


def _run_flow(pick: Callable[[Any], Callable[..., Any]], **parameters: Any) -> dict[str, Any]:
    """Run a flow in this process, against PREFECT_API_URL if set, else Follow-up's local server.

    A run that left mail undelivered still returns what it did; the command then exits non-zero
    (see `exit_if_undelivered`).
    """
    with user_errors():
        bootstrap.existing_database()  # said before a Prefect server is started for nothing
        if parameters.get("cycle_name"):  # a mistyped name: one line now, not a failed run in Prefect
            with bootstrap.uow() as uow:
                uow.cycles.require(parameters["cycle_name"])
    from workflows import flows
    from workflows.local_server import prefect_api
    from workflows.prefect_env import without_heartbeats

    with user_errors(), server_errors(), prefect_api(say), without_heartbeats(), flows.in_foreground():
        state = pick(flows)(**parameters, return_state=True)
        if state.name != flows.UNDELIVERED_STATE:
            return dict(state.result())
        result: dict[str, Any] = state.result(raise_on_failure=False)
        err_console.print(f"[bold red]mail:[/] {escape(state.message)}", highlight=False, soft_wrap=True)
        return result


def exit_if_undelivered(result: dict[str, Any]) -> None:
    """Exit 1 when the run left mail undelivered (after the command printed what it did)."""
    if result.get("undelivered"):
        raise typer.Exit(1)


@cycle_app.command("launch")
def launch(
    name: str = typer.Argument(..., help="The cycle's name, e.g. 'Spring 2027'."),
    deadline: datetime = typer.Option(..., formats=DATE_FORMATS, help="Reply deadline (YYYY-MM-DD)."),
    session: str | None = typer.Option(
        None, "--session", help="The HLCP session it prepares, e.g. 'HLCP 28'."
    ),
    allow_unowned: bool = typer.Option(
        False, "--allow-unowned", help="Launch although some items have no owner."
    ),
    allow_placeholders: bool = typer.Option(
        False,
        "--allow-placeholders",
        help="Launch although some agencies have only placeholder addresses (example.org): a rehearsal.",
    ),
    symbol: str | None = typer.Option(None, "--symbol", help="Document symbol, e.g. CEB/2015/HLCP-29/CRP.3."),
    venue: str | None = typer.Option(None, "--venue", help="Where the session meets, e.g. 'Rome'."),
    document_date: datetime | None = typer.Option(
        None, "--document-date", formats=DATE_FORMATS, help="The document's date (default: produced on)."
    ),
    action: str | None = typer.Option(None, "--action", help="What the Committee is asked to do."),
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Open a cycle and send one consolidated status request per owning agency (safe to re-run)."""
    from workflows.services import launch as launching
    from workflows.services import stocktake

    day = day_of(today)
    document = _document_values(symbol=symbol, venue=venue, document_date=document_date, action=action)
    with user_errors():
        # Refuse bad input before paying for Prefect's start-up.
        stocktake.check_document(document)
        launching.validate_launch(
            bootstrap.uow(),
            bootstrap.clock(day),
            name=name,
            deadline=deadline.date(),
            allow_unowned=allow_unowned,
            allow_placeholders=allow_placeholders,
        )
    result = _run_flow(
        lambda flows: flows.launch_stocktake_cycle,
        name=name,
        deadline=deadline.date(),
        hlcp_session=session,
        allow_unowned=allow_unowned,
        allow_placeholders=allow_placeholders,
        today=day,
    )
    if document:
        with user_errors():
            stocktake.set_document(bootstrap.uow(), name, **document)
    verb = "Launched" if result["created"] else "Already launched:"
    console.print(
        f"{verb} [bold]{escape(result['cycle_name'])}[/]: {len(result['agencies'])} agencies, "
        f"{result['item_count']} items; {result['enqueued']} requests queued now, {result['sent']} sent."
    )
    exit_if_undelivered(result)


def _document_values(
    *,
    symbol: str | None,
    venue: str | None,
    document_date: datetime | None,
    action: str | None,
    session: str | None = None,
) -> dict[str, Any]:
    """The document fields given on the command line (None: not given, left as it is)."""
    given = {
        "symbol": symbol,
        "venue": venue,
        "document_date": document_date.date() if document_date else None,
        "action_requested": action,
        "hlcp_session": session,
    }
    return {name: value for name, value in given.items() if value is not None}


@cycle_app.command("set")
def set_document(
    name: str = typer.Argument(..., help="The cycle's name."),
    symbol: str | None = typer.Option(None, "--symbol", help="Document symbol ('' clears it)."),
    session: str | None = typer.Option(None, "--session", help="The HLCP session, e.g. 'HLCP 29'."),
    venue: str | None = typer.Option(None, "--venue", help="Where the session meets."),
    document_date: datetime | None = typer.Option(
        None, "--document-date", formats=DATE_FORMATS, help="The document's date (YYYY-MM-DD)."
    ),
    action: str | None = typer.Option(None, "--action", help="What the Committee is asked to do."),
) -> None:
    """Set the form of a cycle's stock-take document: symbol, session, venue, date, action requested."""
    from workflows.services import stocktake

    document = _document_values(
        symbol=symbol, venue=venue, document_date=document_date, action=action, session=session
    )
    if not document:
        err_console.print("Nothing to set: give at least one of --symbol, --session, --venue, ...")
        raise typer.Exit(2)
    with user_errors():
        stocktake.set_document(bootstrap.uow(), name, **document)
    console.print(f"Set {', '.join(document)} of [bold]{escape(name)}[/].")


def _send_told(keys: list[str], clock: Any, whom: str) -> None:
    """Send a command's notices now and say what became of them: sent, or queued for a later run."""
    sent = bootstrap.send_now(keys, clock).sent
    queued = f", {len(keys) - sent} queued (`followup mail send` or the next flow run sends them)"
    console.print(f"Told the {len(keys)} {whom}: {sent} sent by e-mail{queued if sent < len(keys) else ''}.")


@cycle_app.command("extend")
def extend(
    name: str = typer.Argument(..., help="The cycle's name."),
    to: datetime = typer.Option(
        ...,
        "--to",
        formats=DATE_FORMATS,
        help="The new reply deadline (YYYY-MM-DD), later than the current one.",
    ),
    why: str = typer.Option("", "--why", help="Why, for the cycle's history (e.g. 'session moved')."),
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Extend an open cycle's reply deadline and tell every agency yet to answer (its calendar moves)."""
    from workflows.services.follow_up import extend_deadline

    uow = bootstrap.uow()
    clock = bootstrap.clock(day_of(today))
    notifier = bootstrap.notifier(uow, clock)
    with user_errors():
        extended = extend_deadline(
            uow, notifier, clock, bootstrap.cycle_config(), name, to.date(), by="secretariat", why=why
        )
    console.print(
        f"The deadline of [bold]{escape(name)}[/] moved from {extended.before} to {extended.deadline}."
    )
    if extended.notices:
        _send_told(extended.notices, clock, "agencies yet to answer")
    else:
        console.print("No agency has anything left to answer: nobody was told.")
    if extended.on_time_again:
        console.print(f"No longer late: {', '.join(extended.on_time_again)}.")


@cycle_app.command("cancel")
def cancel(
    name: str = typer.Argument(..., help="The cycle's name."),
    why: str = typer.Option(..., "--why", help="Why, for the cycle's history (e.g. 'launched by mistake')."),
) -> None:
    """Cancel an open cycle: links stop, nothing more is sent, and the agencies asked are told."""
    from workflows.services.closing import cancel_cycle

    uow = bootstrap.uow()
    clock = bootstrap.SystemClock()
    notifier = bootstrap.notifier(uow, clock)
    with user_errors():
        cancelled = cancel_cycle(
            uow, notifier, clock, bootstrap.cycle_config(), name, by="secretariat", why=why
        )
    closed, withdrawn = cancelled.requests_closed, cancelled.withdrawn
    console.print(
        f"Cancelled [bold]{escape(name)}[/]: {closed} requests closed (their links no longer work), "
        f"{withdrawn} unsent messages withdrawn."
    )
    if cancelled.notices:
        _send_told(cancelled.notices, clock, "agencies it had asked")


@app.command("check")
def check(
    today: datetime | None = typer.Option(
        None, "--today", formats=DATE_FORMATS, help="Replay the follow-up as if on this day (YYYY-MM-DD)."
    ),
    cycle: str | None = typer.Option(None, "--cycle", help="Only this cycle (default: every open cycle)."),
) -> None:
    """Daily follow-up: reminders, escalations, overdue requests and milestones."""
    from workflows.cli.plain_table import PlainTable

    found = _run_flow(lambda flows: flows.daily_follow_up, today=day_of(today), cycle_name=cycle)
    console.print(
        f"Follow-up of {found['today'].isoformat()}: {len(found['reminders'])} reminders, "
        f"{len(found['escalations'])} escalations, {len(found['newly_overdue_requests'])} requests and "
        f"{found['newly_overdue_milestones']} milestones newly overdue, "
        f"{len(found['replies_received'])} replies received."
    )
    if found["rows"]:
        columns = list(found["rows"][0])
        table = PlainTable(*columns, title=f"Agencies overdue ({found['overdue_count']})")
        for row in found["rows"][:SHOWN_ROWS]:
            table.add_row(*(str(row[column]) for column in columns))
        console.print(table)
        if found["overdue_count"] > SHOWN_ROWS:
            more = found["overdue_count"] - SHOWN_ROWS
            console.print(
                f"... and {more} more (`followup cycle show`, the overdue-agencies artifact in Prefect)."
            )
    exit_if_undelivered(found)


@cycle_app.command("collect")
def collect(name: str = typer.Argument(...), today: datetime | None = TODAY_OPTION) -> None:
    """Take in spreadsheets from the inbox, count portal replies, and show what is still missing."""
    collected = _run_flow(lambda flows: flows.collect_replies, cycle_name=name, today=day_of(today))
    _print_collected(collected)
    exit_if_undelivered(collected)


def _print_collected(collected: dict[str, Any]) -> None:
    from workflows.cli.plain_table import PlainTable

    for file in collected["files"]:
        if file["accepted"]:
            console.print(f"[green]imported[/] {escape(file['name'])} -> {escape(file['moved_to'])}")
        else:
            console.print(
                f"[red]rejected[/] {escape(file['name'])} -> {escape(file['moved_to'])}: "
                f"{escape(file['error'])}"
            )
    if collected["newly_answered"]:
        console.print(f"Complete replies now from: {', '.join(collected['newly_answered'])}")
    missing = collected["missing"]
    if not missing:
        console.print("Every agency has answered every item.")
        return
    table = PlainTable("agency", "missing", "requested", title="Still missing")
    for line in missing:
        table.add_row(line["code"], str(line["missing"]), str(line["requested"]))
    console.print(table)


@cycle_app.command("close")
def close(
    name: str = typer.Argument(...),
    formats: list[str] | None = typer.Option(None, "--format", help="Report formats (default: all)."),
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Collect, close the cycle, write the stock-take report and send the cycle summary."""
    closed = _run_flow(
        lambda flows: flows.close_stocktake_cycle, cycle_name=name, formats=formats, today=day_of(today)
    )
    _print_collected(closed["collect"])
    console.print(
        f"Cycle [bold]{escape(name)}[/] {'closed' if closed['closed_now'] else 'was already closed'}."
    )
    for fmt, path in closed["report_paths"].items():
        console.print(f"  {fmt}: {path}")
    exit_if_undelivered(closed)


@cycle_app.command("list")
def list_cycles() -> None:
    """Every cycle with its deadline, state and answers so far."""
    with user_errors():
        text = cycle_views.cycles_text()
    console.out(text, end="", highlight=False)


@cycle_app.command("show")
def show(name: str = typer.Argument(...), today: datetime | None = TODAY_OPTION) -> None:
    """Per agency: items requested, answered, overdue, and where its request stands."""
    with user_errors():
        text = cycle_views.cycle_text(name, bootstrap.clock(day_of(today)).today())
    console.out(text, end="", highlight=False)


@app.command("serve")
def serve(
    launch_cron: str | None = LAUNCH_CRON_OPTION,
    deadline_days: int = DEADLINE_DAYS_OPTION,
    followup_cron: str = FOLLOWUP_CRON_OPTION,
) -> None:
    """Register the deployments with their schedules and serve them until interrupted."""
    from workflows.deployments import serve_deployments
    from workflows.local_server import prefect_api

    with user_errors(), server_errors(), prefect_api(say):
        serve_deployments(launch_cron=launch_cron, deadline_days=deadline_days, followup_cron=followup_cron)
