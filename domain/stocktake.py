"""The stock-take report as data: what each owner said, what the secretariat assessed, what changed.

Everything here is pure: the service hands in plain records (recommendations, the cycle's items,
this and the previous cycle's answers, milestones) and `today`; renderers only format the result.
The figures (`domain.figures`), the executive summary's sentences and the key highlights are
made here, once, so every format says the same thing: as `Message`s, which each format writes in the
secretariat's language (`domain.language.Words`); `str()` of one is its English.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any, Generic, Protocol, Self, TypeVar, overload

from domain.dates import utc_day
from domain.evidence import StoredFile
from domain.figures import StocktakeFigures, percent
from domain.language import N_, Message, Words, plural_message
from domain.lifecycle import IN_HAND_STATES, MilestoneState, ReviewState
from domain.model import (
    Channel,
    LabelledEnum,
    OwnerRole,
    RecommendationKind,
    ReportedStatus,
    agenda_heading_said,
    milestone_overdue,
)
from domain.policies import PartsTally, request_overdue, roll_up

__all__ = ["StocktakeFigures", "percent"]  # re-exported: renderers import the report's vocabulary here

NO_ANSWER = "no_answer"
NO_ANSWER_LABEL = N_("No answer")

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


@cache  # a handful of values, asked for once per cell of every format
def status_label(status: str | None) -> str:
    """Human label of a status value, "No answer" for None (English: a msgid of the catalogue)."""
    if status is None or status == NO_ANSWER:
        return NO_ANSWER_LABEL
    return ReportedStatus(status).label


class Change(LabelledEnum):
    """How a recommendation's reported status moved since the previous cycle: one category per item.

    Newly completed and newly blocked are kinds of CHANGED (see `ItemReport.newly_completed`);
    overdue milestones are a separate question (`ItemReport.newly_overdue`), not a category.
    """

    CHANGED = "changed"
    UNCHANGED = "unchanged"
    FIRST_REPORT = "first_report"
    NOT_REPORTED = "not_reported"


# The labels of the changes, as the translation catalogue knows them (`Change.label`).
CHANGE_LABELS = (N_("Changed"), N_("Unchanged"), N_("First report"), N_("Not reported"))

# A status in running text, as a recommendation is said to be: "reported A1.2 as completed".
STATUS_WORDS = {
    ReportedStatus.NOT_STARTED: N_("not started"),
    ReportedStatus.IN_PROGRESS: N_("in progress"),
    ReportedStatus.COMPLETED: N_("completed"),
    ReportedStatus.ONGOING: N_("ongoing"),
    ReportedStatus.BLOCKED: N_("blocked"),
    ReportedStatus.NO_LONGER_APPLICABLE: N_("no longer applicable"),
    NO_ANSWER: N_("no answer"),
}


def status_count(status: str, num: int) -> Message:
    """ "3 completed": how many reported recommendations have a status, agreeing with the count."""
    return {
        ReportedStatus.NOT_STARTED: lambda: plural_message("%(num)s not started", "%(num)s not started", num),
        ReportedStatus.IN_PROGRESS: lambda: plural_message("%(num)s in progress", "%(num)s in progress", num),
        ReportedStatus.COMPLETED: lambda: plural_message("%(num)s completed", "%(num)s completed", num),
        ReportedStatus.ONGOING: lambda: plural_message("%(num)s ongoing", "%(num)s ongoing", num),
        ReportedStatus.BLOCKED: lambda: plural_message("%(num)s blocked", "%(num)s blocked", num),
        ReportedStatus.NO_LONGER_APPLICABLE: lambda: plural_message(
            "%(num)s no longer applicable", "%(num)s no longer applicable", num
        ),
    }[ReportedStatus(status)]()


_Owner = TypeVar("_Owner")
_Value = TypeVar("_Value")


class _cached(Generic[_Owner, _Value]):  # a decorator, named like `property`
    """`functools.cached_property` without its lock: Python 3.11 takes one on each first read, which
    cost more than the facts themselves across a hundred thousand items."""

    def __init__(self, compute: Callable[[_Owner], _Value]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> Self: ...
    @overload
    def __get__(self, instance: _Owner, owner: type[Any] | None = None) -> _Value: ...
    def __get__(self, instance: _Owner | None, owner: type[Any] | None = None) -> Self | _Value:
        if instance is None:
            return self
        value = self.compute(instance)
        instance.__dict__[self.name] = value  # found before this descriptor from now on
        return value


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


class MilestoneRecord(Protocol):
    recommendation_id: int
    title: str
    due_date: date
    agency_code: str | None
    state: str
    done_on: date | None

    @property
    def note(self) -> str | None:
        """Why it was last rescheduled or dropped (read-only here, so a `Milestone`'s `str` note fits)."""
        ...


class UpdateRecord(StatusRecord, Protocol):
    assessment_rationale: str
    narrative: str
    evidence: list[str]
    obstacle: str
    next_milestone_date: date | None
    reported_by: str
    reported_at: datetime | None
    channel: str | None
    no_change: bool


@dataclass(frozen=True)
class ClosedItem:
    """A recommendation the secretariat closed: how (implemented, closed, overtaken), why and when."""

    code: str
    text: str
    how: str
    why: str
    closed_on: date | None

    @property
    def short_title(self) -> str:
        """The recommendation's first sentence, condensed."""
        return condense(self.text, 90)

    @property
    def how_label(self) -> str:
        """ "Implemented", "Closed", "Overtaken by events" (a msgid of the catalogue)."""
        return {"implemented": N_("Implemented"), "overtaken": N_("Overtaken by events")}.get(
            self.how, N_("Closed")
        )


# What the evidence annex says before its table, in every format.
EVIDENCE_ANNEX = N_(
    "The files agencies attached to their answers, with the first digits of each file's SHA-256, which "
    "tells a copy from a changed file. The secretariat holds them; those it made public are in the "
    "published record."
)

DEFAULT_ACTION_REQUESTED = N_(
    "The Committee may wish to take note of the present stock-take of follow-up action and "
    "provide guidance on the recommendations that are blocked, overdue or not yet reported on."
)


@dataclass(frozen=True)
class CycleInfo:
    """The facts about a cycle the report needs, including the form of its document."""

    name: str
    hlcp_session: str | None
    deadline: date
    launched_at: datetime | None = None
    symbol: str | None = None
    venue: str | None = None
    document_date: date | None = None
    action_requested: str | None = None

    @property
    def action_text(self) -> Message | str:
        """What the Committee is asked to do: the cycle's own text (as typed), else the default sentence."""
        return self.action_requested or Message(DEFAULT_ACTION_REQUESTED)

    @property
    def title(self) -> str:
        """How the report refers to the cycle: its HLCP session when it has one."""
        return self.hlcp_session or self.name


@dataclass
class OwnerPart:
    """One owner's part of a recommendation: its own claim and the secretariat's assessment.

    Read-only once assembled, though not frozen: a frozen dataclass sets each field through
    `object.__setattr__`, which made the 200,000 parts of a large cycle cost a second more to build.
    """

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
    display: str = ""  # the agency's name at the start of a sentence ("The World Bank")
    no_change: bool = False
    files: tuple[StoredFile, ...] = ()  # evidence files attached to the answer

    @property
    def by_secretariat(self) -> bool:
        """Answered by the secretariat (a coordination body's item), not by the body itself."""
        return self.channel == Channel.SECRETARIAT

    @property
    def answer_notes(self) -> tuple[str, ...]:
        """What the report says beside the status: a confirmation, the secretariat answering (msgids)."""
        notes = (N_("no change since last time"),) if self.no_change else ()
        return notes + ((N_("answered by the secretariat"),) if self.by_secretariat else ())

    @property
    def answered(self) -> bool:
        return self.reported_status is not None

    @property
    def answer_in_hand(self) -> bool:
        """Answered and not sent back with a question: the agency owes nothing more on this part.

        A returned answer's status still counts as reported, but its agency is chased for it and its
        request stays open: Annex I and the overdue requests count it as not answered yet, as
        `cycle show`, `cycle list` and the reminders do.
        """
        return self.answered and self.review_state in IN_HAND_STATES

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
    done_on: date | None = None
    note: str = ""  # why it was last rescheduled or dropped
    owner: str = ""  # its agency's name in running text

    @property
    def shown_state(self) -> Message:
        """Its life in words: "done on 14 November 2014", "dropped (why)", "planned (rescheduled: why)"."""
        if self.state == MilestoneState.DONE:
            return (
                Message(N_("done on %(date)s"), {"date": self.done_on})
                if self.done_on
                else Message(N_("done"))
            )
        if self.state == MilestoneState.CANCELLED:
            return (
                Message(N_("dropped (%(why)s)"), {"why": self.note}) if self.note else Message(N_("dropped"))
            )
        state = Message(N_("overdue") if self.overdue else N_("planned"))
        return (
            Message(N_("%(state)s (rescheduled: %(why)s)"), {"state": state, "why": self.note})
            if self.note
            else state
        )


@dataclass
class ItemReport:
    """One recommendation in the report.

    Its derived facts are cached: every format asks them of every item, several times over.
    Read-only once assembled, though not frozen (see `OwnerPart`).
    """

    code: str
    kind: str
    text: str
    theme: str | None
    owners: tuple[OwnerPart, ...]
    rolled_up_status: str | None
    previous_status: str | None
    milestones: tuple[MilestoneLine, ...]
    change: Change | None
    newly_overdue: bool = False

    @_cached
    def lead(self) -> OwnerPart | None:
        return next((o for o in self.owners if o.is_lead), None)

    @_cached
    def reported(self) -> bool:
        """The lead answered (with no lead: any owner did); contributors' parts alone do not count."""
        lead = self.lead
        return lead.answered if lead is not None else any(o.answered for o in self.owners)

    @_cached
    def status_key(self) -> str:
        """The rolled-up status when reported, else NO_ANSWER: the key the counts and charts use."""
        return (self.rolled_up_status if self.reported else None) or NO_ANSWER

    @property
    def newly_completed(self) -> bool:
        return self.change == Change.CHANGED and self.status_key == ReportedStatus.COMPLETED

    @property
    def newly_blocked(self) -> bool:
        return self.change == Change.CHANGED and self.status_key == ReportedStatus.BLOCKED

    @_cached
    def short_title(self) -> str:
        """The recommendation's first sentence, cut at a word near 90 characters."""
        return condense(self.text, 90)

    @_cached
    def text_beyond_title(self) -> bool:
        """The short title leaves part of the text out (so the text is quoted in full too)."""
        return self.short_title != " ".join(self.text.split())

    @_cached
    def last_answered_on(self) -> date | None:
        """The latest answer of a reported item; None while not reported (a contributor's date beside
        "No answer" would read as an answer the status then denies)."""
        if not self.reported:
            return None
        return max((o.reported_on for o in self.owners if o.reported_on), default=None)

    @_cached
    def confirmed(self) -> bool:
        """Reported, and its lead (with no lead: every answering owner) chose No change since last time."""
        return confirmed_by([(o.role, o.answered, o.no_change) for o in self.owners])

    @_cached
    def needs_narrative(self) -> bool:
        """Shown in full: it changed, is reported for the first time, or is blocked."""
        changed = self.change in (Change.CHANGED, Change.FIRST_REPORT)
        return changed or self.status_key == ReportedStatus.BLOCKED

    @_cached
    def disagreement(self) -> bool:
        return any(o.disagrees for o in self.owners)

    @_cached
    def overdue_milestones(self) -> tuple[MilestoneLine, ...]:
        return tuple(m for m in self.milestones if m.overdue)

    def milestone_owner(self, milestone: MilestoneLine) -> str:
        """The agency that answers for a milestone: its own, else the recommendation's lead (first owner)."""
        return milestone.agency_code or self.owners[0].agency_code

    def overdue_milestones_of(self, owner: OwnerPart) -> int:
        """How many of the overdue milestones `owner` answers for; those of an agency no longer among
        the owners are the lead's (first owner's), so that they sum to the item's overdue ones."""
        if not self.overdue_milestones:  # most items, on every row of the spreadsheet
            return 0
        codes = {o.agency_code for o in self.owners}

        def answering(m: MilestoneLine) -> str:
            found = self.milestone_owner(m)
            return found if found in codes else self.owners[0].agency_code

        return sum(1 for m in self.overdue_milestones if answering(m) == owner.agency_code)

    @_cached
    def evidence(self) -> tuple[str, ...]:
        """Every owner's evidence links, lead's first, without repeats."""
        return tuple(dict.fromkeys(link for o in self.owners for link in o.evidence))

    @_cached
    def evidence_files(self) -> tuple[StoredFile, ...]:
        """Every owner's evidence files, lead's first."""
        return tuple(f for o in self.owners for f in o.files)


@dataclass(frozen=True)
class Section:
    """One agenda point (or the strategic recommendations), in the source report's order."""

    key: str
    title: Message
    items: tuple[ItemReport, ...]
    label: Message  # the title in a chart or a table's row: "Agenda point 3", "Strategic"

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
    display: str = ""  # the name in running text ("the World Bank")
    by_secretariat: bool = False  # a coordination body: the secretariat answers, no request is sent

    @property
    def rate(self) -> int:
        """Share of its items the agency reported on, in whole percent."""
        return percent(self.items_answered, self.items_asked)

    @property
    def response_note(self) -> str | None:
        """What the response column says instead of a rate, for a body the secretariat answers for (msgid)."""
        if not self.by_secretariat:
            return None
        # Its items are counted beside; the note must not say "answered" of a body nobody answered for.
        return (
            N_("answered by the secretariat")
            if self.items_answered
            else N_("not answered by the secretariat")
        )


@dataclass(frozen=True)
class Highlight:
    """One agency's own words on what changed for one recommendation (quoted, condensed)."""

    code: str
    agency_code: str
    status: str
    previous_status: str | None
    quote: str
    agency: str = ""  # its name in running text

    @property
    def text(self) -> Message:
        """ "A1.2 is completed (was in progress): “...” (UNICEF)".

        The status is the recommendation's, as Table 1 counts it; the words are its lead's. A lead that
        reports Completed while a contributor has not finished has an item still in progress: saying
        "UNCTAD reported A2.5 as in progress" would put words in its mouth.
        """
        values: dict[str, object] = {
            "agency": self.agency or self.agency_code,
            "code": self.code,
            "status": Message(STATUS_WORDS[self.status]),
            "quote": self.quote,
        }
        if self.previous_status:
            values["previous"] = Message(STATUS_WORDS[self.previous_status])
            if self.quote:
                return Message(
                    N_("%(code)s is %(status)s (was %(previous)s): “%(quote)s” (%(agency)s)"), values
                )
            return Message(N_("%(code)s is %(status)s (was %(previous)s)"), values)
        if self.quote:
            return Message(N_("%(code)s is %(status)s: “%(quote)s” (%(agency)s)"), values)
        return Message(N_("%(code)s is %(status)s"), values)


@dataclass(frozen=True)
class KeyHighlights:
    """The key highlights of one agenda point: what its agencies reported as changed."""

    section_title: Message
    highlights: tuple[Highlight, ...]
    more: int

    def text(self, words: Words) -> str:
        """The paragraph: the agenda point, then each agency's report, then how many more."""
        body = ". ".join(words.text(h.text) for h in self.highlights)  # a sentence each, in every language
        more = plural_message(
            "%(num)s further change is shown below.", "%(num)s further changes are shown below.", self.more
        )
        tail = f" {words.text(more)}" if self.more else ""
        return f"{words.text(self.section_title)}. {body}.{tail}"


@dataclass(frozen=True)
class StockTake:
    """The whole stock-take report of one cycle, ready to render (its lists of items made once)."""

    title: Message
    source_titles: tuple[str, ...]
    cycle: CycleInfo
    previous: CycleInfo | None
    produced_on: date
    sections: tuple[Section, ...]
    agencies: tuple[AgencyResponse, ...]
    figures: StocktakeFigures
    sentences: tuple[Message, ...]
    highlights: tuple[KeyHighlights, ...] = field(default=())
    method: tuple[Message, ...] = field(default=())
    closed: tuple[ClosedItem, ...] = field(default=())

    @_cached
    def items(self) -> list[ItemReport]:
        return [item for section in self.sections for item in section.items]

    @_cached
    def agencies_not_answered(self) -> list[AgencyResponse]:
        """Agencies that left some or all of their items unanswered, fewest answers first."""
        missing = [a for a in self.agencies if a.items_answered < a.items_asked and not a.by_secretariat]
        return sorted(missing, key=lambda a: (a.rate, a.code))

    @_cached
    def overdue_items(self) -> list[ItemReport]:
        return [item for item in self.items if item.overdue_milestones]

    @_cached
    def newly_completed(self) -> list[ItemReport]:
        return [item for item in self.items if item.newly_completed]

    @_cached
    def blocked(self) -> list[ItemReport]:
        """Blocked recommendations, the newly blocked first."""
        blocked = [item for item in self.items if item.status_key == ReportedStatus.BLOCKED]
        return sorted(blocked, key=lambda item: not item.newly_blocked)

    @_cached
    def other_changes(self) -> list[ItemReport]:
        """Shown in full but neither newly completed nor blocked: other changes, first reports."""
        return [
            item
            for item in self.items
            if item.needs_narrative and not item.newly_completed and item.status_key != ReportedStatus.BLOCKED
        ]

    @_cached
    def compact(self) -> list[ItemReport]:
        """Every recommendation not shown in full: one row each in the annex."""
        return [item for item in self.items if not item.needs_narrative]

    @_cached
    def with_files(self) -> list[tuple[ItemReport, OwnerPart]]:
        """The answers with evidence files, in report order (the evidence annex lists them all)."""
        return [(item, o) for item in self.items for o in item.owners if o.files]

    @_cached
    def disagreements(self) -> list[tuple[ItemReport, OwnerPart]]:
        return [(item, o) for item in self.items for o in item.owners if o.disagrees]

    @_cached
    def unreported(self) -> list[tuple[AgencyResponse, list[str]]]:
        """Lead agencies that did not answer, with the codes they lead, most items first."""
        codes: dict[str, list[str]] = defaultdict(list)
        by_code = {a.code: a for a in self.agencies}
        for item in self.items:
            lead = item.lead
            if not item.reported and lead is not None and not by_code[lead.agency_code].by_secretariat:
                codes[lead.agency_code].append(item.code)
        return sorted(((by_code[c], codes[c]) for c in codes), key=lambda pair: (-len(pair[1]), pair[0].code))

    def status_by_section(self) -> list[tuple[Section, dict[str, int]]]:
        """The numbers behind the status table and the stacked-bar chart."""
        return [(section, section.status_counts()) for section in self.sections]

    def response_by_agency(self) -> list[tuple[str, int]]:
        """The numbers behind the response-rate table and chart: (agency code, percent)."""
        return [(a.code, a.rate) for a in self.agencies if not a.by_secretariat]


@lru_cache(maxsize=1024)  # a report shows the same few days thousands of times
def long_date(day: date | None) -> str:
    """ "2 March 2026"; empty for None."""
    return f"{day.day} {day:%B %Y}" if day is not None else ""


def condense(text: str, limit: int) -> str:
    """The first sentence of `text`, cut at a word boundary before `limit` characters (with "...")."""
    flat = " ".join(text.split())
    end = flat.find(". ")
    first = flat[: end + 1] if end >= 0 else flat
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "\u2026"


def _part(
    update: UpdateRecord | None,
    agency_code: str,
    agency_name: str,
    role: str,
    display: str,
    files: Sequence[StoredFile] = (),
) -> OwnerPart:
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
            display=display,
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
        reported_on=utc_day(update.reported_at),
        reported_by=update.reported_by or "",
        channel=update.channel,
        display=display,
        no_change=bool(update.no_change),
        files=tuple(files),
    )


