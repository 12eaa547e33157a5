"""The rules of an agency's answer: how typed text becomes an `Answer`, when it may change, what a save does.

Pure: the portal form and the spreadsheet import both hand in `RawAnswer`s, and `judge_answer`
decides, item by item, whether a save stores it, skips it, reports a conflict or refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from domain.dates import EXAMPLE_DAY, parse_day
from domain.errors import NotFound, ValidationError
from domain.language import N_, Message
from domain.lifecycle import CycleState, ReviewState
from domain.model import (
    Answer,
    MilestoneOutcome,
    MilestoneReport,
    ReportedStatus,
    StatusUpdate,
)

NARRATIVE_MAX = 4000
OBSTACLE_MAX = 2000
EVIDENCE_MAX_LINKS = 10
EVIDENCE_LINK_MAX = 500
NOT_ANSWERED = N_("not answered: choose a status or No change")
# How a date field asks for a date, in each reader's language (English: DATE_HINT).
DATE_HINT_SAID = Message(N_("day, month and year, e.g. %(example)s"), {"example": EXAMPLE_DAY})
WHY_MAX = 500
# One message for every link that does not open a request: unknown, expired, revoked or cancelled
# look the same from outside, so a guesser learns nothing.
UNKNOWN_LINK = "this reply link is not valid"


class CycleTerms(Protocol):
    """What the link and lock rules read of a cycle: a `StockTakeCycle`, or a read model's copy."""

    @property
    def state(self) -> str: ...
    @property
    def deadline(self) -> date: ...
    @property
    def closed_at(self) -> datetime | None: ...


class RequestTerms(Protocol):
    """What the link and lock rules read of a request: a `StatusRequest`, or a read model's copy."""

    @property
    def answered_at(self) -> datetime | None: ...
    @property
    def token_revoked_at(self) -> datetime | None: ...


class StoredAnswerFields(Protocol):
    """What an answer's stored form holds: a `StatusUpdate`, or a read model's row of one."""

    @property
    def reported_status(self) -> str | None: ...
    @property
    def narrative(self) -> str: ...
    @property
    def evidence(self) -> Sequence[str]: ...
    @property
    def next_milestone_date(self) -> date | None: ...
    @property
    def obstacle(self) -> str: ...
    @property
    def no_change(self) -> bool | None: ...
    @property
    def milestone_reports(self) -> Sequence[Mapping[str, Any]] | None: ...


@dataclass(frozen=True)
class RawMilestone:
    """What was typed about one milestone: an outcome (blank: not reported), a date, a reason."""

    milestone_id: int
    title: str
    outcome: str = ""
    on: str = ""
    why: str = ""


@dataclass(frozen=True)
class RawAnswer:
    """One item's answer as typed (portal form or spreadsheet row), before validation."""

    recommendation_id: int
    status: str = ""
    narrative: str = ""
    evidence: str = ""
    next_milestone_date: str = ""
    obstacle: str = ""
    loaded_version: int | None = None  # None: no concurrency check (e.g. a CSV without versions)
    no_change: bool = False  # "No change since last time": confirms last cycle's status
    milestones: tuple[RawMilestone, ...] = ()

    @property
    def is_blank(self) -> bool:
        """Nothing typed for the item, in any field: not answered yet. Text without a status is not
        blank: it is refused with a reason rather than dropped without a word."""
        typed = (self.status, self.narrative, self.evidence, self.next_milestone_date, self.obstacle)
        milestones = (text for m in self.milestones for text in (m.outcome, m.on, m.why))
        return not (self.no_change or any(text.strip() for text in (*typed, *milestones)))


@dataclass(frozen=True)
class AnswerProblem:
    """What is wrong with one field of one item's answer (`message` in English; `said`, to translate)."""

    code: str
    recommendation_id: int
    field: str
    message: str
    said: Message | None = None
    # A milestone's problem: which milestone, and which of its parts (`MILESTONE_PARTS`).
    milestone: tuple[int, str] | None = None

    @classmethod
    def of(
        cls,
        code: str,
        recommendation_id: int,
        field: str,
        said: Message,
        milestone: tuple[int, str] | None = None,
    ) -> AnswerProblem:
        """A problem worded as a translatable sentence (its English is `message`)."""
        return cls(code, recommendation_id, field, str(said), said, milestone)

    def __str__(self) -> str:
        return f"{self.code} {self.field}: {self.message}"


