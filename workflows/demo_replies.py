"""The demo's agencies answering: through the portal's service or a spreadsheet, and the review.

Each agency answers as the demo script (`db/seed/demo-replies.yaml`) says, through the same use
cases as the portal; the secretariat's review runs the very `followup` commands a member types.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from workflows import bootstrap
from workflows.cli.base import console
from workflows.demo_console import DemoFailed, followup, followup_for_each
from workflows.settings import get_settings

EVIDENCE_NAME = "Note on the re-answered item.txt"


@dataclass(frozen=True)
class AgencyReply:
    """How one agency answers in one demo cycle (answers in item order, or for the item `code` names)."""

    agency: str
    channel: str
    answered_on: date
    answers: list[dict[str, Any]]
    milestones: list[dict[str, Any]]


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

    from notifications.i18n import translator
    from workflows.services import reply_template

    settings = get_settings()
    with bootstrap.uow() as uow:  # the sheet is in the agency's language: read and fill it in that language
        words = translator(uow.agencies.require(reply.agency).reply_language)
    download = settings.home / "agency-files" / f"{reply.agency}-{cycle_name.replace(' ', '-')}.xlsx"
    followup("reply", "template", cycle_name, "--agency", reply.agency, "--out", str(download))
    book = load_workbook(download)
    sheet = book.active
    assert sheet is not None
    headers = [cell.value for cell in sheet[reply_template.HEADER_ROW]]
    column = {c.key: headers.index(words.gettext(c.header)) + 1 for c in reply_template.COLUMNS}
    rows = range(reply_template.HEADER_ROW + 1, sheet.max_row + 1)
    items = [row for row in rows if sheet.cell(row, column["code"]).value]
    layout = [
        (str(sheet.cell(row, column["code"]).value), bool(sheet.cell(row, column["previous_status"]).value))
        for row in items
    ]
    for row, given in zip(items, _answers_for(layout, reply), strict=True):
        sheet.cell(row, column["status"]).value = (
            words.status_label(given["status"]) if given["status"] else None
        )
        for key in ("narrative", "obstacle"):
            sheet.cell(row, column[key]).value = given[key] or None
        sheet.cell(row, column["no_change"]).value = (
            words.gettext(reply_template.YES) if given["no_change"] else None
        )
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
    from workflows.services.evidence import EvidenceChanges, Upload

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
    followup_for_each(
        [reply.agency for reply in replies], "review", "accept-all", cycle_name, "--today", day.isoformat()
    )

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
    # With its evidence: a small text file, attached as the reply page attaches one.
    minutes = Upload(item.recommendation_id, EVIDENCE_NAME, io.BytesIO(f"{answer.narrative}\n".encode()))
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
        evidence=EvidenceChanges((minutes,)),
        store=bootstrap.evidence_store(),
    )
    console.print(
        f"[green]{returned['agency']}[/] answered the question on {asked} through the portal on {next_day}, "
        f"attaching '{EVIDENCE_NAME}'."
    )
    followup(
        "review", "accept", cycle_name, asked, "--agency", returned["agency"], "--publish-evidence",
        "--today", next_day.isoformat(),
    )  # fmt: skip
    followup("review", "thread", cycle_name, "--agency", returned["agency"])
    followup("review", "list", cycle_name)
