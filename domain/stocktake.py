"""The stock-take report as data: what each owner said, what the secretariat assessed, what changed.

Everything here is pure: the service hands in plain records (recommendations, the cycle's items,
this and the previous cycle's answers, milestones) and `today`; renderers only format the result.
The executive summary is generated here as sentences, so every format says the same thing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from domain.lifecycle import ReviewState
from domain.model import LabelledEnum, Milestone, OwnerRole, RecommendationKind, ReportedStatus
from domain.policies import request_overdue, roll_up

NO_ANSWER = "no_answer"
NO_ANSWER_LABEL = "No answer"

# The order statuses are counted and charted in: finished first, then active, then stuck.
STATUS_ORDER: tuple[str, ...] = (
    ReportedStatus.COMPLETED,
    ReportedStatus.ONGOING,
    ReportedStatus.IN_PROGRESS,
    ReportedStatus.NOT_STARTED,
    ReportedStatus.BLOCKED,
    ReportedStatus.NO_LONGER_APPLICABLE,
    NO_ANSWER,
)

# Answers the agency has sent to the secretariat (a draft is still the agency's own business).
REPORTED_STATES = frozenset({ReviewState.SUBMITTED, ReviewState.RETURNED, ReviewState.ACCEPTED})


def status_label(status: str | None) -> str:
    """Human label of a status value, "No answer" for None."""
    if status is None or status == NO_ANSWER:
        return NO_ANSWER_LABEL
    return ReportedStatus(status).label


class Change(LabelledEnum):
    """How a recommendation moved since the previous cycle (first matching rule wins)."""

    NEWLY_COMPLETED = "newly_completed"
    NEWLY_BLOCKED = "newly_blocked"
    NEWLY_OVERDUE = "newly_overdue"
    NOT_ANSWERED = "not_answered"
    FIRST_REPORT = "first_report"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


# Input records: the service passes database rows, tests may pass domain objects.
class RecommendationRecord(Protocol):
    id: int
    source: str
    code: str
    kind: str
    text: str
    position: int
    agenda_point: int | None
    agenda_title: str | None
    theme: str | None


class ItemRecord(Protocol):
    recommendation_id: int
    agency_code: str
    role: str


class StatusRecord(Protocol):
    recommendation_id: int
    agency_code: str
    state: str
    reported_status: str | None
    assessed_status: str | None


class UpdateRecord(StatusRecord, Protocol):
    assessment_rationale: str
    narrative: str
    evidence: list[str]
    obstacle: str
    next_milestone_date: date | None
    reported_by: str
    reported_at: datetime | None
    channel: str | None


@dataclass(frozen=True)
class CycleInfo:
    """The facts about a cycle the report needs."""

    name: str
    hlcp_session: str | None
    deadline: date
    launched_at: datetime | None = None

    @property
    def title(self) -> str:
        """How the report refers to the cycle: its HLCP session when it has one."""
        return self.hlcp_session or self.name


@dataclass(frozen=True)
class OwnerPart:
    """One owner's part of a recommendation: its own claim and the secretariat's assessment."""

    agency_code: str
    agency_name: str
    role: str
    reported_status: str | None
    assessed_status: str | None
    assessment_rationale: str
    review_state: str | None
    narrative: str
    evidence: tuple[str, ...]
    obstacle: str
    next_milestone_date: date | None
    reported_on: date | None
    reported_by: str
    channel: str | None

    @property
    def answered(self) -> bool:
        return self.reported_status is not None

    @property
    def is_lead(self) -> bool:
        return self.role == OwnerRole.LEAD

    @property
    def disagrees(self) -> bool:
        """The secretariat's assessed status differs from the agency's self-reported one."""
        return self.assessed_status is not None and self.assessed_status != self.reported_status

    @property
    def effective_status(self) -> str | None:
        """What the report counts: the assessed status when there is one, else the self-reported."""
        return self.assessed_status or self.reported_status


@dataclass(frozen=True)
class MilestoneLine:
    """A milestone as the report shows it."""

    title: str
    due_date: date
    state: str
    agency_code: str | None
    overdue: bool


@dataclass(frozen=True)
class ItemReport:
    """One recommendation in the report."""

    code: str
    kind: str
    text: str
    theme: str | None
    owners: tuple[OwnerPart, ...]
    rolled_up_status: str | None
    previous_status: str | None
    milestones: tuple[MilestoneLine, ...]
    change: Change | None

    @property
    def answered(self) -> bool:
        return self.rolled_up_status is not None

    @property
    def status_key(self) -> str:
        """The rolled-up status, or NO_ANSWER: the key the counts and charts use."""
        return self.rolled_up_status or NO_ANSWER

    @property
    def disagreement(self) -> bool:
        return any(o.disagrees for o in self.owners)

    @property
    def overdue_milestones(self) -> tuple[MilestoneLine, ...]:
        return tuple(m for m in self.milestones if m.overdue)

    @property
    def evidence(self) -> tuple[str, ...]:
        """Every owner's evidence links, lead's first, without repeats."""
        return tuple(dict.fromkeys(link for o in self.owners for link in o.evidence))

    @property
    def roll_up_parts(self) -> str:
        """The roll-up with its parts: "UNICEF (lead): Completed; ILO: In progress"."""
        return "; ".join(
            f"{o.agency_code}{' (lead)' if o.is_lead else ''}: {status_label(o.effective_status)}"
            for o in self.owners
        )


@dataclass(frozen=True)
class Section:
    """One agenda point (or the strategic recommendations), in the source report's order."""

    key: str
    title: str
    items: tuple[ItemReport, ...]

    def status_counts(self) -> dict[str, int]:
        """Rolled-up status counts, every status in STATUS_ORDER present (zeros included)."""
        counts = Counter(item.status_key for item in self.items)
        return {status: counts.get(status, 0) for status in STATUS_ORDER}


