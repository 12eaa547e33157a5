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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from workflows import bootstrap
from workflows.cli.base import console
from workflows.demo_console import DemoFailed, Transcript, followup, quiet_output
from workflows.demo_replies import AgencyReply, answer, reply_link, review
from workflows.settings import get_settings

SEED = Path(__file__).resolve().parents[1] / "db" / "seed"
SAMPLE_REPORT = SEED / "CEB-2014-4-Annex-V.md"
REPORT = "CEB/2014/4 Annex V"


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
    # UNHCR reads French and UNODC Spanish: their e-mails, reply pages and reply sheets are in it.
    followup("agencies", "set-language", "UNHCR", "fr")
    followup("agencies", "set-language", "UNODC", "es")
    followup("import", str(SAMPLE_REPORT))
    # The same report as the Word file the secretariat receives: the same items (all unchanged).
    followup("import", str(SEED / "CEB-2014-4-Annex-V.docx"))
    # Some of its recommendations in French (UNHCR's among them), matched by code.
    followup("import", str(SEED / "CEB-2014-4-Annex-V.fr.md"), "--translation-of", REPORT, "--lang", "fr")
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
    # The HLCP meets in spring and autumn: name the open cycle after the next session's season, and
    # number the session as the HLCP does: two a year, HLCP 28 in autumn 2014 (the demo's first cycle).
    spring = today.month >= 7
    year = today.year + 1 if spring else today.year
    name = f"{'Spring' if spring else 'Autumn'} {year}"
    session = f"HLCP {28 + 2 * (year - 2014) - (1 if spring else 0)}"
    followup(
        "cycle",
        "launch",
        name,
        "--deadline",
        (today + timedelta(days=28)).isoformat(),
        "--session",
        session,
        "--allow-placeholders",  # the registry's example.org addresses: the demo is a rehearsal
    )
    link, french = reply_link(name, "ILO"), reply_link(name, "UNHCR")
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
    console.print(f"UNHCR's, in French: {french}", soft_wrap=True)
    _print_prefect_server()


def _print_prefect_server() -> None:
    """Where the demo's flow runs are, in the Prefect UI of the local server it leaves running."""
    from workflows import local_server

    server = local_server.recorded()
    if server is None or not local_server.is_running(server):
        return
    console.print(
        f"The demo's flow runs, in the Prefect UI: {server.ui_url} (the local Prefect server keeps "
        f"running for later flow commands; `PREFECT_HOME={local_server.record_path().parent} "
        ".venv/bin/followup server stop` stops it)",
        soft_wrap=True,
    )


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


if __name__ == "__main__":
    try:
        main()
    except DemoFailed as exc:
        console.print(f"[bold red]demo failed:[/] {exc}")
        raise SystemExit(1) from exc
