"""Secretariat review commands: `review list / accept / return / accept-all / answer / thread / rollup`.

None of them imports Prefect: a return is announced as a Prefect event by the next collect-replies
or close flow (see `workflows.services.review.announce_returns`).
"""

from __future__ import annotations

from datetime import datetime

import typer
from rich.markup import escape

from workflows import bootstrap
from workflows.cli.base import TODAY_OPTION, console, day_of, mail_news, review_app, user_errors

BY_OPTION = typer.Option("secretariat", "--by", help="Who reviews (recorded in the history).")
AGENCY_OPTION = typer.Option(..., "--agency", help="The agency's code, e.g. IOM.")
_NARRATIVE_SHOWN = 160


@review_app.command("list")
def list_queue(
    name: str = typer.Argument(..., help="The cycle's name."),
    agency: str | None = typer.Option(None, "--agency", help="Only this agency's answers."),
) -> None:
    """The answers waiting for review, and how many items are in each review state."""
    from domain.answers import status_label
    from workflows.cli.plain_table import PlainTable
    from workflows.queries import review as review_reads

    with user_errors():
        queue = review_reads.review_queue(bootstrap.uow(), name, agency)
    table = PlainTable(
        "agency", "item", "status", "narrative", "submitted", "via", title=f"Review queue of {name}"
    )
    for item in queue.items:
        narrative = item.narrative if len(item.narrative) <= _NARRATIVE_SHOWN else item.narrative[:159] + "…"
        table.add_row(
            item.agency_code,
            item.code,
            status_label(item.status),
            narrative,
            item.submitted_at.date().isoformat() if item.submitted_at else "",
            item.channel or "",
        )
    if queue.items:
        console.print(table)
    else:
        console.print(f"Nothing waits for review in {name}" + (f" from {agency}." if agency else "."))
    console.print(f"Items: {review_reads.counts_line(queue.counts)}.")


@review_app.command("accept")
def accept(
    name: str = typer.Argument(..., help="The cycle's name."),
    code: str = typer.Argument(..., help="The recommendation's code, e.g. A3.4."),
    agency: str = AGENCY_OPTION,
    assess: str | None = typer.Option(
        None, "--assess", help="The secretariat's own status (e.g. in_progress), if it differs."
    ),
    why: str = typer.Option("", "--why", help="The rationale (required when --assess differs)."),
    publish_evidence: bool = typer.Option(
        False, "--publish-evidence", help="Make the answer's evidence files public (private otherwise)."
    ),
    by: str = BY_OPTION,
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Accept a submitted answer (it is then locked), optionally with an assessed status."""
    from domain.answers import status_label
    from workflows.services import review

    with user_errors():
        done = review.accept(
            bootstrap.uow(),
            bootstrap.clock(day_of(today)),
            name,
            code,
            agency,
            by=by,
            assess=assess,
            why=why,
            publish_evidence=publish_evidence,
        )
    line = f"Accepted {done.code} ({done.agency_code}): reported {status_label(done.reported_status or '')}"
    if done.assessed_status:
        line += f", assessed {status_label(done.assessed_status)}"
    console.print(line + (" [bold yellow](disagreement)[/]" if done.disagrees else "") + ".")


@review_app.command("answer")
def answer_for_body(
    name: str = typer.Argument(..., help="The cycle's name."),
    codes: list[str] = typer.Argument(..., help="The recommendations' codes, e.g. SR1.i A8.1."),
    agency: str = typer.Option(..., "--for", help="The body the secretariat answers for, e.g. HLCP."),
    status: str = typer.Option(..., "--status", help="The items' status, e.g. in_progress."),
    narrative: str = typer.Option("", "--narrative", help="What changed and why."),
    by: str = BY_OPTION,
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Record the status of a coordination body's items (the CEB, the HLCP), which the secretariat answers."""
    from domain.answers import status_label
    from workflows.services import review

    with user_errors():
        done = review.answer_for_body(
            bootstrap.uow(), bootstrap.clock(day_of(today)), name, codes, agency,
            status=status, narrative=narrative, by=by,
        )  # fmt: skip
    codes_shown, status_shown = ", ".join(d.code for d in done), status_label(done[0].reported_status or "")
    console.print(f"Recorded {codes_shown} ({agency}) as {status_shown}, answered by the secretariat.")


@review_app.command("return")
def return_item(
    name: str = typer.Argument(..., help="The cycle's name."),
    code: str = typer.Argument(..., help="The recommendation's code."),
    agency: str = AGENCY_OPTION,
    question: str = typer.Option(..., "--question", help="What the agency should clarify."),
    by: str = BY_OPTION,
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Send a submitted answer back to the agency with a question (it is e-mailed its reply link)."""
    from notifications.immediate import KeyRecorder
    from workflows.services import review

    clock = bootstrap.clock(day_of(today))
    uow = bootstrap.uow()
    outgoing = KeyRecorder(bootstrap.notifier(uow, clock))
    with user_errors():
        done = review.return_item(
            uow,
            outgoing,
            clock,
            bootstrap.cycle_config(),
            name,
            code,
            agency,
            question=question,
            by=by,
        )
    sent = bootstrap.send_now(outgoing.keys, clock).sent
    console.print(f"Returned {done.code} to {done.agency_code}; the question is {mail_news(sent)}.")


@review_app.command("accept-all")
def accept_all(
    name: str = typer.Argument(..., help="The cycle's name."),
    agency: str = AGENCY_OPTION,
    by: str = BY_OPTION,
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Accept, as reported, every submitted answer of one agency."""
    from workflows.services import review

    with user_errors():
        codes = review.accept_all(bootstrap.uow(), bootstrap.clock(day_of(today)), name, agency, by=by)
    if codes:
        console.print(f"Accepted {len(codes)} answer(s) of {agency}: {', '.join(codes)}.")
    else:
        console.print(f"Nothing of {agency} waits for review in {name}.")


@review_app.command("thread")
def thread(name: str = typer.Argument(..., help="The cycle's name."), agency: str = AGENCY_OPTION) -> None:
    """The whole exchange with an agency about its request, oldest first."""
    from workflows.queries import review as review_reads

    with user_errors():
        entries = review_reads.request_thread(bootstrap.uow(), name, agency)
    console.print(f"[bold]{escape(agency)} in {escape(name)}[/]: {len(entries)} step(s), times in UTC")
    for entry in entries:
        item = f" [bold]{escape(entry.item)}[/]" if entry.item else ""
        by = escape(entry.by)
        console.print(f"{entry.at:%Y-%m-%d %H:%M}  [cyan]{entry.what}[/]{item} via {entry.channel}, by {by}")
        if entry.detail:
            console.print(f"    {escape(entry.detail)}")


@review_app.command("rollup")
def rollup(
    name: str = typer.Argument(..., help="The cycle's name."),
    code: str = typer.Argument(..., help="The recommendation's code."),
) -> None:
    """A recommendation's rolled-up status with its owners' parts."""
    from domain.answers import status_label
    from workflows.queries import review as review_reads

    with user_errors():
        rolled = review_reads.rolled_up_status(bootstrap.uow(), name, code)
    console.print(f"{rolled.code}: [bold]{status_label(rolled.status) if rolled.status else 'no answer'}[/]")
    for part in rolled.parts:
        reported = status_label(part.reported_status) if part.reported_status else "no answer"
        assessed = f", assessed {status_label(part.assessed_status)}" if part.assessed_status else ""
        console.print(
            f"  {part.agency_code} ({part.role}): {reported}{assessed} ({part.state or 'not answered'})"
        )