def effective_status(update: StatusRecord | None) -> str | None:
    """What an answer counts as: the assessed status if any, else the self-reported; None if not sent."""
    if update is None or update.state not in REPORTED_STATES:
        return None
    return update.assessed_status or update.reported_status


@cache  # few distinct combinations of roles and statuses, met once per recommendation and cycle
def _rolled_up(parts: tuple[tuple[str, str | None], ...]) -> str | None:
    status = roll_up(parts) if parts else None
    return status.value if status is not None else None


@cache  # as `_rolled_up`: 200,000 recommendations share a few dozen combinations
def _reported_status(parts: tuple[tuple[str, str | None], ...]) -> str | None:
    """The rolled-up status if the item counts as reported (its lead answered), else None."""
    status = PartsTally.of(parts).reported_status
    return status.value if status is not None else None


def confirmed_by(parts: Sequence[tuple[str, bool, bool]]) -> bool:
    """Whether (role, answered, no change) parts, lead first, confirm last cycle's status: the item is
    reported and its lead (with no lead: every answering owner) chose No change since last time."""
    leads = [part for part in parts if part[0] == OwnerRole.LEAD]
    answering = leads[:1] if leads else [part for part in parts if part[1]]
    return bool(answering) and all(answered and no_change for _, answered, no_change in answering)