@dataclass(frozen=True)
class AgencyResponse:
    """How far one agency answered its consolidated request."""

    code: str
    name: str
    items_asked: int
    items_answered: int
    overdue: bool

    @property
    def rate(self) -> int:
        """Share of its items the agency reported on, in whole percent."""
        return percent(self.items_answered, self.items_asked)


@dataclass(frozen=True)
class Summary:
    """The headline figures."""

    recommendations: int
    answered: int
    status_counts: dict[str, int]
    change_counts: dict[str, int]
    agencies: int
    agencies_answered: int
    overdue_milestones: int
    overdue_items: int
    disagreements: int

    @property
    def answered_rate(self) -> int:
        return percent(self.answered, self.recommendations)


@dataclass(frozen=True)
class StockTake:
    """The whole stock-take report of one cycle, ready to render."""

    title: str
    source_titles: tuple[str, ...]
    cycle: CycleInfo
    previous: CycleInfo | None
    produced_on: date
    sections: tuple[Section, ...]
    agencies: tuple[AgencyResponse, ...]
    summary: Summary
    sentences: tuple[str, ...]
    method: tuple[str, ...] = field(default=())

    @property
    def items(self) -> list[ItemReport]:
        return [item for section in self.sections for item in section.items]

    @property
    def agencies_not_answered(self) -> list[AgencyResponse]:
        """Agencies that left some or all of their items unanswered, fewest answers first."""
        missing = [a for a in self.agencies if a.items_answered < a.items_asked]
        return sorted(missing, key=lambda a: (a.rate, a.code))

    @property
    def overdue_items(self) -> list[ItemReport]:
        return [item for item in self.items if item.overdue_milestones]

    def status_by_section(self) -> list[tuple[str, dict[str, int]]]:
        """The numbers behind the status table and the stacked-bar chart."""
        return [(section.title, section.status_counts()) for section in self.sections]

    def response_by_agency(self) -> list[tuple[str, int]]:
        """The numbers behind the response-rate table and chart: (agency code, percent)."""
        return [(a.code, a.rate) for a in self.agencies]


def long_date(day: date | None) -> str:
    """ "2 March 2026"; empty for None."""
    return f"{day.day} {day:%B %Y}" if day is not None else ""


