"""Commands for the e-mail outbox: `followup mail status | send | retry`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape

from workflows import bootstrap
from workflows.cli.base import console, err_console, sub_app, user_errors

mail_app = sub_app(
    "mail", "The e-mail outbox: what is queued, sent or failed; send now; retry failed messages."
)


@mail_app.command("status")
def status() -> None:
    """Count messages per state; per agency and kind, what the mail server refused and its last error."""
    from rich.text import Text

    from notifications import outbox  # rendering and SMTP machinery: loaded only when used
    from workflows.cli.plain_table import PlainTable

    with user_errors(), bootstrap.uow() as uow:
        counts = outbox.counts_by_state(uow)
        refused = outbox.undelivered(uow)
        failed = outbox.failed_messages(uow)
    states = ("queued", "sending", "sent", "failed", "withdrawn")
    console.print(", ".join(f"{counts.get(state, 0)} {state}" for state in states))
    if refused:
        table = PlainTable(
            "agency", "kind", "messages", "state", "last error", title="Refused by the mail server"
        )
        for group in refused:
            state: Text | str
            if group.state == "failed":
                state = Text.assemble(("given up", "red"), " (`followup mail retry`)")
            else:
                until = group.retry_until.strftime("%Y-%m-%d %H:%M") if group.retry_until else "?"
                state = f"retried by the next runs until {until} UTC"
            table.add_row(group.agency_code or "", group.kind, str(group.count), state, group.last_error)
        console.print(table)
    if failed:
        table = PlainTable("key", "Message-ID", "to", "attempts", "last error", title="Failed messages")
        for row in failed:
            recipients = ", ".join(row.recipients)
            table.add_row(row.idempotency_key, row.message_id, recipients, str(row.attempts), row.last_error)
        console.print(table)


@mail_app.command("send")
def send(limit: int | None = typer.Option(None, min=1, help="Send at most this many messages.")) -> None:
    """Hand the due queued messages to FOLLOWUP_MAIL_URL now (the follow-up flow also does this)."""
    from notifications import outbox  # rendering and SMTP machinery: loaded only when used

    with bad_mail_url():
        sender = bootstrap.sender()
    with user_errors():
        report = outbox.dispatch(
            bootstrap.uow, sender, bootstrap.SystemClock(), links=bootstrap.reply_link, limit=limit
        )
    console.print(
        f"{report.sent} sent, {report.retrying} to retry later, {report.failed} failed (via {sender!r})."
    )
    if report.failed or report.retrying:  # some mail could not be delivered: say so to scripts too
        raise typer.Exit(1)


@mail_app.command("retry")
def retry(
    keys: list[str] = typer.Argument(None, help="Idempotency keys of failed messages (see `mail status`)."),
    all_failed: bool = typer.Option(False, "--all-failed", help="Queue every failed message again."),
) -> None:
    """Queue failed messages again with a fresh set of attempts (then `followup mail send`)."""
    from notifications import outbox  # rendering and SMTP machinery: loaded only when used

    if not keys and not all_failed:
        err_console.print("[bold red]error:[/] name the failed messages' keys, or pass --all-failed")
        raise typer.Exit(1)
    with user_errors(), bootstrap.uow() as uow:
        count = outbox.requeue_failed(uow, bootstrap.SystemClock(), keys=None if all_failed else keys)
        uow.commit()
    console.print(f"{count} failed message(s) queued again.")
    if keys and count < len(keys):
        err_console.print("[yellow]some keys were not failed messages (see `followup mail status`).[/]")


@contextmanager
def bad_mail_url() -> Iterator[None]:
    """A malformed FOLLOWUP_MAIL_URL is a red one-line message, not a traceback."""
    try:
        yield
    except ValueError as exc:
        err_console.print(
            f"[bold red]error:[/] FOLLOWUP_MAIL_URL: {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
