"""Reply commands: `reply template` and `import`, `cycle reissue` and `revoke`, `portal` (the web server).

None of them imports Prefect; `portal` imports the web stack only when it starts.
"""

from __future__ import annotations

import copy
import os
from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape

from workflows import bootstrap
from workflows.cli.base import (
    TODAY_OPTION,
    app,
    console,
    cycle_app,
    day_of,
    err_console,
    mail_news,
    reply_app,
    user_errors,
)


@reply_app.command("template")
def template(
    name: str = typer.Argument(..., help="The cycle's name."),
    agency: str = typer.Option(..., "--agency", help="The agency's code, e.g. UNDP."),
    out: Path = typer.Option(..., "--out", help="Where to write the .xlsx file."),
) -> None:
    """Write an agency's reply spreadsheet: items and milestones, a status drop-down, locked references."""
    if out.suffix.lower() != ".xlsx":
        err_console.print("[bold red]error:[/] --out: the template is an .xlsx file (name it *.xlsx)")
        raise typer.Exit(1)
    with user_errors():
        from workflows.services import reply_template  # openpyxl is heavy: only these commands load it

        path = reply_template.write_template(
            bootstrap.uow(), bootstrap.cycle_config(), name, agency, out, today=bootstrap.clock().today()
        )
    console.print(f"Wrote {path} for {agency} ({name}).")


@reply_app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="A filled-in reply file (.xlsx or .csv)."),
    as_agency: str | None = typer.Option(
        None,
        "--as",
        help="Import a file without a valid mark (a CSV, a re-saved copy) as this agency's reply; "
        "the history records it. Check who sent the file first.",
    ),
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Import a filled-in reply file: all of it is checked first; nothing is applied unless all is valid.

    A file must carry the mark of the template written for its agency, unless given with --as.
    """
    from notifications.immediate import KeyRecorder
    from workflows.services import spreadsheets
    from workflows.services.sheet_files import SpreadsheetRejected
    from workflows.settings import get_settings

    uow = bootstrap.uow()
    clock = bootstrap.clock(day_of(today))
    outgoing = KeyRecorder(bootstrap.notifier(uow, clock))
    with user_errors():
        try:
            result = spreadsheets.import_reply_file(
                uow,
                outgoing,
                clock,
                bootstrap.cycle_config(),
                file,
                as_agency=as_agency,
                by=get_settings().secretariat_email,
            )
        except SpreadsheetRejected as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    changed = ", ".join(result.saved) or "nothing changed"
    vouched = (
        f" As {as_agency} on the secretariat's word (--as): recorded in the history." if as_agency else ""
    )
    console.print(
        f"Imported {result.agency_code}'s reply to {result.cycle_name}: {result.taken} answers taken, "
        f"{result.blank} left blank (not answered yet; submitted: {changed}).{vouched}"
    )
    if outgoing.keys:
        console.print(f"The receipt is {mail_news(bootstrap.send_now(outgoing.keys, clock).sent)}.")


@cycle_app.command("reissue")
def reissue(
    name: str = typer.Argument(..., help="The cycle's name."),
    agency: str = typer.Option(..., "--agency", help="The agency's code."),
) -> None:
    """Give an agency a new reply link (the old one stops working) and send it by e-mail."""
    from notifications.immediate import KeyRecorder
    from workflows.services import replies

    uow = bootstrap.uow()
    clock = bootstrap.SystemClock()
    outgoing = KeyRecorder(bootstrap.notifier(uow, clock))
    with user_errors():
        link = replies.reissue_link(
            uow, outgoing, clock, bootstrap.cycle_config(), name, agency, "secretariat"
        )
    news = mail_news(bootstrap.send_now(outgoing.keys, clock).sent)
    console.print(f"New link for {agency} in {name} ({news}; the old link no longer works):")
    console.print(link, highlight=False, soft_wrap=True)


@cycle_app.command("revoke")
def revoke(
    name: str = typer.Argument(..., help="The cycle's name."),
    agency: str = typer.Option(..., "--agency", help="The agency's code."),
    why: str = typer.Option("", "--why", help="Why, for the request's history (e.g. 'link forwarded')."),
) -> None:
    """Stop an agency's reply link at once, sending nothing (`cycle reissue` gives it a new one)."""
    from workflows.services import replies

    with user_errors():
        revoked = replies.revoke_link(
            bootstrap.uow(), bootstrap.SystemClock(), name, agency, "secretariat", why
        )
    if revoked:
        console.print(
            f"{agency}'s link for {name} no longer works (its drafts and answers are kept); "
            f'`followup cycle reissue "{name}" --agency {agency}` sends a new one.'
        )
    else:
        console.print(f"{agency}'s link for {name} was revoked already: nothing changed.")


@app.command("portal")
def portal(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(
        os.cpu_count() or 1, "--workers", min=1, help="Server processes (default: one per CPU)."
    ),
) -> None:
    """Run the reply portal (agencies' secure links, the secretariat's cycle pages)."""
    import uvicorn

    from workflows.settings import get_settings

    settings = get_settings()
    # Settle the secret key (and its fingerprint) before the workers start: they would otherwise race
    # to create them; a malformed key or one other than the database's stops here, with its message.
    with user_errors():
        bootstrap.existing_database(settings.resolved_database_url)
        bootstrap.secret_key(settings, record=True)
    # The portal's own messages go where uvicorn's go.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["followup"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # No access log: its request lines would write every agency's reply token to the log files.
    config = uvicorn.Config(
        "portal.app:create_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        log_config=log_config,
    )
    if workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:  # e.g. the port is taken: uvicorn logged why
            raise typer.Exit(3)
        return
    from portal.listening import CannotListen, serve_in_processes

    try:
        serve_in_processes(config)
    except CannotListen as exc:
        err_console.print(
            f"The portal cannot listen on {host}:{port}: {exc}. Stop what uses that address, or choose"
            " another with --host or --port."
        )
        raise typer.Exit(3) from exc