def change_since(*, current: str | None, previous: str | None) -> Change:
    """Classify a recommendation's reported status now against the previous cycle's (None: not reported)."""
    if current is None:
        return Change.NOT_REPORTED
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


def _section_title(rec: RecommendationRecord) -> tuple[Message, Message]:
    """The section's heading and its short label ("Agenda point 3", "Strategic") for charts and tables."""
    # The one heading rule; a strategic item is grouped with the strategic ones (`_section_key`)
    # whatever its agenda point, so its heading says so too.
    point = None if rec.kind == RecommendationKind.STRATEGIC else rec.agenda_point
    heading = agenda_heading_said(rec.kind, point, rec.agenda_title)
    if rec.kind == RecommendationKind.STRATEGIC:
        return heading, Message(N_("Strategic"))
    return heading, agenda_heading_said(rec.kind, point, None)


def _milestone_lines(
    records: Sequence[MilestoneRecord], today: date, shown: Mapping[str, str]
) -> tuple[MilestoneLine, ...]:
    """A recommendation's milestones as the report lists them, soonest first."""
    return tuple(
        MilestoneLine(
            m.title,
            m.due_date,
            m.state,
            m.agency_code,
            milestone_overdue(m.state, m.due_date, today),
            m.done_on,
            m.note or "",
            shown.get(m.agency_code, m.agency_code) if m.agency_code else "",
        )
        for m in sorted(records, key=lambda m: (m.due_date, m.title))
    )


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
    milestones: Iterable[MilestoneRecord] = (),
    source_titles: Sequence[str] = (),
    display_names: Mapping[str, str] | None = None,
    answered_by_secretariat: frozenset[str] = frozenset(),
    closed: Sequence[ClosedItem] = (),
    evidence_files: Mapping[tuple[int, str], Sequence[StoredFile]] | None = None,
) -> StockTake:
    """Assemble the report of `cycle` as of `today`, compared with `previous` (None: first cycle).

    `display_names`: how running text names each agency ("the World Bank"; default: its code);
    `answered_by_secretariat`: the bodies the secretariat answers for; `closed`: the closed items;
    `evidence_files`: the files attached to each answer, by (recommendation id, agency code).
    """
    files_of = evidence_files or {}
    shown = {code: display_names.get(code, code) for code in display_names} if display_names else {}
    owners_of: dict[int, list[ItemRecord]] = defaultdict(list)
    # Lead first, then contributors by code: the order owners are listed in everywhere (sorted once).
    for item in sorted(items, key=lambda i: (i.role != OwnerRole.LEAD, i.agency_code)):
        owners_of[item.recommendation_id].append(item)
    # Each agency's names, looked up once per agency rather than once per part.
    codes = {o.agency_code for owners in owners_of.values() for o in owners}
    starts = {code: sentence_start(shown.get(code, code)) for code in codes}
    names = {code: agency_names.get(code, "") for code in codes}
    current = {(u.recommendation_id, u.agency_code): u for u in updates}
    before = {(u.recommendation_id, u.agency_code): u for u in previous_updates}
    milestones_of: dict[int, list[MilestoneRecord]] = defaultdict(list)
    for milestone in milestones:
        milestones_of[milestone.recommendation_id].append(milestone)
    in_section: dict[tuple[int, int, str], list[RecommendationRecord]] = defaultdict(list)
    for rec in recommendations:
        if rec.id in owners_of:
            in_section[_section_key(rec)].append(rec)

    def item_report(rec: RecommendationRecord) -> ItemReport:
        """The recommendation with its owners' parts, roll-up, change and milestones."""
        parts, current_parts, previous_parts = [], [], []
        for o in owners_of[rec.id]:
            answer = (rec.id, o.agency_code)
            part = _part(
                current.get(answer),
                o.agency_code,
                names[o.agency_code],
                o.role,
                starts[o.agency_code],
                files_of.get(answer, ()),
            )
            parts.append(part)
            current_parts.append((o.role, part.effective_status))
            previous_parts.append((o.role, effective_status(before.get(answer))))
        lines = _milestone_lines(milestones_of[rec.id], today, shown)
        now, then = tuple(current_parts), tuple(previous_parts)
        previous_status = _reported_status(then) if previous else None
        change = newly_overdue = None
        if previous is not None:
            change = change_since(current=_reported_status(now), previous=previous_status)
            newly_overdue = any(line.overdue for line in lines) and not any(
                milestone_overdue(m.state, m.due_date, previous.deadline) for m in milestones_of[rec.id]
            )
        return ItemReport(
            code=rec.code,
            kind=rec.kind,
            text=rec.text,
            theme=rec.theme,
            owners=tuple(parts),
            rolled_up_status=_rolled_up(now),
            previous_status=previous_status,
            milestones=lines,
            change=change,
            newly_overdue=bool(newly_overdue),
        )

    sections: list[Section] = []
    for key in sorted(in_section):
        recs = sorted(in_section[key], key=lambda r: (r.source, r.position, r.code))
        title, label = _section_title(recs[0])
        sections.append(Section(key=key[2], title=title, items=tuple(map(item_report, recs)), label=label))

    agencies = _agency_responses(
        sections, agency_names, shown, answered_by_secretariat, cycle=cycle, today=today
    )
    all_items = [item for section in sections for item in section.items]
    figures = compute_figures(all_items, agencies, compared=previous is not None, closed=len(closed))
    return StockTake(
        title=Message(N_("Stock-take of follow-up action: %(cycle)s"), {"cycle": cycle.title}),
        source_titles=tuple(source_titles),
        cycle=cycle,
        previous=previous,
        produced_on=today,
        sections=tuple(sections),
        agencies=agencies,
        figures=figures,
        sentences=executive_summary(figures, agencies, cycle=cycle, previous=previous),
        highlights=key_highlights(sections, shown),
        method=method_text(cycle=cycle, previous=previous, today=today),
        closed=tuple(closed),
    )