def percent(part: int, whole: int) -> int:
    """Whole percent, rounded half up; 0 of 0 is 0%."""
    return (part * 200 + whole) // (2 * whole) if whole else 0


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 recommendation", "3 recommendations"."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def _part(update: UpdateRecord | None, agency_code: str, agency_name: str, role: str) -> OwnerPart:
    """The owner's part as reported; drafts and missing answers count as not answered."""
    reported = update is not None and update.state in REPORTED_STATES and update.reported_status
    if update is None or not reported:
        return OwnerPart(
            agency_code=agency_code,
            agency_name=agency_name,
            role=role,
            reported_status=None,
            assessed_status=None,
            assessment_rationale="",
            review_state=update.state if update else None,
            narrative="",
            evidence=(),
            obstacle="",
            next_milestone_date=None,
            reported_on=None,
            reported_by="",
            channel=None,
        )
    return OwnerPart(
        agency_code=agency_code,
        agency_name=agency_name,
        role=role,
        reported_status=update.reported_status,
        assessed_status=update.assessed_status,
        assessment_rationale=update.assessment_rationale or "",
        review_state=update.state,
        narrative=update.narrative or "",
        evidence=tuple(update.evidence or ()),
        obstacle=update.obstacle or "",
        next_milestone_date=update.next_milestone_date,
        reported_on=_utc_date(update.reported_at),
        reported_by=update.reported_by or "",
        channel=update.channel,
    )


def effective_status(update: StatusRecord | None) -> str | None:
    """What an answer counts as: the assessed status if any, else the self-reported; None if not sent."""
    if update is None or update.state not in REPORTED_STATES:
        return None
    return update.assessed_status or update.reported_status


def _utc_date(moment: datetime | None) -> date | None:
    """The UTC calendar day of a timestamp (naive ones are stored in UTC already)."""
    if moment is None:
        return None
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def _rolled_up(parts: Sequence[tuple[str, str | None]]) -> str | None:
    status = roll_up(parts) if parts else None
    return status.value if status is not None else None


def change_since(
    *, current: str | None, previous: str | None, overdue_now: bool, overdue_before: bool
) -> Change:
    """Classify a recommendation's move since the previous cycle (the rules are in the method annex)."""
    if current == ReportedStatus.COMPLETED and previous != ReportedStatus.COMPLETED:
        return Change.NEWLY_COMPLETED
    if current == ReportedStatus.BLOCKED and previous != ReportedStatus.BLOCKED:
        return Change.NEWLY_BLOCKED
    if overdue_now and not overdue_before:
        return Change.NEWLY_OVERDUE
    if current is None:
        return Change.NOT_ANSWERED
    if previous is None:
        return Change.FIRST_REPORT
    return Change.UNCHANGED if current == previous else Change.CHANGED


def _section_key(rec: RecommendationRecord) -> tuple[int, int, str]:
    # Strategic recommendations come first, as in the source report; then agenda points in order.
    if rec.kind == RecommendationKind.STRATEGIC:
        return (0, 0, "strategic")
    if rec.agenda_point is None:
        return (2, 0, "other")
    return (1, rec.agenda_point, f"point-{rec.agenda_point}")


def _section_title(rec: RecommendationRecord) -> str:
    if rec.kind == RecommendationKind.STRATEGIC:
        return "Strategic recommendations"
    if rec.agenda_point is None:
        return "Other recommendations"
    title = f"Agenda point {rec.agenda_point}"
    return f"{title}: {rec.agenda_title}" if rec.agenda_title else title


