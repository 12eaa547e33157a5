"""`make demo`: the secretariat's year on the sample report, end to end, on the embedded defaults.

It starts from an empty demo home (`$FOLLOWUP_HOME`, `var/demo` under `make demo`), imports the
sample report, assigns owners and milestones, then runs two stock-take cycles on a replayed 2014-15
calendar: launch, daily follow-up (reminders, escalation, overdue), replies through the portal's
service and through spreadsheets dropped in the inbox, the secretariat's review, and the close that
writes the stock-take report. A third cycle is left open today so that the printed reply link
works in the portal (`make demo-portal`), and the public record of the closed cycles is published
as a static site in `site/` (open `var/demo/site/index.html`).

Each step runs the very `followup` command a secretariat member would type (in this process, so
Prefect's local server starts once); agency replies go through the same use cases as the portal.
Each command is printed with a one-line result (a table shows as its title and row count);
`--verbose` prints every command's whole output and Prefect's log.
"""

from __future__ import annotations

import argparse
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from rich.console import ConsoleRenderable, RenderHook
from rich.table import Table
from rich.text import Text

from workflows import bootstrap
from workflows.cli.app import console
from workflows.settings import get_settings

SEED = Path(__file__).resolve().parents[1] / "db" / "seed"
SAMPLE_REPORT = SEED / "CEB-2014-4-Annex-V.md"


class Transcript:
    """How much the demo prints: each command with a one-line result, or (verbose) all its output."""

    verbose = False


class TablesAsCounts(RenderHook):
    """Print a table as one line, its title (or columns) and its row count, instead of its rows."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        """Replace each table among what is about to be printed by its one-line summary."""
        return [_counted(r) if isinstance(r, Table) else r for r in renderables]


def _counted(table: Table) -> Text:
    rows = f"{table.row_count} row" + ("" if table.row_count == 1 else "s")
    if table.title:
        return Text(f"{table.title}: {rows}")
    columns = ", ".join(str(column.header) for column in table.columns if column.header)
    return Text(f"table of {rows} ({columns})")


class DemoFailed(RuntimeError):
    """A demo step's command exited non-zero."""


@dataclass(frozen=True)
class AgencyReply:
    """How one agency answers in one demo cycle (answers in item order, or for the item `code` names)."""

    agency: str
    channel: str
    answered_on: date
    answers: list[dict[str, Any]]
    milestones: list[dict[str, Any]]


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


RESULT_LINES, RESULT_LINE_CHARACTERS = 3, 140


def result_line(output: str) -> str:
    """A command's output as one line: its first lines, each shortened; --verbose prints them all."""
    lines = [line.strip().rstrip(".") for line in output.splitlines() if line.strip()]
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


