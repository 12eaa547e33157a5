"""Commands for the e-mail outbox: `followup mail status | send | retry`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table

from workflows import bootstrap
from workflows.cli.app import console, err_console, sub_app, user_errors

mail_app = sub_app(
    "mail", "The e-mail outbox: what is queued, sent or failed; send now; retry failed messages."
)


@mail_app.command("status")
def status() -> None:
    """Count messages per state and list the failed ones with their last error."""
    from notifications import outbox  # rendering and SMTP machinery: loaded only when used

    with user_errors(), bootstrap.uow() as uow:
        counts = outbox.counts_by_state(uow)
        failed = outbox.failed_messages(uow)
    states = ("queued", "sending", "sent", "failed")
    console.print(", ".join(f"{counts.get(state, 0)} {state}" for state in states))
    if failed:
        table = Table("key", "Message-ID", "to", "attempts", "last error", title="Failed messages")
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
    if report.failed:
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
        err_console.print(f"[bold red]error:[/] FOLLOWUP_MAIL_URL: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