@dataclass(frozen=True)
class ItemTally:
    """What the figures read of one recommendation; a grouped query counts recommendations by it."""

    status: str | None
    """Its reported status (`PartsTally.reported_status`); None when not reported."""
    previous: str | None
    """Its reported status in the previous cycle (None: not reported then, or no previous cycle)."""
    confirmed: bool
    """Reported with *No change since last time* (`ItemReport.confirmed`)."""


@dataclass(frozen=True)
class PartCounts:
    """The figures counted over owner parts and milestones rather than recommendations."""

    contributor_parts: int
    contributor_parts_answered: int
    disagreements: int
    items_with_disagreement: int
    overdue_milestones: int
    items_with_overdue_milestones: int
    newly_overdue_items: int


def compute_figures(
    items: Sequence[ItemReport], all_agencies: Sequence[AgencyResponse], *, compared: bool, closed: int = 0
) -> StocktakeFigures:
    """The figures of a stock-take's items and agencies (definitions: `StocktakeFigures`)."""
    contributors = [o for item in items for o in item.owners if not o.is_lead]
    # Counted as plain tuples, then named: hashing a dataclass per recommendation cost more than the count.
    counted = Counter(
        (item.rolled_up_status if item.reported else None, item.previous_status, item.confirmed)
        for item in items
    )
    tallies = {ItemTally(*tally): count for tally, count in counted.items()}
    counts = PartCounts(
        contributor_parts=len(contributors),
        contributor_parts_answered=sum(1 for o in contributors if o.answered),
        disagreements=sum(1 for item in items for o in item.owners if o.disagrees),
        items_with_disagreement=sum(1 for item in items if item.disagreement),
        overdue_milestones=sum(len(item.overdue_milestones) for item in items),
        items_with_overdue_milestones=sum(1 for item in items if item.overdue_milestones),
        newly_overdue_items=sum(1 for item in items if item.newly_overdue),
    )
    return tally_figures(tallies, counts, all_agencies, compared=compared, closed=closed)