class InvalidAnswers(ValidationError):
    """Answers that break the rules; `problems` lists every one, nothing was saved."""

    def __init__(self, problems: Sequence[AnswerProblem]) -> None:
        super().__init__("answers", "; ".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class AnswerView:
    """An answer as shown to a person (stored or typed)."""

    status: str
    narrative: str
    evidence: tuple[str, ...] = ()
    next_milestone_date: str = ""
    obstacle: str = ""
    no_change: bool = False
    # (milestone id, outcome, date, why) for each milestone reported on.
    milestones: tuple[tuple[int, str, str, str], ...] = ()
    # Last cycle's answer only: what the agency itself reported when the secretariat assessed it as
    # another status (then `status`), and the secretariat's reason.
    reported_as: str = ""
    assessment_rationale: str = ""

    @property
    def status_label(self) -> str:
        """The status as a label ("In progress"), or the raw text if it is not one."""
        return status_label(self.status)

    @property
    def assessed(self) -> Message | None:
        """ "the secretariat's assessment; you reported Completed" when the status is not the agency's own."""
        if not self.reported_as:
            return None
        reported = Message(status_label(self.reported_as))
        if self.assessment_rationale:
            return Message(
                N_("the secretariat's assessment: “%(why)s”; you reported %(reported)s"),
                {"why": self.assessment_rationale, "reported": reported},
            )
        return Message(N_("the secretariat's assessment; you reported %(reported)s"), {"reported": reported})


def last_answer(
    reported: str, assessed: str | None, narrative: str, rationale: str | None = ""
) -> AnswerView:
    """Last cycle's answer as this cycle shows it and *No change* keeps it: the status on record (the
    secretariat's assessment when it made one, as the stock-take counted it), the agency's own beside it."""
    if assessed and assessed != reported:
        return AnswerView(assessed, narrative, reported_as=reported, assessment_rationale=rationale or "")
    return AnswerView(reported, narrative)


@dataclass(frozen=True)
class Conflict:
    """An item someone else changed after this form was loaded: both answers, nothing overwritten."""

    code: str
    recommendation_id: int
    yours: AnswerView
    stored: AnswerView
    stored_version: int
    stored_by: str
    stored_at: datetime | None


@dataclass(frozen=True)
class Verdict:
    """What a save does with one item: store `answer` (submitted or not), report a conflict, or nothing."""

    answer: Answer | None = None
    submits: bool = False
    conflict: Conflict | None = None
    problems: tuple[AnswerProblem, ...] = ()


SKIP = Verdict()


def statuses() -> list[tuple[str, str]]:
    """The status vocabulary as (value, label) pairs, in the order forms offer them."""
    return [(s.value, s.label) for s in ReportedStatus]


def parse_status(text: str) -> ReportedStatus | None:
    """A status from its value or label, case and spacing ignored ("In progress", "in_progress")."""
    normalized = "_".join(text.strip().lower().replace("_", " ").split())
    try:
        return ReportedStatus(normalized)
    except ValueError:
        return None


def label_said(value: str) -> Message | str:
    """A status's or outcome's label as a sentence to translate ("In progress"); other text as typed."""
    status = parse_status(value)
    outcome = parse_outcome(value) if status is None else None
    known = status or outcome
    return Message(known.label) if known else value.strip()


def status_label(value: str) -> str:
    """The label of a status value or label ("In progress"); anything else is returned as it is."""
    status = parse_status(value)
    return status.label if status else value


def stored_answer(update: StoredAnswerFields) -> AnswerView:
    """A stored update (or a row of one) as an answer to show or compare."""
    return AnswerView(
        status=update.reported_status or "",
        narrative=update.narrative,
        evidence=tuple(update.evidence),
        next_milestone_date=update.next_milestone_date.isoformat() if update.next_milestone_date else "",
        obstacle=update.obstacle,
        no_change=bool(update.no_change),
        milestones=tuple(
            (int(m["milestone_id"]), m["outcome"], m.get("on") or "", m.get("why") or "")
            for m in update.milestone_reports or ()
        ),
    )


def typed_answer(raw: RawAnswer, previous_status: str = "") -> AnswerView:
    """A typed answer as it would be stored (status normalised, spacing trimmed), to show or compare."""
    status = parse_status(raw.status)
    shown = status.value if status else raw.status.strip()
    return AnswerView(
        status=previous_status if raw.no_change and not shown else shown,
        narrative=raw.narrative.strip(),
        evidence=tuple(raw.evidence.split()),
        next_milestone_date=_iso_if_date(raw.next_milestone_date.strip()),
        obstacle=raw.obstacle.strip(),
        no_change=raw.no_change,
        milestones=tuple(
            (m.milestone_id, outcome.value, _iso_if_date(m.on.strip()), m.why.strip())
            for m in raw.milestones
            if (outcome := parse_outcome(m.outcome)) is not None
        ),
    )


def _iso_if_date(text: str) -> str:
    """A typed date as stored (2027-03-26), so "26 March 2027" equals it; other text as typed."""
    try:
        return parse_day(text).isoformat()
    except ValueError:
        return text


def parse_outcome(text: str) -> MilestoneOutcome | None:
    """A milestone outcome from its value or label ("Done", "on track"); None when blank or unknown."""
    normalized = "_".join(text.strip().lower().replace("_", " ").split())
    try:
        return MilestoneOutcome(normalized)
    except ValueError:
        return None


def raw_of(update: StatusUpdate) -> RawAnswer:
    """The stored answer typed in again at its version (what a submission sends for an untouched item)."""
    view = stored_answer(update)
    return RawAnswer(
        recommendation_id=update.recommendation_id,
        status=view.status,
        narrative=view.narrative,
        evidence="\n".join(view.evidence),
        next_milestone_date=view.next_milestone_date,
        obstacle=view.obstacle,
        loaded_version=update.version,
        no_change=view.no_change,
        milestones=tuple(
            RawMilestone(milestone_id, "", outcome, on, why)
            for milestone_id, outcome, on, why in view.milestones
        ),
    )


def with_reports_kept(raw: RawAnswer, stored: AnswerView | None) -> RawAnswer:
    """`raw` with what the stored answer reported on milestones `raw` does not mention.

    A milestone reported done or dropped is closed when the answer is submitted, and the form and the
    sheet offer only open ones: a correction sent afterwards, even of another item, must neither drop
    that report nor make a new version of an answer nobody changed.
    """
    if stored is None:
        return raw
    mentioned = {m.milestone_id for m in raw.milestones}
    kept = tuple(
        RawMilestone(milestone_id, "", outcome, on, why)
        for milestone_id, outcome, on, why in stored.milestones
        if milestone_id not in mentioned
    )
    return replace(raw, milestones=(*raw.milestones, *kept)) if kept else raw


def same_answer(raw: RawAnswer, stored: AnswerView) -> bool:
    """Whether the typed answer says exactly what `stored` says (once normalised)."""
    return typed_answer(raw, stored.status) == stored


# The parts of a milestone's report a problem can be in: what happened, its date, why.
MILESTONE_PARTS = ("outcome", "on", "why")


def parse_milestone(raw: RawMilestone) -> tuple[MilestoneReport | None, list[tuple[str, Message]]]:
    """Validate one milestone's report: done needs a date, rescheduled a date and why, dropped why;
    each problem with the part of the report it is in (`MILESTONE_PARTS`)."""
    text = raw.outcome.strip()
    if not text:
        return None, []
    outcome = parse_outcome(text)
    if outcome is None:
        choices = tuple(Message(o.label) for o in MilestoneOutcome)
        said = N_("'%(typed)s' is not a milestone report; choose one of: %(choices)s")
        return None, [("outcome", Message(said, {"typed": text[:30], "choices": choices}))]
    problems: list[tuple[str, Message]] = []
    on = None
    if outcome in (MilestoneOutcome.DONE, MilestoneOutcome.RESCHEDULED):
        try:
            on = parse_day(raw.on)
        except ValueError:
            typed = raw.on.strip()[:20]
            said = {
                (MilestoneOutcome.DONE, True): N_("give when it was done (%(hint)s), not '%(typed)s'"),
                (MilestoneOutcome.DONE, False): N_("give when it was done (%(hint)s)"),
                (MilestoneOutcome.RESCHEDULED, True): N_("give the new date (%(hint)s), not '%(typed)s'"),
                (MilestoneOutcome.RESCHEDULED, False): N_("give the new date (%(hint)s)"),
            }[outcome, bool(typed)]
            problems.append(("on", Message(said, {"hint": DATE_HINT_SAID, "typed": typed})))
        else:
            if not 2000 <= on.year <= 2100:
                problems.append(
                    ("on", Message(N_("%(date)s is not a plausible date"), {"date": on.isoformat()}))
                )
    why = raw.why.strip()
    if outcome == MilestoneOutcome.RESCHEDULED and not why:
        problems.append(("why", Message(N_("say why it was rescheduled"))))
    if outcome == MilestoneOutcome.DROPPED and not why:
        problems.append(("why", Message(N_("say why it was dropped"))))
    if len(why) > WHY_MAX:
        problems.append(
            ("why", Message(N_("the reason may have at most %(max)s characters"), {"max": WHY_MAX}))
        )
    if problems:
        return None, problems
    kept_why = why if outcome != MilestoneOutcome.DONE else ""
    return MilestoneReport(raw.milestone_id, outcome, on, kept_why, raw.title), []


def lock_reason(cycle: CycleTerms, request: RequestTerms, state: str | None, today: date) -> str:
    """Why an item (its answer in review `state`, None if never saved) can no longer be changed, or ''."""
    if cycle.state != CycleState.OPEN:
        return N_("The cycle is closed.")
    if state == ReviewState.ACCEPTED:
        return N_("The secretariat has accepted this answer.")
    if state == ReviewState.RETURNED:
        return ""
    if today > cycle.deadline and request.answered_at is not None:
        return N_("The deadline has passed.")
    return ""


def _is_web_link(link: str) -> bool:
    try:
        parts = urlsplit(link)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # "https://[insert" reads as a broken IPv6 address: not a link, not a crash
        return False


def parse_answer(
    raw: RawAnswer,
    *,
    code: str,
    previous_status: str | None,
    complete: bool,
    previous_narrative: str = "",
) -> tuple[Answer | None, list[AnswerProblem]]:
    """Validate one typed answer against last cycle's; `complete` adds what a submission needs."""
    rid = raw.recommendation_id
    problems: list[AnswerProblem] = []

    def problem(field_name: str, message: str, **values: object) -> None:
        problems.append(AnswerProblem.of(code, rid, field_name, Message(message, values)))

    status = parse_status(raw.status)
    narrative = raw.narrative.strip()
    if raw.no_change:
        # A confirmation keeps last cycle's status and records no text of its own.
        previous = parse_status(previous_status or "")
        if previous is None:
            problem("no_change", N_("there is no answer from last time to confirm: choose a status"))
        elif raw.status.strip() and status != previous:
            problem(
                "no_change",
                N_("No change keeps the status %(previous)s: untick it to report %(status)s"),
                previous=Message(previous.label),
                status=label_said(raw.status),
            )
        elif narrative:
            problem("no_change", N_("No change records a confirmation: untick it to say what changed"))
        status = previous
    elif not raw.status.strip():
        problem("status", N_("choose a status, or No change, to save what you wrote"))
    elif status is None:
        problem(
            "status",
            N_("'%(typed)s' is not a status; choose one of: %(choices)s"),
            typed=raw.status.strip()[:40],
            choices=tuple(Message(label) for _, label in statuses()),
        )
    if len(narrative) > NARRATIVE_MAX:
        problem(
            "narrative",
            N_("at most %(max)s characters (this one has %(length)s)"),
            max=NARRATIVE_MAX,
            length=len(narrative),
        )
    # Last cycle's narrative, typed in again, cannot explain a change of status.
    elif (
        complete
        and status
        and previous_status
        and status.value != previous_status
        and narrative in ("", previous_narrative.strip())
    ):
        problem(
            "narrative",
            N_(
                "required because the status changed from %(previous)s to %(status)s: "
                "say what changed and why"
            ),
            previous=label_said(previous_status),
            status=Message(status.label),
        )
    evidence = tuple(raw.evidence.split())
    if len(evidence) > EVIDENCE_MAX_LINKS:
        problem(
            "evidence",
            N_("at most %(max)s links (this one has %(count)s)"),
            max=EVIDENCE_MAX_LINKS,
            count=len(evidence),
        )
    for link in evidence:
        if len(link) > EVIDENCE_LINK_MAX:
            problem("evidence", N_("a link may have at most %(max)s characters"), max=EVIDENCE_LINK_MAX)
        elif not _is_web_link(link):
            problem("evidence", N_("'%(link)s' is not a web link (http:// or https://)"), link=link[:60])
    next_date = None
    if raw.next_milestone_date.strip():
        try:
            next_date = parse_day(raw.next_milestone_date)
        except ValueError:
            problem(
                "next_milestone_date",
                N_("'%(typed)s' is not a date (%(hint)s)"),
                typed=raw.next_milestone_date.strip()[:20],
                hint=DATE_HINT_SAID,
            )
        else:
            if not 2000 <= next_date.year <= 2100:
                problem(
                    "next_milestone_date", N_("%(date)s is not a plausible date"), date=next_date.isoformat()
                )
    obstacle = raw.obstacle.strip()
    if len(obstacle) > OBSTACLE_MAX:
        problem(
            "obstacle",
            N_("at most %(max)s characters (this one has %(length)s)"),
            max=OBSTACLE_MAX,
            length=len(obstacle),
        )
    elif complete and status == ReportedStatus.BLOCKED and not obstacle:
        problem("obstacle", N_("required when the status is Blocked: say what blocks the work"))
    reports = []
    for raw_milestone in raw.milestones:
        report, issues = parse_milestone(raw_milestone)
        for part, issue in issues:
            said = Message(N_("%(milestone)s: %(issue)s"), {"milestone": raw_milestone.title, "issue": issue})
            problems.append(
                AnswerProblem.of(code, rid, "milestone", said, (raw_milestone.milestone_id, part))
            )
        if report is not None:
            reports.append(report)
    if problems or status is None:
        return None, problems
    answer = Answer(
        recommendation_id=rid,
        status=status,
        narrative=narrative,
        evidence=evidence,
        next_milestone_date=next_date,
        obstacle=obstacle,
        no_change=raw.no_change,
        milestones=tuple(reports),
    )
    return answer, []


def judge_answer(
    raw: RawAnswer | None,
    *,
    code: str,
    recommendation_id: int,
    update: StatusUpdate | None,
    previous: AnswerView | None,
    lock: str,
    submit: bool,
    partial: bool = False,
) -> Verdict:
    """The save decision for one item of a request.

    `raw` is what was sent for it (None: nothing), `update` what is stored, `previous` what the agency
    said last cycle, `lock` why it can no longer change ('' when it can). A submission needs every
    unlocked item answered; a locked item may be re-sent unchanged but not changed (nothing is
    pre-filled from last cycle, so what is sent is what the agency chose); an unchanged answer is not
    stored again; an item changed by someone else since `raw.loaded_version` is a conflict.
    A `partial` submission (a half-filled spreadsheet) leaves blank items alone: not answered yet.
    """

    def refused(said: Message) -> Verdict:
        return Verdict(problems=(AnswerProblem.of(code, recommendation_id, "status", said),))

    if raw is None or (partial and raw.is_blank):
        return refused(Message(NOT_ANSWERED)) if submit and not lock and not partial else SKIP
    stored = stored_answer(update) if update and update.reported_status else None
    if lock:
        changed = (
            not raw.is_blank
            and stored is not None
            and not same_answer(with_reports_kept(raw, stored), stored)
        )
        locked = Message(N_("%(reason)s It can no longer be changed."), {"reason": Message(lock)})
        return refused(locked) if changed else SKIP
    if raw.is_blank:
        return refused(Message(NOT_ANSWERED)) if submit else SKIP
    raw = with_reports_kept(raw, stored)
    submits = submit or (update is not None and update.state == ReviewState.SUBMITTED)
    last = previous or AnswerView("", "")
    answer, problems = parse_answer(
        raw,
        code=code,
        previous_status=last.status or None,
        previous_narrative=last.narrative,
        complete=submits,
    )
    if answer is None:
        return Verdict(problems=tuple(problems))
    if update is not None and stored is not None and same_answer(raw, stored):
        unchanged = update.state == ReviewState.SUBMITTED or (
            update.state in (ReviewState.DRAFT, ReviewState.RETURNED) and not submits
        )
        if unchanged:
            return SKIP
    if update is not None and stored is not None and raw.loaded_version not in (None, update.version):
        conflict = Conflict(
            code=code,
            recommendation_id=recommendation_id,
            yours=typed_answer(raw, stored.status),
            stored=stored,
            stored_version=update.version,
            stored_by=update.reported_by,
            stored_at=update.reported_at,
        )
        return Verdict(conflict=conflict)
    return Verdict(answer=answer, submits=submits)


def ensure_link_open(request: RequestTerms, cycle: CycleTerms, now: datetime, grace_days: int) -> None:
    """NotFound unless the request's link still opens it: not revoked, cycle open or closed within grace."""
    if request.token_revoked_at is not None or cycle.state in (CycleState.DRAFT, CycleState.CANCELLED):
        raise NotFound(UNKNOWN_LINK)
    if cycle.state == CycleState.CLOSED:
        closed_at = _aware(cycle.closed_at) or datetime.combine(cycle.deadline, datetime.min.time(), UTC)
        if now > closed_at + timedelta(days=grace_days):
            raise NotFound(UNKNOWN_LINK)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