def main(argv: list[str] | None = None) -> None:
    """Run the whole demo from an empty demo home."""
    parser = argparse.ArgumentParser(prog="python -m workflows.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="every command's whole output, Prefect's log")
    Transcript.verbose = parser.parse_args(argv).verbose
    if not Transcript.verbose:
        quiet_output()
    settings = get_settings()
    home = settings.home.resolve()
    if home.exists():
        # A local Prefect server whose home is inside the demo's must not outlive its deleted database.
        if Path(os.environ.get("PREFECT_HOME", home / "prefect")).resolve().is_relative_to(home):
            from workflows import local_server

            local_server.stop(lambda _line: None)
        shutil.rmtree(home)  # the demo home belongs to the demo: start from nothing every time
    home.mkdir(parents=True)
    script = yaml.safe_load((SEED / "demo-replies.yaml").read_text(encoding="utf-8"))

    console.rule("[bold]1. The secretariat imports the report and assigns owners")
    followup("init")
    followup("import", str(SAMPLE_REPORT))
    # The same report as the Word file the secretariat receives: the same items (all unchanged).
    followup("import", str(SEED / "CEB-2014-4-Annex-V.docx"))
    followup("owners", "suggest", "--apply")
    followup("owners", "apply", str(SEED / "demo-owners.yaml"))
    # Milestones proposed from the report's dated commitments, written for review; the reviewed
    # file (db/seed/demo-milestones.yaml, checked by a test to be that output) is then applied.
    followup("milestones", "suggest", str(SAMPLE_REPORT), "--out", str(home / "milestones-to-review.yaml"))
    followup("owners", "apply", str(SEED / "demo-milestones.yaml"))
    followup("catalogue")

    closed: dict[str, str] = {}
    for number, cycle in enumerate(script["cycles"], start=2):
        run_cycle(number, cycle, closed)

    console.rule("[bold]Today: a cycle open now, to try the portal")
    today = datetime.now(UTC).date()
    # The HLCP meets in spring and autumn: name the open cycle after the next session's season.
    name = f"Spring {today.year + 1}" if today.month >= 7 else f"Autumn {today.year}"
    followup(
        "cycle",
        "launch",
        name,
        "--deadline",
        (today + timedelta(days=28)).isoformat(),
        "--session",
        "next HLCP session",
        "--allow-placeholders",  # the registry's example.org addresses: the demo is a rehearsal
    )
    link = reply_link(name, "ILO")
    # The public record of the closed cycles, as a static site (open its index.html in a browser).
    followup("publish", "--out", str(home / "site"))
    reports = sorted((settings.reports_dir).glob("*"))
    console.rule("[bold green]Demo complete")
    console.print(check_names(home / "outbox", settings.reports_dir), soft_wrap=True)
    console.print(f"Demo home: {home}")
    console.print(
        f"E-mails sent (one .eml file each): {home / 'outbox'} "
        f"({len(list((home / 'outbox').glob('*.eml')))} files)"
    )
    console.print(
        f"Stock-take reports (Word, HTML, Markdown, spreadsheet) of each closed cycle: "
        f"{settings.reports_dir.resolve()} ({len(reports)} files)"
    )
    console.print(f"ILO's reply link for {name!r} (run `make demo-portal`, then open it):")
    console.print(f"  {link}", soft_wrap=True)  # never wrapped: it must stay copyable


def run_cycle(number: int, cycle: dict[str, Any], closed: dict[str, str]) -> None:
    """Launch one cycle, replay its calendar with replies arriving, review it and close it.

    `closed`: the items closed so far (code -> agency), to show the cycle no longer asks about them.
    """
    name = cycle["name"]
    replies = [
        AgencyReply(code, r["channel"], r["answered_on"], r["answers"], r.get("milestones") or [])
        for code, r in (cycle.get("replies") or {}).items()
    ]
    console.rule(f"[bold]{number}. {name}: launched {cycle['launch']}, replies due {cycle['deadline']}")
    followup(
        "cycle",
        "launch",
        name,
        "--deadline",
        cycle["deadline"].isoformat(),
        "--session",
        cycle["session"],
        *(("--symbol", cycle["symbol"]) if cycle.get("symbol") else ()),
        *(("--venue", cycle["venue"]) if cycle.get("venue") else ()),
        "--today",
        cycle["launch"].isoformat(),
        "--allow-placeholders",
    )
    for code, agency in closed.items():
        asked = code in items_of(name, agency)
        console.print(
            f"{code}, closed as implemented: {'still' if asked else 'no longer'} asked of {agency}."
        )
    answered: set[str] = set()
    for today in cycle["checks"]:
        answers: list[str] = []
        for reply in replies:
            if reply.agency not in answered and reply.answered_on < today:
                answers.append(answer(name, reply))
                answered.add(reply.agency)
        if answers:
            console.print(f"Replies: {', '.join(answers)}", soft_wrap=True)
        followup("cycle", "collect", name, "--today", today.isoformat())
        followup("check", "--today", today.isoformat())
    answer_for_bodies(name, cycle.get("secretariat") or {}, cycle["checks"][-1])
    followup("cycle", "show", name, "--today", cycle["checks"][-1].isoformat())
    if "review" in cycle:
        review(name, cycle["review"], replies, cycle["checks"][-1])
    closing = (cycle["checks"][-1] + timedelta(days=1)).isoformat()
    followup("cycle", "close", name, "--today", closing)
    if "close_item" in cycle:
        close_completed_item(name, cycle["close_item"], cycle["checks"][-1] + timedelta(days=2), closed)


def items_of(cycle_name: str, agency: str) -> list[str]:
    """The codes the cycle asks of an agency (or body), in report order."""
    with bootstrap.uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        return [item.code for item in uow.cycle_items.for_agency(cycle.id or 0, agency)]


def answer_for_bodies(cycle_name: str, plan: dict[str, dict[str, str]], today: date) -> None:
    """The secretariat records the status of the CEB's and the HLCP's items: they get no request."""
    for body, given in plan.items():
        followup(
            "review", "answer", cycle_name, *items_of(cycle_name, body), "--for", body,
            "--status", given["status"], "--narrative", " ".join(given["narrative"].split()),
            "--today", today.isoformat(),
        )  # fmt: skip


def close_completed_item(cycle_name: str, plan: dict[str, str], today: date, closed: dict[str, str]) -> None:
    """The secretariat accepts an item the agency reported completed and closes it (noted in `closed`)."""
    from workflows.queries.review import review_queue

    code, agency = plan["code"], plan["agency"]
    if any(item.code == code for item in review_queue(bootstrap.uow(), cycle_name, agency).items):
        followup("review", "accept", cycle_name, code, "--agency", agency, "--today", today.isoformat())
    why = " ".join(plan["why"].split())
    followup("close-item", code, "--as", "implemented", "--why", why, "--today", today.isoformat())
    closed[code] = agency


def check_names(outbox: Path, reports_dir: Path) -> str:
    """Check that no e-mail and no report's running text shows an agency code where its name belongs.

    Codes that are also the body's name in running text (UNCTAD, IOM) cannot be told apart and are
    not looked for; the others (WORLD-BANK, UN-WOMEN, NGO-CM...) must never appear. Table rows of the
    Markdown reports are left out: their code columns are where a code is the point.
    """
    import email
    import re

    registry = yaml.safe_load((SEED / "agencies.yaml").read_text(encoding="utf-8"))["agencies"]
    codes = [a["code"] for a in registry if a["code"] != (a.get("short_name") or a["name"])]
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, codes)) + r")(?![\w-])")
    texts: dict[str, str] = {}
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        parts = [str(message["Subject"])]
        for part in message.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                payload = part.get_payload(decode=True)
                parts.append(
                    payload.decode(part.get_content_charset() or "utf-8")
                    if isinstance(payload, bytes)
                    else ""
                )
        texts[path.name] = "\n".join(parts)
    for path in sorted(reports_dir.glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        texts[path.name] = "\n".join(line for line in lines if not line.startswith("|"))
    found = sorted({f"{name}: {m.group(1)}" for name, text in texts.items() for m in pattern.finditer(text)})
    if found:
        raise DemoFailed(f"agency codes in running text: {', '.join(found[:10])}")
    mails = sum(1 for name in texts if name.endswith(".eml"))
    reports = len(texts) - mails
    return f"No agency code in the running text of the {mails} e-mails and {reports} Markdown reports."


def reply_link(cycle_name: str, agency: str) -> str:
    """The agency's reply link for a cycle (derived from the secret key; never stored)."""
    with bootstrap.uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        request = uow.requests.get(cycle.id or 0, agency)
        if request is None:
            raise DemoFailed(f"{agency} has no request in {cycle_name}")
        return bootstrap.reply_url(cycle.id or 0, agency, request.token_nonce)


def answer(cycle_name: str, reply: AgencyReply) -> str:
    """An agency answers its whole request on `reply.answered_on`, through the portal or a spreadsheet.

    Returns what happened, in a few words.
    """
    if reply.channel == "spreadsheet":
        return answer_by_spreadsheet(cycle_name, reply)
    from domain.answers import RawAnswer
    from workflows.queries import reply_page
    from workflows.services import replies

    clock = bootstrap.FixedClock(reply.answered_on)
    settings = get_settings()
    token = reply_link(cycle_name, reply.agency).rsplit("/", 1)[1]
    page = reply_page.open_request(
        bootstrap.uow(), clock, bootstrap.cycle_config(), token, grace_days=settings.token_grace_days
    )
    given_for = _answers_for([(item.code, item.previous is not None) for item in page.items], reply)
    answers = [
        RawAnswer(
            recommendation_id=item.recommendation_id,
            loaded_version=item.version,
            milestones=_milestone_reports(item, reply),
            **given,
        )
        for item, given in zip(page.items, given_for, strict=True)
    ]
    uow = bootstrap.uow()
    result = replies.save_reply(
        uow,
        bootstrap.notifier(uow, clock),
        clock,
        bootstrap.cycle_config(),
        token,
        answers,
        submit=True,
        grace_days=settings.token_grace_days,
    )
    confirmed = sum(1 for a in answers if a.no_change)
    no_change = f", {confirmed} with No change" if confirmed else ""
    return f"{reply.agency} ({len(result.saved)} items{no_change}, portal, {reply.answered_on})"


def _milestone_reports(item: Any, reply: AgencyReply) -> tuple[Any, ...]:
    """The agency's word on the item's open milestones the demo script names (by the start of their title)."""
    from domain.answers import RawMilestone

    reports = []
    for milestone in item.milestones:
        for given in reply.milestones:
            if milestone.is_open and milestone.title.startswith(given["title"]):
                reports.append(
                    RawMilestone(
                        milestone.id,
                        milestone.title,
                        outcome=given["outcome"],
                        on=str(given.get("date") or ""),
                        why=given.get("why", ""),
                    )
                )
    return tuple(reports)


def answer_by_spreadsheet(cycle_name: str, reply: AgencyReply) -> str:
    """The agency fills the template offline and e-mails it back; the secretariat drops it in the inbox."""
    from openpyxl import load_workbook

    from workflows.services import reply_template

    settings = get_settings()
    download = settings.home / "agency-files" / f"{reply.agency}-{cycle_name.replace(' ', '-')}.xlsx"
    followup("reply", "template", cycle_name, "--agency", reply.agency, "--out", str(download))
    book = load_workbook(download)
    sheet = book.active
    assert sheet is not None
    headers = [cell.value for cell in sheet[reply_template.HEADER_ROW]]
    column = {c.key: headers.index(c.header) + 1 for c in reply_template.COLUMNS}
    rows = range(reply_template.HEADER_ROW + 1, sheet.max_row + 1)
    items = [row for row in rows if sheet.cell(row, column["code"]).value]
    layout = [
        (str(sheet.cell(row, column["code"]).value), bool(sheet.cell(row, column["previous_status"]).value))
        for row in items
    ]
    for row, given in zip(items, _answers_for(layout, reply), strict=True):
        for key in ("status", "narrative", "obstacle"):
            sheet.cell(row, column[key]).value = given[key] or None
        sheet.cell(row, column["no_change"]).value = "Yes" if given["no_change"] else None
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    book.save(settings.inbox_dir / download.name)
    return f"{reply.agency} (spreadsheet in the inbox, {reply.answered_on})"


def _answers_for(items: list[tuple[str, bool]], reply: AgencyReply) -> list[dict[str, Any]]:
    """The agency's answers for its (code, answered before) items, in order.

    An answer naming a `code` goes to that item, the others to the remaining items in turn; an item
    the focal point has nothing new on is confirmed with No change (or, never answered, reported
    in progress): last cycle's text is never sent again as news.
    """
    named = {given["code"]: given for given in reply.answers if "code" in given}
    in_turn = iter(given for given in reply.answers if "code" not in given)
    answers = []
    for code, answered_before in items:
        given = named.get(code) or next(in_turn, None)
        if given is not None:
            answers.append(
                {
                    "status": given["status"],
                    "narrative": " ".join(given["narrative"].split()),
                    "obstacle": given.get("obstacle", ""),
                    "no_change": False,
                }
            )
        elif answered_before:
            answers.append({"status": "", "narrative": "", "obstacle": "", "no_change": True})
        else:
            answers.append(
                {
                    "status": "in_progress",
                    "narrative": "Work has started.",
                    "obstacle": "",
                    "no_change": False,
                }
            )
    return answers


def review(cycle_name: str, plan: dict[str, Any], replies: list[AgencyReply], today: date) -> None:
    """The secretariat reviews the answers: one returned with a question, one assessed, the rest accepted.

    The returned agency answers the question on its reply page the next day (after the deadline:
    a returned item stays open), through the portal's service, and its new answer is accepted.
    """
    from domain.answers import RawAnswer
    from workflows.queries import reply_page
    from workflows.queries.review import review_queue
    from workflows.services import replies as reply_service

    returned, assessed = plan["returned"], plan["assessed"]
    day, next_day = today, today + timedelta(days=1)
    why = " ".join(assessed["why"].split())

    def first_item(agency: str) -> str:
        queue = review_queue(bootstrap.uow(), cycle_name, agency)
        if not queue.items:
            raise DemoFailed(f"{agency} has no answer waiting for review in {cycle_name}")
        return queue.items[0].code

    followup("review", "list", cycle_name, "--agency", returned["agency"])
    asked = first_item(returned["agency"])
    followup(
        "review", "return", cycle_name, asked, "--agency", returned["agency"],
        "--question", returned["question"], "--today", day.isoformat(),
    )  # fmt: skip
    judged = first_item(assessed["agency"])
    followup(
        "review", "accept", cycle_name, judged, "--agency", assessed["agency"],
        "--assess", assessed["status"], "--why", why, "--today", day.isoformat(),
    )  # fmt: skip
    for reply in replies:
        followup("review", "accept-all", cycle_name, "--agency", reply.agency, "--today", day.isoformat())

    clock, settings = bootstrap.FixedClock(next_day), get_settings()
    token = reply_link(cycle_name, returned["agency"]).rsplit("/", 1)[1]
    page = reply_page.open_request(
        bootstrap.uow(), clock, bootstrap.cycle_config(), token, grace_days=settings.token_grace_days
    )
    item = next(item for item in page.items if item.code == asked)
    console.print(f"[green]{returned['agency']}[/] opens its reply page and reads: {item.reviewer_question}")
    answer = RawAnswer(
        recommendation_id=item.recommendation_id,
        status=returned["reanswer"]["status"],
        narrative=" ".join(returned["reanswer"]["narrative"].split()),
        loaded_version=item.version,
    )
    uow = bootstrap.uow()
    reply_service.save_reply(
        uow,
        bootstrap.notifier(uow, clock),
        clock,
        bootstrap.cycle_config(),
        token,
        [answer],
        submit=True,
        grace_days=settings.token_grace_days,
    )
    console.print(
        f"[green]{returned['agency']}[/] answered the question on {asked} through the portal on {next_day}."
    )
    followup(
        "review", "accept", cycle_name, asked, "--agency", returned["agency"], "--today", next_day.isoformat()
    )
    followup("review", "thread", cycle_name, "--agency", returned["agency"])
    followup("review", "list", cycle_name)


if __name__ == "__main__":
    try:
        main()
    except DemoFailed as exc:
        console.print(f"[bold red]demo failed:[/] {exc}")
        raise SystemExit(1) from exc