def tally_figures(
    tallies: Mapping[ItemTally, int],
    counts: PartCounts,
    all_agencies: Sequence[AgencyResponse],
    *,
    compared: bool,
    closed: int = 0,
) -> StocktakeFigures:
    """The figures from recommendations counted by tally (the one place each figure is computed)."""
    statuses: Counter[str] = Counter()
    changes: Counter[Change] = Counter()
    newly: Counter[str] = Counter()
    for tally, count in tallies.items():
        key = tally.status or NO_ANSWER
        statuses[key] += count
        if compared:
            change = change_since(current=tally.status, previous=tally.previous)
            changes[change] += count
            if change == Change.CHANGED:
                newly[key] += count
    reported = sum(count for tally, count in tallies.items() if tally.status is not None)
    confirmed = sum(count for tally, count in tallies.items() if tally.confirmed)
    # The bodies the secretariat answers for were not asked: they are not in the response figures.
    agencies = [a for a in all_agencies if not a.by_secretariat]
    return StocktakeFigures(
        items=sum(tallies.values()),
        reported=reported,
        contributor_parts=counts.contributor_parts,
        contributor_parts_answered=counts.contributor_parts_answered,
        status_counts={str(status): statuses.get(status, 0) for status in STATUS_ORDER},
        compared=compared,
        changed=changes[Change.CHANGED],
        newly_completed=newly[ReportedStatus.COMPLETED],
        newly_blocked=newly[ReportedStatus.BLOCKED],
        unchanged=changes[Change.UNCHANGED],
        first_report=changes[Change.FIRST_REPORT],
        not_reported=sum(tallies.values()) - reported,
        agencies=len(agencies),
        agencies_answered=sum(1 for a in agencies if a.items_answered),
        agencies_answered_in_full=sum(1 for a in agencies if a.items_answered == a.items_asked),
        overdue_requests=sum(1 for a in agencies if a.overdue),
        overdue_milestones=counts.overdue_milestones,
        items_with_overdue_milestones=counts.items_with_overdue_milestones,
        newly_overdue_items=counts.newly_overdue_items,
        disagreements=counts.disagreements,
        items_with_disagreement=counts.items_with_disagreement,
        confirmed=confirmed,
        with_news=reported - confirmed,
        closed=closed,
        bodies_answered_by_secretariat=sum(1 for a in all_agencies if a.by_secretariat and a.items_answered),
    )