def assemble_stocktake(
    *,
    cycle: CycleInfo,
    previous: CycleInfo | None,
    today: date,
    recommendations: Iterable[RecommendationRecord],
    items: Iterable[ItemRecord],
    agency_names: Mapping[str, str],
    updates: Iterable[UpdateRecord],
    previous_updates: Iterable[StatusRecord] = (),
    milestones: Iterable[Milestone] = (),
    source_titles: Sequence[str] = (),
) -> StockTake:
    """Assemble the report of `cycle` as of `today`, compared with `previous` (None: first cycle)."""
    owners_of: dict[int, list[ItemRecord]] = defaultdict(list)
    for item in items:
        owners_of[item.recommendation_id].append(item)
    current = {(u.recommendation_id, u.agency_code): u for u in updates}
    before = {(u.recommendation_id, u.agency_code): u for u in previous_updates}
    milestones_of: dict[int, list[Milestone]] = defaultdict(list)
    for milestone in milestones:
        milestones_of[milestone.recommendation_id].append(milestone)

    grouped: dict[tuple[int, int, str], tuple[str, list[ItemReport]]] = {}
    ordered = sorted(
        (r for r in recommendations if r.id in owners_of),
        key=lambda r: (_section_key(r), r.source, r.position, r.code),
    )
    for rec in ordered:
        # Lead first, then contributors by code: the order owners are listed in everywhere.
        owners = sorted(owners_of[rec.id], key=lambda i: (i.role != OwnerRole.LEAD, i.agency_code))
        parts = tuple(
            _part(
                current.get((rec.id, o.agency_code)),
                o.agency_code,
                agency_names.get(o.agency_code, ""),
                o.role,
            )
            for o in owners
        )
        previous_parts = [(o.role, effective_status(before.get((rec.id, o.agency_code)))) for o in owners]
        lines = tuple(
            MilestoneLine(m.title, m.due_date, m.state, m.agency_code, m.is_overdue_on(today))
            for m in sorted(milestones_of[rec.id], key=lambda m: (m.due_date, m.title))
        )
        rolled = _rolled_up([(p.role, p.effective_status) for p in parts])
        previous_status = _rolled_up(previous_parts) if previous else None
        change = None
        if previous is not None:
            change = change_since(
                current=rolled,
                previous=previous_status,
                overdue_now=any(line.overdue for line in lines),
                overdue_before=any(m.is_overdue_on(previous.deadline) for m in milestones_of[rec.id]),
            )
        report = ItemReport(
            code=rec.code,
            kind=rec.kind,
            text=rec.text,
            theme=rec.theme,
            owners=parts,
            rolled_up_status=rolled,
            previous_status=previous_status,
            milestones=lines,
            change=change,
        )
        grouped.setdefault(_section_key(rec), (_section_title(rec), []))[1].append(report)

    sections = tuple(
        Section(key=key[2], title=title, items=tuple(reports))
        for key, (title, reports) in sorted(grouped.items())
    )
    agencies = _agency_responses(sections, agency_names, cycle=cycle, today=today)
    all_items = [item for section in sections for item in section.items]
    status_counts = Counter(item.status_key for item in all_items)
    changes = Counter(item.change.value for item in all_items if item.change is not None)
    summary = Summary(
        recommendations=len(all_items),
        answered=sum(1 for item in all_items if item.answered),
        status_counts={status: status_counts.get(status, 0) for status in STATUS_ORDER},
        change_counts={change.value: changes.get(change.value, 0) for change in Change},
        agencies=len(agencies),
        agencies_answered=sum(1 for a in agencies if a.items_answered),
        overdue_milestones=sum(len(item.overdue_milestones) for item in all_items),
        overdue_items=sum(1 for item in all_items if item.overdue_milestones),
        disagreements=sum(1 for item in all_items for o in item.owners if o.disagrees),
    )
    return StockTake(
        title=f"Stock-take of follow-up action: {cycle.title}",
        source_titles=tuple(source_titles),
        cycle=cycle,
        previous=previous,
        produced_on=today,
        sections=sections,
        agencies=agencies,
        summary=summary,
        sentences=executive_summary(summary, agencies, cycle=cycle, previous=previous),
        method=method_text(cycle=cycle, previous=previous, today=today),
    )


def _agency_responses(
    sections: Sequence[Section], names: Mapping[str, str], *, cycle: CycleInfo, today: date
) -> tuple[AgencyResponse, ...]:
    asked: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    for section in sections:
        for item in section.items:
            for owner in item.owners:
                asked[owner.agency_code] += 1
                answered[owner.agency_code] += owner.answered
    return tuple(
        AgencyResponse(
            code=code,
            name=names.get(code, ""),
            items_asked=asked[code],
            items_answered=answered[code],
            overdue=request_overdue(
                deadline=cycle.deadline, today=today, answered=answered[code] == asked[code]
            ),
        )
        for code in sorted(asked)
    )


