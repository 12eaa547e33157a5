"""Answers that tell the truth, on both backends: how each body answers, closed items, milestones' life.

The registry says who answers (itself, through its chair, or the secretariat); the secretariat closes
and reopens items; a submitted answer moves its milestones; a follow-up calls newly overdue only
what fell due since the cycle began.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select, update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.answers import InvalidAnswers, RawAnswer, RawMilestone
from domain.errors import InvalidTransition, ValidationError
from domain.lifecycle import RequestState
from domain.model import Milestone
from reporting.html import render_html
from tests.factories import add_recommendations
from tests.fakes import FakeNotifier
from tests.support import CYCLE, Scenario, open_page, save
from tests.support import DEADLINE as SCENARIO_DEADLINE
from workflows import bootstrap
from workflows.queries.emails import items_to_list
from workflows.queries.figures import figures_of
from workflows.services import closing, follow_up, replies, review
from workflows.services import launch as launching
from workflows.services.agencies import load_registry
from workflows.services.recommendations import close_item, reopen_item
from workflows.services.reply_template import write_template
from workflows.services.stocktake import build_stocktake

LAUNCH_DAY = date(2026, 3, 2)
DEADLINE = date(2026, 4, 1)
REGISTRY = """
agencies:
  - code: ILO
    name: International Labour Organization
    short_name: ILO
    article: the
    contacts:
      - {name: ILO focal point, email: focal@ilo.example.org}
      - {name: ILO head, email: head@ilo.example.org, role: head_of_office}
  - code: GMG
    name: Global Migration Group
    short_name: GMG
    article: the
    answers: {through: ILO}
    contacts:
      - {name: GMG chair's office, email: chair@gmg.example.org}
  - code: HLCP
    name: High-Level Committee on Programmes
    short_name: HLCP
    article: the
    answers: secretariat
    contacts:
      - {name: HLCP secretary, email: secretary@hlcp.example.org}
"""


def _bodies(uow: SqlUnitOfWork) -> dict[str, int]:
    load_registry(uow, REGISTRY, source="registry.yaml")
    return add_recommendations(uow, {"A1.1": ["ILO"], "A1.2": ["GMG"], "SR1": ["HLCP"]})


def _launch(uow: SqlUnitOfWork, notifier: FakeNotifier, name: str, day: date = LAUNCH_DAY) -> int:
    result = launching.launch_cycle(
        uow,
        notifier,
        bootstrap.FixedClock(day),
        bootstrap.cycle_config(),
        name=name,
        deadline=day + (DEADLINE - LAUNCH_DAY),
        allow_placeholders=True,  # the registry's example.org addresses: a rehearsal
    )
    return result.cycle_id


def test_the_registry_refuses_a_body_answering_through_one_it_does_not_know(
    settings_env: None, uow: SqlUnitOfWork
) -> None:
    broken = REGISTRY.replace("{through: ILO}", "{through: ZZZ}")
    with pytest.raises(ValidationError, match=r"GMG\.answers: through 'ZZZ': no such agency"):
        load_registry(uow, broken, source="registry.yaml")
    with pytest.raises(ValidationError, match="expected self, secretariat or"):
        load_registry(uow, REGISTRY.replace("answers: secretariat", "answers: nobody"), source="r.yaml")
    with uow:
        assert uow.agencies.list() == []  # all or nothing


def test_the_secretariat_body_gets_no_request_and_the_gmg_is_asked_through_its_chair(
    settings_env: None, uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    _bodies(uow)
    notifier = FakeNotifier()
    cycle_id = _launch(uow, notifier, "Spring 2026")
    with uow:
        requests = {r.agency_code: r.answered_through for r in uow.requests.for_cycle(cycle_id)}
        for request in uow.requests.for_cycle(cycle_id):  # as once their messages left
            request.transition(RequestState.SENT, at=bootstrap.FixedClock(LAUNCH_DAY).now(), by="test")
        uow.commit()
    assert requests == {"GMG": "ILO", "ILO": None}
    sent = {m.context["agency"]["code"]: m for m in notifier.of_kind("status-request")}
    assert sorted(sent) == ["GMG", "ILO"]
    assert sent["GMG"].to == ["focal@ilo.example.org"]
    assert (sent["GMG"].context["agency"]["display"], sent["GMG"].context["through"]["display"]) == (
        "the GMG",
        "the ILO",
    )
    # A re-issued link goes where the first one went: to the chair, naming the GMG.
    replies.reissue_link(
        uow,
        notifier,
        bootstrap.FixedClock(LAUNCH_DAY),
        bootstrap.cycle_config(),
        "Spring 2026",
        "GMG",
        "test",
    )
    again = [m for m in notifier.of_kind("status-request") if m.context["agency"]["code"] == "GMG"][-1]
    assert again is not sent["GMG"] and again.to == ["focal@ilo.example.org"]
    assert again.context["through"]["display"] == "the ILO"
    # Past the deadline: the GMG's chair is escalated to, the HLCP is never chased.
    late = follow_up.follow_up(
        uow, notifier, bootstrap.FixedClock(DEADLINE + timedelta(days=1)), bootstrap.cycle_config()
    )
    escalated = follow_up.follow_up(
        uow, notifier, bootstrap.FixedClock(DEADLINE + timedelta(days=3)), bootstrap.cycle_config()
    )
    assert sorted(late.newly_overdue_requests) == ["Spring 2026:GMG", "Spring 2026:ILO"]
    escalations = {m.context["agency"]["code"]: m.to for m in notifier.of_kind("escalation")}
    assert escalations == {"GMG": ["head@ilo.example.org"], "ILO": ["head@ilo.example.org"]}
    assert len(escalated.escalations) == 2
    # Closing: the summary names the late bodies as running text does; the HLCP is not among them.
    closed = closing.close_cycle(
        lambda: uow,
        lambda _uow: bootstrap.notifier(_uow, bootstrap.FixedClock(DEADLINE + timedelta(days=4))),
        bootstrap.FixedClock(DEADLINE + timedelta(days=4)),
        bootstrap.cycle_config(),
        cycle_name="Spring 2026",
        inbox_dir=tmp_path / "inbox",
        reports_dir=tmp_path / "reports",
        formats=["md"],
    )
    assert closed.summary_enqueued
    with uow:
        [summary] = uow.session.execute(
            select(tables.outbox.c.body_text).where(tables.outbox.c.kind == "cycle-summary")
        ).all()
    assert "  - The GMG (Global Migration Group)\n" in summary.body_text
    assert "High-Level Committee" not in summary.body_text


def test_the_secretariat_answers_for_the_hlcp_and_the_report_says_so_instead_of_zero_percent(
    settings_env: None, uow: SqlUnitOfWork
) -> None:
    _bodies(uow)
    _launch(uow, FakeNotifier(), "Spring 2026")
    clock = bootstrap.FixedClock(LAUNCH_DAY + timedelta(days=5))
    with uow:
        before = build_stocktake(uow, "Spring 2026", today=clock.today())
    # Before the secretariat answers, nothing says it did.
    assert before.figures.bodies_answered_by_secretariat == 0
    assert not any("reported on the items of the HLCP" in str(s) for s in before.sentences)
    assert any(
        "The secretariat answers for the HLCP itself and has not reported on its items" in str(s)
        for s in before.sentences
    )
    assert "not answered by the secretariat</td>" in render_html(before)
    [done] = review.answer_for_body(
        uow, clock, "Spring 2026", ["SR1"], "HLCP", status="ongoing", narrative="Tabled at HLCP 51.", by="sec"
    )
    assert (done.state, done.reported_status) == ("accepted", "ongoing")
    with pytest.raises(ValidationError, match="ILO answers for itself"):
        review.answer_for_body(
            uow, clock, "Spring 2026", "A1.1", "ILO", status="ongoing", narrative="", by="s"
        )
    with uow:
        stocktake = build_stocktake(uow, "Spring 2026", today=clock.today())
    hlcp = next(a for a in stocktake.agencies if a.code == "HLCP")
    assert hlcp.by_secretariat and not hlcp.overdue
    assert (stocktake.figures.agencies, stocktake.figures.bodies_answered_by_secretariat) == (2, 1)
    [sr1] = [item for item in stocktake.items if item.code == "SR1"]
    assert sr1.owners[0].answer_notes == ("answered by the secretariat",)
    assert any(
        "The secretariat reported on the items of the HLCP itself" in str(s) for s in stocktake.sentences
    )
    assert "HLCP" not in [a.code for a, _ in stocktake.unreported]
    html = render_html(stocktake)  # the response chart leaves the HLCP out, the table says who answered
    assert "<td>HLCP</td><td>High-Level Committee on Programmes</td>" in html
    assert "answered by the secretariat</td>" in html


def test_a_closed_item_leaves_the_next_cycle_and_a_reopened_one_comes_back_with_its_history(
    settings_env: None, uow: SqlUnitOfWork
) -> None:
    _bodies(uow)
    notifier = FakeNotifier()
    _launch(uow, notifier, "Spring 2026")
    clock = bootstrap.FixedClock(LAUNCH_DAY + timedelta(days=40))
    moved = close_item(uow, clock, "A1.1", how="implemented", why="Evaluated in 2026.", by="secretariat")
    assert (moved.before, moved.after) == ("active", "implemented")
    with uow:
        closed = build_stocktake(uow, "Spring 2026", today=clock.today()).closed
        the_day_before = build_stocktake(uow, "Spring 2026", today=clock.today() - timedelta(days=1))
        shown_the_day_before = figures_of(uow.session, "Spring 2026", today=clock.today() - timedelta(days=1))
    assert [(c.code, c.how_label, c.why) for c in closed] == [("A1.1", "Implemented", "Evaluated in 2026.")]
    # A report of an earlier day (a closed cycle's, written again) neither lists nor counts it.
    assert (the_day_before.closed, the_day_before.figures.closed, shown_the_day_before.closed) == ((), 0, 0)
    autumn = _launch(uow, notifier, "Autumn 2026", LAUNCH_DAY + timedelta(days=180))
    with uow:
        assert [i.code for i in uow.cycle_items.for_agency(autumn, "ILO")] == []
        assert uow.requests.get(autumn, "ILO") is None  # nothing left to ask the ILO
    with pytest.raises(InvalidTransition):
        close_item(uow, clock, "A1.1", how="overtaken", why="Twice.", by="secretariat")
    with pytest.raises(ValidationError, match="'finished' is not a way to close"):
        close_item(uow, clock, "A1.2", how="finished", why="x", by="secretariat")
    reopen_item(uow, clock, "A1.1", why="The guidance was withdrawn.", by="secretariat")
    spring = _launch(uow, notifier, "Spring 2027", LAUNCH_DAY + timedelta(days=365))
    with uow:
        assert [i.code for i in uow.cycle_items.for_agency(spring, "ILO")] == ["A1.1"]
        h = tables.history.c
        moves = uow.session.execute(
            select(h.from_state, h.to_state, h.why).where(h.entity == "recommendation").order_by(h.id)
        ).all()
    assert [tuple(m) for m in moves] == [
        ("active", "implemented", "Evaluated in 2026."),
        ("implemented", "active", "The guidance was withdrawn."),
    ]


def test_only_milestones_falling_due_since_the_cycle_began_are_newly_overdue(
    settings_env: None, uow: SqlUnitOfWork
) -> None:
    ids = _bodies(uow)
    with uow:
        uow.milestones.add(Milestone(recommendation_id=ids["A1.1"], title="Old", due_date=date(2014, 12, 31)))
        uow.milestones.add(Milestone(recommendation_id=ids["A1.1"], title="New", due_date=date(2026, 3, 9)))
        uow.commit()
    _launch(uow, FakeNotifier(), "Spring 2026")
    report = follow_up.follow_up(
        uow, FakeNotifier(), bootstrap.FixedClock(date(2026, 3, 10)), bootstrap.cycle_config()
    )
    assert [(row.agency, row.milestones_overdue) for row in report.overdue_agencies] == [("ILO", 2)]
    assert [m.title for m in report.late_milestones] == ["New"]


def _milestone(s: Scenario) -> Milestone:
    with s.uow:
        found = s.uow.session.scalars(select(Milestone)).one()
        s.uow.session.expunge(found)
        return found


def _with_milestone(
    s: Scenario, outcome: str, on: str = "", why: str = "", version: int = 0
) -> list[RawAnswer]:
    """AAA's three items answered, A1.1 with a report on its milestone (due 1 March, overdue on the 10th)."""
    milestone = _milestone(s)
    report = (RawMilestone(milestone.id or 0, milestone.title, outcome, on, why),)
    values = {
        "A1.1": ("completed", "Meeting held."),
        "A1.2": ("in_progress", "Started."),
        "A2.1": ("ongoing", ""),
    }
    return [
        RawAnswer(
            s.ids[code],
            status=status,
            narrative=narrative,
            loaded_version=version,
            milestones=report if code == "A1.1" else (),
        )
        for code, (status, narrative) in values.items()
    ]


def test_a_submitted_answer_reports_its_milestone_done_and_the_report_no_longer_calls_it_overdue(
    scenario: Scenario,
) -> None:
    s = scenario
    save(s, _with_milestone(s, "done", "2026-02-27"), submit=False)
    assert _milestone(s).state == "planned"  # a draft moves no milestone
    save(s, _with_milestone(s, "done", "2026-02-27", version=1), submit=True)
    milestone = _milestone(s)
    assert (milestone.state, milestone.done_on) == ("done", date(2026, 2, 27))
    (receipt,) = s.outbox("receipt")
    assert "Milestone Expert group meeting: done on 27 February 2026" in str(receipt["body_text"])
    with s.uow:
        stocktake = build_stocktake(s.uow, "2026-spring", today=s.clock.today())
    [item] = [i for i in stocktake.items if i.code == "A1.1"]
    assert [str(m.shown_state) for m in item.milestones] == ["done on 27 February 2026"]
    assert not item.overdue_milestones


@pytest.mark.parametrize(
    ("outcome", "on", "why", "message"),
    [
        ("on_track", "", "", "'Expert group meeting' was due 2026-03-01: say done, rescheduled or dropped"),
        ("done", "2026-04-01", "", "cannot be done on 2026-04-01, a future day"),
        ("rescheduled", "2026-09-30", "", "Expert group meeting: say why it was rescheduled"),
        ("dropped", "", "", "Expert group meeting: say why it was dropped"),
    ],
)
def test_a_milestone_report_that_cannot_be_true_refuses_the_submission_and_keeps_nothing(
    scenario: Scenario, outcome: str, on: str, why: str, message: str
) -> None:
    s = scenario
    with pytest.raises(InvalidAnswers) as refused:
        save(s, _with_milestone(s, outcome, on, why), submit=True)
    assert [(p.code, p.field) for p in refused.value.problems] == [("A1.1", "milestone")]
    assert message in refused.value.problems[0].message
    assert s.update("A1.1") is None and _milestone(s).state == "planned"


def test_a_rescheduled_milestone_takes_its_new_date_and_is_no_longer_overdue(scenario: Scenario) -> None:
    s = scenario
    save(s, _with_milestone(s, "rescheduled", "2026-09-30", "Host country asked to postpone."), submit=True)
    milestone = _milestone(s)
    assert (milestone.state, milestone.due_date, milestone.note) == (
        "planned",
        date(2026, 9, 30),
        "Host country asked to postpone.",
    )
    assert not milestone.is_overdue_on(s.clock.today())


def test_no_change_keeps_last_cycles_status_records_a_confirmation_and_the_report_counts_it_apart(
    scenario: Scenario,
) -> None:
    s = scenario
    answers = [
        RawAnswer(s.ids["A1.1"], no_change=True, loaded_version=0),
        RawAnswer(s.ids["A1.2"], no_change=True, loaded_version=0),
        RawAnswer(s.ids["A2.1"], "ongoing", "Mainstreamed.", loaded_version=0),
    ]
    save(s, answers, submit=True)
    stored = s.update("A1.1")
    assert stored is not None and (stored.status, stored.narrative) == ("in_progress", "")
    with s.uow:
        figures = build_stocktake(s.uow, "2026-spring", today=s.clock.today()).figures
    assert (figures.confirmed, figures.with_news) == (2, 1)


def test_no_change_without_a_previous_answer_or_with_new_text_is_refused(scenario: Scenario) -> None:
    s = scenario
    answers = [
        RawAnswer(s.ids["A1.1"], no_change=True, narrative="Something new.", loaded_version=0),
        RawAnswer(s.ids["A1.2"], "in_progress", "Started.", loaded_version=0),
        RawAnswer(s.ids["A2.1"], no_change=True, loaded_version=0),
    ]
    with pytest.raises(InvalidAnswers) as refused:
        save(s, answers, submit=True)
    assert [(p.code, p.field, p.message) for p in refused.value.problems] == [
        ("A1.1", "no_change", "No change records a confirmation: untick it to say what changed"),
        ("A2.1", "no_change", "there is no answer from last time to confirm: choose a status"),
    ]


def test_last_cycles_answer_is_shown_and_confirmed_as_the_secretariat_assessed_it(
    scenario: Scenario, tmp_path: Path
) -> None:
    s = scenario
    with s.uow:  # AAA reported A1.2 not started last cycle; the secretariat assessed it in progress
        s.uow.session.execute(
            update(tables.status_updates)
            .where(
                tables.status_updates.c.recommendation_id == s.ids["A1.2"],
                tables.status_updates.c.cycle_id != s.cycle_id,
            )
            .values(assessed_status="in_progress", assessment_rationale="A working group was set up.")
        )
        s.uow.commit()
    [item] = [i for group in open_page(s, s.tokens["AAA"]).groups for i in group.items if i.code == "A1.2"]
    assert item.previous is not None and item.previous.status == "in_progress"
    assert str(item.previous.assessed) == (
        "the secretariat's assessment: “A working group was set up.”; you reported Not started"
    )
    save(s, [RawAnswer(s.ids["A1.2"], no_change=True, loaded_version=0)], submit=False)
    stored = s.update("A1.2")
    assert stored is not None and stored.status == "in_progress"  # what the last stock-take counted
    with s.uow:
        cycle = s.uow.cycles.require(CYCLE)
        listed_of = items_to_list(
            s.uow.cycle_items, cycle, s.uow.requests.for_cycle(s.cycle_id), {}, s.config
        )
    [listed] = [i for group in listed_of["AAA"] for i in group["items"] if i["code"] == "A1.2"]
    assert listed["last_status"] == "in_progress" and "you reported Not started" in str(
        listed["last_assessed"]
    )
    sheet = openpyxl.load_workbook(
        write_template(s.uow, s.config, CYCLE, "AAA", tmp_path / "aaa.xlsx")
    ).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = next(row for row in rows if "Previous status" in row)
    [a12] = [row for row in rows if "A1.2" in row]
    assert a12[header.index("Previous status")] == (
        "In progress (the secretariat's assessment: “A working group was set up.”; you reported Not started)"
    )


def test_a_reply_submitted_after_the_deadline_gets_a_receipt_that_says_it_is_now_locked(
    scenario: Scenario,
) -> None:
    s = scenario
    late = bootstrap.FixedClock(SCENARIO_DEADLINE + timedelta(days=2))
    save(s, _with_milestone(s, "done", "2026-02-27"), submit=True, clock=late)
    (receipt,) = s.outbox("receipt")
    assert "can no longer be changed, unless the secretariat returns one" in str(receipt["body_text"])
    assert "You can still change your reply until" not in str(receipt["body_text"])