HIGHLIGHTS_PER_POINT = 4  # more than this and the summary stops being a summary


def key_highlights(sections: Sequence[Section], names: Mapping[str, str]) -> tuple[KeyHighlights, ...]:
    """Per agenda point, what changed in the agencies' own words: extractive, nothing invented.

    Each changed or first-reported recommendation contributes its status (as Table 1 counts it) and
    the first sentence of its lead's narrative (condensed to ~200 characters), naming the lead as
    running text does (`names`, by code); newly completed first, then newly blocked, other changes,
    first reports.
    """
    result = []
    for section in sections:
        changed = [i for i in section.items if i.change in (Change.CHANGED, Change.FIRST_REPORT)]
        changed.sort(key=lambda i: (not i.newly_completed, not i.newly_blocked, i.change != Change.CHANGED))
        if not changed:
            continue
        shown = tuple(
            Highlight(
                code=item.code,
                agency_code=lead.agency_code,
                status=item.status_key,
                previous_status=item.previous_status,
                quote=condense(lead.narrative, 200).rstrip("."),
                agency=names.get(lead.agency_code, lead.agency_code),  # in brackets, mid-sentence
            )
            for item in changed[:HIGHLIGHTS_PER_POINT]
            for lead in [item.lead or item.owners[0]]
        )
        result.append(KeyHighlights(section.title, shown, len(changed) - len(shown)))
    return tuple(result)