def _join(phrases: Sequence[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def executive_summary(
    summary: Summary, agencies: Sequence[AgencyResponse], *, cycle: CycleInfo, previous: CycleInfo | None
) -> tuple[str, ...]:
    """The executive summary as sentences generated from the figures."""
    s = summary
    sentences = []
    if not s.recommendations:
        return (f"No recommendation was part of the {cycle.title} stock-take.",)
    reported = (
        f"{s.answered} of {plural(s.recommendations, 'recommendation')} ({s.answered_rate}%) "
        f"{'was' if s.answered == 1 else 'were'} reported on by their owners"
    )
    if previous is None:
        sentences.append(
            f"{reported}; this is the first stock-take, so there is no earlier cycle to compare."
        )
    else:
        c = s.change_counts
        sentences.append(
            f"{reported}; {c[Change.NEWLY_COMPLETED]} {'is' if c[Change.NEWLY_COMPLETED] == 1 else 'are'} "
            f"newly completed since {previous.title}, {c[Change.NEWLY_BLOCKED]} newly blocked "
            f"and {c[Change.NEWLY_OVERDUE]} newly overdue."
        )
        sentences.append(
            f"Since {previous.title}, {plural(c[Change.CHANGED], 'recommendation')} changed status, "
            f"{c[Change.UNCHANGED]} {'is' if c[Change.UNCHANGED] == 1 else 'are'} unchanged, "
            f"{c[Change.FIRST_REPORT]} reported for the first time "
            f"and {c[Change.NOT_ANSWERED]} went unanswered."
        )
    counted = [
        f"{count} {status_label(status).lower()}"
        for status, count in s.status_counts.items()
        if count and status != NO_ANSWER
    ]
    if counted:
        sentences.append(f"By rolled-up status, {_join(counted)}.")
    silent = [a.code for a in agencies if not a.items_answered]
    in_full = sum(1 for a in agencies if a.items_asked and a.items_answered == a.items_asked)
    in_full_text = "all in full; " if in_full == s.agencies_answered else f"{in_full} in full; "
    agencies_sentence = (
        f"{s.agencies_answered} of {plural(s.agencies, 'agency', 'agencies')} answered "
        f"({in_full_text if s.agencies_answered else ''}reply deadline {long_date(cycle.deadline)})"
    )
    if silent:
        named = _join(silent) if len(silent) <= 5 else f"{len(silent)} agencies"
        agencies_sentence += f"; {named} did not answer (Annex A)"
    sentences.append(agencies_sentence + ".")
    if s.overdue_milestones:
        sentences.append(
            f"{plural(s.overdue_milestones, 'milestone')} {'is' if s.overdue_milestones == 1 else 'are'} "
            f"overdue across {plural(s.overdue_items, 'recommendation')} (Annex B)."
        )
    else:
        sentences.append("No milestone is overdue.")
    if s.disagreements:
        sentences.append(
            f"The secretariat's assessment differs from the owner's own status on "
            f"{plural(s.disagreements, 'answer')}; both are shown side by side."
        )
    return tuple(sentences)


def method_text(*, cycle: CycleInfo, previous: CycleInfo | None, today: date) -> tuple[str, ...]:
    """How the report's statuses, roll-ups, changes and overdue marks are computed."""
    statuses = ", ".join(status_label(s) for s in STATUS_ORDER if s != NO_ANSWER)
    comparison = (
        f"Changes compare this cycle with {previous.title}, the latest cycle launched before it."
        if previous
        else "This is the first stock-take cycle, so no change since a previous cycle is shown."
    )
    return (
        f"Statuses: {statuses}. Each owner reports its own status for its part of a recommendation; "
        "only answers submitted to the secretariat count (drafts do not).",
        "Assessed status: when the secretariat reviews an answer it may set its own status with a "
        "rationale. Where it differs from the owner's self-reported status, both are shown and the "
        "item is flagged as a disagreement. Counts and roll-ups use the assessed status where there is one.",
        "Roll-up: a recommendation is Completed only when every owner's part is completed or no longer "
        "applicable; No longer applicable when all parts are; otherwise it takes the lead owner's "
        "status (or the first answering owner's when the lead has not answered), and a finished lead "
        "with an unfinished contributor counts as In progress.",
        comparison + " The first matching rule applies: newly completed, newly blocked, newly overdue "
        "(overdue now but not at the previous cycle's deadline), not answered, reported for the first "
        "time, changed, unchanged.",
        f"Overdue: a milestone is overdue when its due date is before {long_date(today)} (the date "
        "this report was produced) and it is neither done nor cancelled. An agency is overdue when it "
        f"has unanswered items after the reply deadline, {long_date(cycle.deadline)}.",
    )