def sentence_start(name: str) -> str:
    """A name at the start of a sentence: "the World Bank" becomes "The World Bank"."""
    return name[:1].upper() + name[1:]


def _agency_responses(
    sections: Sequence[Section],
    names: Mapping[str, str],
    shown: Mapping[str, str],
    by_secretariat: frozenset[str],
    *,
    cycle: CycleInfo,
    today: date,
) -> tuple[AgencyResponse, ...]:
    parts = [owner for section in sections for item in section.items for owner in item.owners]
    asked = Counter(owner.agency_code for owner in parts)
    answered = Counter(owner.agency_code for owner in parts if owner.answer_in_hand)
    return agency_responses(
        asked, answered, by_secretariat, cycle=cycle, today=today, names=names, shown=shown
    )


def agency_responses(
    asked: Mapping[str, int],
    answered: Mapping[str, int],
    by_secretariat: frozenset[str],
    *,
    cycle: CycleInfo,
    today: date,
    names: Mapping[str, str] | None = None,
    shown: Mapping[str, str] | None = None,
) -> tuple[AgencyResponse, ...]:
    """Every agency asked for parts, in code order, from its parts asked and answered."""
    names, shown = names or {}, shown or {}
    return tuple(
        AgencyResponse(
            code=code,
            name=names.get(code, ""),
            items_asked=asked[code],
            items_answered=answered.get(code, 0),
            overdue=code not in by_secretariat
            and request_overdue(
                deadline=cycle.deadline, today=today, answered=answered.get(code, 0) == asked[code]
            ),
            display=shown.get(code, code),
            by_secretariat=code in by_secretariat,
        )
        for code in sorted(asked)
    )


def _join(phrases: Sequence[object]) -> object:
    """ "A, B and C" (a list in running text, as each language closes it)."""
    if len(phrases) <= 1:
        return "".join(map(str, phrases)) if not phrases else phrases[0]
    return Message(N_("%(items)s and %(last)s"), {"items": tuple(phrases[:-1]), "last": phrases[-1]})


def executive_summary(
    figures: StocktakeFigures,
    agencies: Sequence[AgencyResponse],
    *,
    cycle: CycleInfo,
    previous: CycleInfo | None,
) -> tuple[Message, ...]:
    """The summary's sentences, every number read from `figures` (and named as it is there)."""
    f = figures
    if not f.items:
        return (
            Message(N_("No recommendation was part of the %(cycle)s stock-take."), {"cycle": cycle.title}),
        )
    sentences = [
        Message(
            N_(
                "The lead agency reported on %(reported)s of %(items)s (%(rate)s%%); contributing agencies "
                "answered %(answered)s of their %(parts)s."
            ),
            {
                "reported": f.reported,
                "items": recommendations(f.items),
                "rate": f.reported_rate,
                "answered": f.contributor_parts_answered,
                "parts": plural_message("%(num)s part", "%(num)s parts", f.contributor_parts),
            },
        )
    ]
    if previous is None:
        sentences.append(
            Message(N_("This is the first stock-take, so there is no earlier cycle to compare."))
        )
    else:
        changed = plural_message(
            "%(num)s recommendation changed status", "%(num)s recommendations changed status", f.changed
        )
        sentences.append(
            Message(
                N_(
                    "Since %(previous)s, %(changed)s (%(completed)s newly completed, %(blocked)s newly "
                    "blocked), %(unchanged)s, %(first)s and %(unreported)s."
                ),
                {
                    "previous": previous.title,
                    "changed": changed,
                    "completed": f.newly_completed,
                    "blocked": f.newly_blocked,
                    "unchanged": plural_message("%(num)s is unchanged", "%(num)s are unchanged", f.unchanged),
                    "first": plural_message(
                        "%(num)s was reported for the first time",
                        "%(num)s were reported for the first time",
                        f.first_report,
                    ),
                    "unreported": plural_message(
                        "%(num)s was not reported on by their lead",
                        "%(num)s were not reported on by their lead",
                        f.not_reported,
                    ),
                },
            )
        )
    counted = [
        status_count(status, count)
        for status, count in f.status_counts.items()
        if count and status != NO_ANSWER
    ]
    if counted:
        sentences.append(
            Message(
                N_("The reported recommendations stand as follows: %(counts)s."), {"counts": _join(counted)}
            )
        )
    if f.confirmed:
        sentences.append(
            plural_message(
                "%(num)s recommendation was confirmed with no change since last time; %(news)s came with "
                "news of what changed.",
                "%(num)s recommendations were confirmed with no change since last time; %(news)s came with "
                "news of what changed.",
                f.confirmed,
                news=f.with_news,
            )
        )
    silent = [a.display or a.code for a in agencies if not a.items_answered and not a.by_secretariat]
    if 0 < len(silent) <= 5:
        said = plural_message(
            "%(num)s did not answer at all (%(names)s)",
            "%(num)s did not answer at all (%(names)s)",
            len(silent),
            names=_join(silent),
        )
    else:
        said = plural_message("%(num)s did not answer at all", "%(num)s did not answer at all", len(silent))
    sentences.append(
        Message(
            N_(
                "%(answered)s of %(agencies)s answered, %(in_full)s of them in full; %(silent)s; "
                "%(requests)s after the reply deadline of %(deadline)s."
            ),
            {
                "answered": f.agencies_answered,
                "agencies": plural_message("%(num)s agency", "%(num)s agencies", f.agencies),
                "in_full": f.agencies_answered_in_full,
                "silent": said,
                "requests": plural_message(
                    "%(num)s request is overdue", "%(num)s requests are overdue", f.overdue_requests
                ),
                "deadline": cycle.deadline,
            },
        )
    )
    sentences.append(overdue_milestones_said(f))
    answered_for = [a.display or a.code for a in agencies if a.by_secretariat and a.items_answered]
    if answered_for:
        sentences.append(
            plural_message(
                "The secretariat reported on the items of %(bodies)s itself; it is not counted among the "
                "agencies asked.",
                "The secretariat reported on the items of %(bodies)s itself; they are not counted among the "
                "agencies asked.",
                len(answered_for),
                bodies=_join(answered_for),
            )
        )
    not_answered_for = [a.display or a.code for a in agencies if a.by_secretariat and not a.items_answered]
    if not_answered_for:
        sentences.append(
            plural_message(
                "The secretariat answers for %(bodies)s itself and has not reported on its items; it is not "
                "counted among the agencies asked.",
                "The secretariat answers for %(bodies)s itself and has not reported on their items; they are "
                "not counted among the agencies asked.",
                len(not_answered_for),
                bodies=_join(not_answered_for),
            )
        )
    if f.closed:
        sentences.append(
            plural_message(
                "%(num)s recommendation has been closed by the secretariat and no longer forms part of the "
                "requests; it is listed apart.",
                "%(num)s recommendations have been closed by the secretariat and no longer form part of the "
                "requests; they are listed apart.",
                f.closed,
            )
        )
    if f.disagreements:
        sentences.append(
            Message(
                N_(
                    "The secretariat assessed %(answers)s differently from the agency's own status; both "
                    "are shown side by side."
                ),
                {"answers": answers(f.disagreements)},
            )
        )
    return tuple(sentences)


def recommendations(count: int) -> Message:
    """ "1 recommendation", "3 recommendations"."""
    return plural_message("%(num)s recommendation", "%(num)s recommendations", count)


def answers(count: int) -> Message:
    """ "1 answer", "3 answers"."""
    return plural_message("%(num)s answer", "%(num)s answers", count)


def overdue_milestones_said(f: StocktakeFigures) -> Message:
    """ "3 milestones are overdue across 2 recommendations." (the summary's and its part's sentence)."""
    return plural_message(
        "%(num)s milestone is overdue across %(items)s.",
        "%(num)s milestones are overdue across %(items)s.",
        f.overdue_milestones,
        items=recommendations(f.items_with_overdue_milestones),
    )


def method_text(*, cycle: CycleInfo, previous: CycleInfo | None, today: date) -> tuple[Message, ...]:
    """How the report's statuses, roll-ups, changes and overdue marks are computed."""
    statuses = tuple(Message(status_label(s)) for s in STATUS_ORDER if s != NO_ANSWER)
    comparison = (
        Message(
            N_("Changes compare this cycle with %(previous)s, the latest cycle launched before it."),
            {"previous": previous.title},
        )
        if previous
        else Message(N_("This is the first stock-take cycle, so no change since a previous cycle is shown."))
    )
    return (
        Message(
            N_(
                "Statuses: %(statuses)s. Each owner reports its own status for its part of a recommendation; "
                "only answers submitted to the secretariat count (drafts do not)."
            ),
            {"statuses": statuses},
        ),
        Message(
            N_(
                "Assessed status: when the secretariat reviews an answer it may set its own status with a "
                "rationale. Where it differs from the owner's self-reported status, both are shown and the "
                "item is flagged as a disagreement. Counts and roll-ups use the assessed status where there "
                "is one."
            )
        ),
        Message(
            N_(
                "Roll-up: a recommendation is Completed only when every owner's part is completed or no "
                "longer applicable; No longer applicable when all parts are; otherwise it takes the lead "
                "owner's status (or the first answering owner's when the lead has not answered), and a "
                "finished lead with an unfinished contributor counts as In progress."
            )
        ),
        Message(
            N_(
                "%(comparison)s A recommendation is reported when its lead agency answered (contributors' "
                "parts are counted apart). Each recommendation falls in one category: changed (reported now "
                "and before, with another status; newly completed and newly blocked are changes), unchanged, "
                "reported for the first time, or not reported (its lead did not answer). An answer of "
                "“No change since last time” confirms the previous status without new text: it is counted "
                "as a confirmation, not as news."
            ),
            {"comparison": comparison},
        ),
        Message(
            N_(
                "Overdue milestones: a milestone is overdue when its due date is before %(today)s (the date "
                "this report was produced) and it is neither done nor dropped. Overdue requests: an agency's "
                "request is overdue when some of its items are still unanswered after the reply deadline, "
                "%(deadline)s. The two are counted apart, never as one number."
            ),
            {"today": today, "deadline": cycle.deadline},
        ),
        Message(
            N_(
                "An answer the secretariat sent back with a question keeps its status in the counts above, "
                "but its item counts as not yet answered in Annex I and for overdue requests until the "
                "agency answers again."
            )
        ),
    )
