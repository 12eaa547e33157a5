"""Follow-up's entities: recommendations, agencies, owners, milestones, cycles, requests, updates.

Plain classes, mapped onto tables by `db.mapping` (imperative mapping), so the domain stays pure.
Foreign keys are plain attributes (ids and codes), which keeps entities cheap to load in bulk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any, ClassVar, NamedTuple, Protocol

from domain.dates import utc_day
from domain.errors import InvalidTransition, ValidationError
from domain.language import DEFAULT_LANGUAGE, N_, Language, Message, RunningName, parse_language
from domain.lifecycle import (
    CLOSED_STATES,
    CYCLE_LIFECYCLE,
    LATE_REQUEST_STATES,
    MILESTONE_LIFECYCLE,
    OPEN_REQUEST_STATES,
    RECOMMENDATION_LIFECYCLE,
    REQUEST_LIFECYCLE,
    REVIEW_LIFECYCLE,
    CycleState,
    MilestoneState,
    RecommendationState,
    RequestState,
    ReviewState,
    Stateful,
    Transition,
)


class RecommendationKind(StrEnum):
    STRATEGIC = "strategic"
    ANNEX = "annex"


class OwnerRole(StrEnum):
    LEAD = "lead"
    CONTRIBUTOR = "contributor"


class ContactRole(StrEnum):
    FOCAL_POINT = "focal_point"
    HEAD_OF_OFFICE = "head_of_office"


class LabelledEnum(StrEnum):
    """A vocabulary whose values read as labels once their underscores become spaces."""

    @property
    def label(self) -> str:
        """Human-readable label ("In progress")."""
        return self.value.replace("_", " ").capitalize()


class ReportedStatus(LabelledEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ONGOING = "ongoing"
    BLOCKED = "blocked"
    NO_LONGER_APPLICABLE = "no_longer_applicable"


class MilestoneOutcome(LabelledEnum):
    """What an agency reports about one milestone: on track, done on a date, rescheduled or dropped."""

    ON_TRACK = "on_track"
    DONE = "done"
    RESCHEDULED = "rescheduled"
    DROPPED = "dropped"

    @classmethod
    def offered(cls, *, overdue: bool) -> tuple[MilestoneOutcome, ...]:
        """What a form offers for a milestone: not *on track* once overdue (`apply_report` refuses it)."""
        return tuple(o for o in cls if not (overdue and o == cls.ON_TRACK))

    @property
    def participle(self) -> str:
        """As a sentence ends with it: "it cannot be rescheduled" (a msgid of the catalogue)."""
        return {
            "on_track": N_("on track"),
            "done": N_("done"),
            "rescheduled": N_("rescheduled"),
            "dropped": N_("dropped"),
        }[self.value]


# The labels above as the translation catalogue knows them (`pybabel extract` reads the N_ marks).
LABEL_MESSAGES = (
    N_("Not started"),
    N_("In progress"),
    N_("Completed"),
    N_("Ongoing"),
    N_("Blocked"),
    N_("No longer applicable"),
    N_("On track"),
    N_("Done"),
    N_("Rescheduled"),
    N_("Dropped"),
)


class Answering(StrEnum):
    """How a body answers: by itself, through another (the GMG through its chair), or by the secretariat."""

    SELF = "self"
    THROUGH = "through"
    SECRETARIAT = "secretariat"


class Channel(StrEnum):
    PORTAL = "portal"
    SPREADSHEET = "spreadsheet"
    SECRETARIAT = "secretariat"


STRATEGIC_HEADING = N_("Strategic recommendations")
OTHER_HEADING = N_("Other recommendations")


def agenda_heading(kind: str | None, agenda_point: int | None, agenda_title: str | None) -> str:
    """The heading items are grouped under, everywhere: "Agenda point 3: Title", or the strategic ones."""
    return str(agenda_heading_said(kind, agenda_point, agenda_title))


def agenda_heading_said(kind: str | None, agenda_point: int | None, agenda_title: str | None) -> Message:
    """`agenda_heading` as a sentence to show in the reader's language (the title stays as written)."""
    if agenda_point is not None:
        if agenda_title:
            heading = N_("Agenda point %(point)s: %(title)s")
            return Message(heading, {"point": agenda_point, "title": agenda_title})
        return Message(N_("Agenda point %(point)s"), {"point": agenda_point})
    return Message(STRATEGIC_HEADING if kind == RecommendationKind.STRATEGIC else OTHER_HEADING)


def text_in(text: str, translations: dict[str, str] | None, language: str) -> str:
    """A recommendation's text in `language` when it has a translation there, else as the report wrote it."""
    return (translations or {}).get(language) or text


# Statuses that count as "done" for roll-ups and milestones.
FINISHED_STATUSES = frozenset({ReportedStatus.COMPLETED, ReportedStatus.NO_LONGER_APPLICABLE})

_AGENCY_CODE = re.compile(r"^[A-Z][A-Z0-9-]{0,31}$")
MAX_RUNNING_NAME = 200  # the short name's column too
MAX_NAME = 300  # an agency's registry name
MAX_CONTACT_NAME = 200
MAX_HEADING = 300  # an agenda point's title, a theme


def within(text: str, field: str, limit: int) -> str:
    """`text`, unless it is longer than `limit` characters (what its column holds): a ValidationError."""
    if len(text) > limit:
        raise ValidationError(field, f"at most {limit:,} characters (this one has {len(text):,})")
    return text


def validate_email(address: str, *, field: str = "email") -> str:
    """Return the address stripped if it is a plain local@domain, or raise ValidationError naming `field`."""
    address = address.strip()
    # email-validator's defaults refuse what mail software reads as another mailbox: comments,
    # quoted local parts, source routes, `x:y@` groups, address literals and non-ASCII local parts.
    import email_validator  # here, not above: commands that read never validate an address

    try:
        email_validator.validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError as exc:
        raise ValidationError(field, f"'{address}' is not a valid e-mail address ({exc})") from None
    return address


def validate_agency_code(code: str, *, field: str = "code") -> str:
    """Agency codes are upper-case letters, digits and dashes (e.g. UN-WOMEN)."""
    if not _AGENCY_CODE.match(code):
        raise ValidationError(field, f"'{code}' is not a valid agency code (A-Z, 0-9, '-', up to 32)")
    return code


# A stock-take's replies are due within weeks; a deadline years away is a typo (9999-12-31 also
# overflowed the calendar event's end, the day after it).
MAX_DEADLINE_DAYS = 2 * 366


def check_deadline_within_reach(deadline: date, today: date) -> None:
    """Refuse a reply deadline more than two years after `today`."""
    if (deadline - today).days > MAX_DEADLINE_DAYS:
        raise ValidationError(
            "deadline",
            f"{deadline.isoformat()} is more than two years away (today is {today.isoformat()}): "
            "a stock-take's replies are due within weeks",
        )


class Recommendation(Stateful):
    """One recommendation of a report, with a stable code such as SR1.ii.a or A3.4."""

    LIFECYCLE = RECOMMENDATION_LIFECYCLE
    ENTITY: ClassVar[str] = "recommendation"

    id: int | None

    def __init__(
        self,
        *,
        source: str,
        code: str,
        kind: RecommendationKind | str,
        text: str,
        position: int,
        agenda_point: int | None = None,
        agenda_title: str | None = None,
        theme: str | None = None,
        parent_code: str | None = None,
        state: RecommendationState = RecommendationState.ACTIVE,
    ) -> None:
        self.source = source
        self.code = code
        self.kind = RecommendationKind(kind).value
        self.text = text
        self.position = position
        self.agenda_point = agenda_point
        self.agenda_title = (
            within(agenda_title, "agenda_title", MAX_HEADING) if agenda_title else agenda_title
        )
        self.theme = within(theme, "theme", MAX_HEADING) if theme else theme
        self.parent_code = parent_code
        self.state = RecommendationState(state).value
        # The text in other languages, by language code (imported from the report's translations).
        self.translations: dict[str, str] = {}
        self.events = []

    def history_key(self) -> str:
        return f"{self.source}:{self.code}"

    @property
    def is_closed(self) -> bool:
        """Closed by the secretariat (implemented, closed or overtaken): no longer asked about."""
        return self.state in CLOSED_STATES

    def close(self, how: RecommendationState, *, why: str, at: datetime, by: str) -> None:
        """Close as implemented, closed or overtaken by events; a reason is required."""
        if how not in CLOSED_STATES:
            raise ValidationError(
                "as", f"'{how}' is not a way to close; choose implemented, closed or overtaken"
            )
        if not why.strip():
            raise ValidationError("why", "say why the recommendation is closed")
        self.transition(how, at=at, by=by, why=why.strip())

    def reopen(self, *, why: str, at: datetime, by: str) -> None:
        """Make a closed recommendation active again (asked about in the next cycles); recorded."""
        if not why.strip():
            raise ValidationError("why", "say why the recommendation is reopened")
        self.transition(RecommendationState.ACTIVE, at=at, by=by, why=why.strip())

    def amend(self, *, text: str, at: datetime, by: str, **fields: Any) -> bool:
        """Update text and placement from a re-import, recording a history entry for each that changed."""
        moved = {
            name: [getattr(self, name), value]
            for name, value in fields.items()
            if getattr(self, name) != value
        }
        for name, (_, value) in moved.items():
            setattr(self, name, value)
        if moved:
            # Placement is what reply pages and reports group and order by: a move must be seen too.
            self.record(
                Transition(
                    self.ENTITY,
                    self.history_key(),
                    None,
                    "placement_amended",
                    at,
                    by,
                    "placement changed on re-import",
                    moved,
                )
            )
        changed = bool(moved)
        if text != self.text:
            self.record(
                Transition(
                    self.ENTITY,
                    self.history_key(),
                    None,
                    "text_amended",
                    at,
                    by,
                    "text changed on re-import",
                    {"old_text": self.text, "new_text": text},
                )
            )
            self.text = text
            changed = True
        return changed


class Contact:
    """A person at an agency: a focal point who answers, or the head of office escalations go to."""

    def __init__(
        self,
        *,
        name: str,
        email: str,
        role: ContactRole | str = ContactRole.FOCAL_POINT,
        language: Language | str | None = None,
    ) -> None:
        self.name = within(name.strip(), "name", MAX_CONTACT_NAME)
        self.email = validate_email(email)
        self.role = ContactRole(role).value
        # None: the agency's language (a head of office may read another language than its focal points).
        self.language = parse_language(language).value if language else None


class Named(Protocol):
    """What the registry says of how a body is named: an `Agency`, or a row of its columns."""

    @property
    def name(self) -> str: ...
    @property
    def short_name(self) -> str: ...
    @property
    def article(self) -> str: ...
    @property
    def translations(self) -> Mapping[str, str]: ...


def running_name(body: Named, language: str) -> RunningName:
    """How running text in `language` names a body: English by its short name and article ("the World
    Bank"), another language by the registry's name in it ("la Banque mondiale"), else by its short name."""
    if language == Language.EN:
        return RunningName(f"{body.article} {body.short_name or body.name}".strip())
    return RunningName(body.translations.get(language) or body.short_name or body.name)


def _name_translations(translations: Mapping[str, str]) -> dict[str, str]:
    """The registry's running-text names in French and Spanish, each with the article it needs there."""
    checked = {}
    for code, text in translations.items():
        language = parse_language(code, field=f"translations.{code}")
        if language == Language.EN:
            raise ValidationError(
                "translations.en", "English names a body by its short_name and article, not a translation"
            )
        name = " ".join(str(text if text is not None else "").split())
        if language == Language.FR:  # the typographic apostrophe, as every French sentence has it
            name = name.replace("'", "’")
        if not name or len(name) > MAX_RUNNING_NAME:
            raise ValidationError(
                f"translations.{language.value}",
                f"the name as a sentence writes it, with its article (1 to {MAX_RUNNING_NAME} characters)",
            )
        if language.value in checked:
            raise ValidationError(f"translations.{code}", f"{language.english_name} is given twice")
        checked[language.value] = name
    return checked


class Agency:
    """An owning body: a UN entity, a mechanism (the Special Rapporteur) or a coordination body."""

    def __init__(
        self,
        *,
        code: str,
        name: str,
        aliases: list[str] | None = None,
        contacts: list[Contact] | None = None,
        short_name: str = "",
        article: str = "",
        answers: Answering | str = Answering.SELF,
        through: str | None = None,
        language: Language | str = DEFAULT_LANGUAGE,
        translations: Mapping[str, str] | None = None,
    ) -> None:
        self.code = validate_agency_code(code)
        self.name = within(name, "name", MAX_NAME)
        self.aliases = list(aliases or [])
        self.contacts = list(contacts or [])
        # How people call it in a sentence ("World Bank"), and the article English needs ("the").
        self.short_name = within(short_name.strip(), "short_name", MAX_RUNNING_NAME)
        self.article = article.strip()
        self.answers = Answering(answers).value
        self.through = through
        self.language = parse_language(language).value
        self.translations = _name_translations(translations or {})
        if self.answers == Answering.THROUGH and not through:
            raise ValidationError("answers", f"{code} answers through another body: name it (through: CODE)")
        if self.article not in ("", "the"):
            raise ValidationError(
                "article", f"'{article}' is not an article English needs here (the, or none)"
            )

    @property
    def display_name(self) -> str:
        """The name in English running text, with its article: "the World Bank", "UNCTAD"."""
        return self.name_in(Language.EN)

    def name_in(self, language: str) -> RunningName:
        """The name in running text in `language`: "the ILO", "l’OIT", "la OIT" (see `running_name`)."""
        return running_name(self, language)

    @property
    def answered_by_secretariat(self) -> bool:
        """A coordination body (the CEB, the HLCP): no request, no escalation; the secretariat answers."""
        return self.answers == Answering.SECRETARIAT

    def emails(self, role: ContactRole) -> list[str]:
        """Addresses of the contacts with `role`, in registration order."""
        return [c.email for c in self.contacts if c.role == role.value]

    def recipients(self) -> list[str]:
        """Who the agency's messages go to: its focal points, or its head of office when it has none."""
        return self.emails(ContactRole.FOCAL_POINT) or self.emails(ContactRole.HEAD_OF_OFFICE)

    def escalation_recipients(self) -> list[str]:
        """Who an escalation goes to: the head of office, or the focal points when there is none."""
        return self.emails(ContactRole.HEAD_OF_OFFICE) or self.emails(ContactRole.FOCAL_POINT)

    def escalation_copies(self) -> list[str]:
        """Who is copied: the focal points, when it goes over their heads (they learn it from us first)."""
        recipients = set(self.escalation_recipients())
        return [email for email in self.emails(ContactRole.FOCAL_POINT) if email not in recipients]

    def language_of(self, role: ContactRole) -> Language:
        """The language its contacts of `role` share (by default the agency's), else the agency's."""
        spoken = {c.language or self.language for c in self.contacts if c.role == role.value}
        return Language(spoken.pop() if len(spoken) == 1 else self.language)

    @property
    def reply_language(self) -> Language:
        """The language of its requests, reminders, receipts, reply page and sheet: its focal points'."""
        return self.language_of(ContactRole.FOCAL_POINT)

    @property
    def escalation_language(self) -> Language:
        """The language of its escalations: its head of office's (the focal points' when it has none)."""
        if not self.emails(ContactRole.HEAD_OF_OFFICE):
            return self.reply_language
        return self.language_of(ContactRole.HEAD_OF_OFFICE)


class Ownership:
    """Who owns a recommendation: one lead and any number of contributors."""

    def __init__(
        self, *, recommendation_id: int, agency_code: str, role: OwnerRole | str, reason: str = ""
    ) -> None:
        self.recommendation_id = recommendation_id
        self.agency_code = agency_code
        self.role = OwnerRole(role).value
        self.reason = reason


OPEN_MILESTONE_STATES = frozenset({MilestoneState.PLANNED, MilestoneState.OVERDUE})


def milestone_overdue(state: str, due_date: date, today: date) -> bool:
    """Past its due date and neither done nor cancelled on `today` (the rule of `Milestone.is_overdue_on`)."""
    return state in OPEN_MILESTONE_STATES and due_date < today


class Milestone(Stateful):
    """A dated commitment under a recommendation ("Expert Group Meeting, mid-2014")."""

    LIFECYCLE = MILESTONE_LIFECYCLE
    ENTITY: ClassVar[str] = "milestone"

    id: int | None

    def __init__(
        self,
        *,
        recommendation_id: int,
        title: str,
        due_date: date,
        agency_code: str | None = None,
        state: MilestoneState = MilestoneState.PLANNED,
    ) -> None:
        self.recommendation_id = recommendation_id
        self.title = title
        self.due_date = due_date
        self.agency_code = agency_code
        self.state = MilestoneState(state).value
        self.done_on: date | None = None
        self.note = ""  # why it was last rescheduled or dropped
        self.events = []

    def history_key(self) -> str:
        return self.key_of(self.recommendation_id, self.title)

    @staticmethod
    def key_of(recommendation_id: int, title: str) -> str:
        """A milestone's history key: its item and its title."""
        return f"{recommendation_id}:{title}"

    @property
    def is_open(self) -> bool:
        """Neither done nor dropped: still something to deliver."""
        return self.state in OPEN_MILESTONE_STATES

    def is_overdue_on(self, today: date) -> bool:
        """Past its due date and neither done nor cancelled (not-yet-due is not overdue)."""
        return milestone_overdue(self.state, self.due_date, today)

    def apply_report(self, report: MilestoneReport, *, today: date, at: datetime, by: str) -> bool:
        """Apply what the agency reports (done, rescheduled, dropped, on track); False when nothing moves.

        Raises `InvalidTransition` on a move the lifecycle refuses (a done milestone rescheduled) and
        `ValidationError` on a report that cannot be true (on track while overdue, done in the future).
        """
        if report.outcome == MilestoneOutcome.ON_TRACK:
            if self.is_overdue_on(today):
                raise ValidationError(
                    "milestone",
                    f"'{self.title}' was due {self.due_date.isoformat()}: say done, rescheduled or dropped",
                )
            return False
        if report.outcome == MilestoneOutcome.DONE:
            assert report.on is not None
            if report.on > today:
                raise ValidationError(
                    "milestone", f"'{self.title}' cannot be done on {report.on.isoformat()}, a future day"
                )
            if self.state == MilestoneState.DONE and self.done_on == report.on:
                return False
            self.transition(
                MilestoneState.DONE,
                at=at,
                by=by,
                why=f"done on {report.on.isoformat()}",
                done_on=report.on.isoformat(),
            )
            self.done_on = report.on
            return True
        if report.outcome == MilestoneOutcome.RESCHEDULED:
            assert report.on is not None
            if self.is_open and self.due_date == report.on:
                return False
            self.transition(
                MilestoneState.PLANNED,
                at=at,
                by=by,
                why=report.why,
                old_due_date=self.due_date.isoformat(),
                new_due_date=report.on.isoformat(),
            )
            self.due_date, self.note = report.on, report.why
            return True
        if self.state == MilestoneState.CANCELLED:
            return False
        self.transition(MilestoneState.CANCELLED, at=at, by=by, why=report.why)
        self.note = report.why
        return True

    @classmethod
    def overdue_move(
        cls, recommendation_id: int, title: str, due_date: date, today: date, *, at: datetime, by: str
    ) -> Transition | None:
        """The move of a PLANNED milestone past its due date to OVERDUE, by its lifecycle; None until then.

        Made from the milestone's facts, not the entity: a daily follow-up moves thousands at once,
        and the repository moves them with one statement.
        """
        if due_date >= today:
            return None
        planned, overdue = MilestoneState.PLANNED, MilestoneState.OVERDUE
        key = cls.key_of(recommendation_id, title)
        if overdue not in cls.LIFECYCLE[planned]:
            raise InvalidTransition(cls.ENTITY, key, planned.value, overdue.value)
        return Transition(
            cls.ENTITY, key, planned.value, overdue.value, at, by, f"due {due_date.isoformat()}", {}
        )


class StockTakeCycle(Stateful):
    """One round of stock-taking before an HLCP session, with a reply deadline."""

    LIFECYCLE = CYCLE_LIFECYCLE
    ENTITY: ClassVar[str] = "cycle"

    id: int | None

    def __init__(
        self,
        *,
        name: str,
        deadline: date,
        hlcp_session: str | None = None,
        created_at: datetime,
        state: CycleState = CycleState.DRAFT,
        symbol: str | None = None,
        venue: str | None = None,
        document_date: date | None = None,
        action_requested: str | None = None,
    ) -> None:
        self.name = name
        self.deadline = deadline
        self.hlcp_session = hlcp_session
        # The form of its stock-take as a Committee document: symbol (e.g. CEB/2015/HLCP-29/CRP.3),
        # where the session meets, the document's date and what the Committee is asked to do.
        self.symbol = symbol
        self.venue = venue
        self.document_date = document_date
        self.action_requested = action_requested
        self.created_at = created_at
        self.launched_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.state = CycleState(state).value
        self.events = []

    def history_key(self) -> str:
        return self.name

    def extend_deadline(self, to: date, *, today: date, at: datetime, by: str, why: str = "") -> date:
        """Move the reply deadline later, recorded in the history; returns the deadline it replaces.

        Only later, and only while the cycle is open: agencies plan on the date they were given,
        and a cycle's late requests and reminders are reckoned from it.
        """
        if self.state != CycleState.OPEN:
            raise ValidationError(
                "cycle", f"'{self.name}' is {self.state}: only an open cycle's deadline moves"
            )
        if to <= self.deadline:
            raise ValidationError(
                "deadline", f"{to} is not after the deadline {self.deadline}: a deadline can only be extended"
            )
        if to < today:
            raise ValidationError("deadline", f"{to} has passed already (today is {today})")
        check_deadline_within_reach(to, today)
        before, self.deadline = self.deadline, to
        # The history's deadlines count the moves (`DeadlineMoves.of`), as the launch recorded the first.
        data = {"deadline": to.isoformat(), "from": before.isoformat()}
        self.record(
            Transition(
                self.ENTITY,
                self.history_key(),
                self.state,
                self.state,
                at,
                by,
                why or "deadline extended",
                data,
            )
        )
        return before

    def cancel(self, *, at: datetime, by: str, why: str) -> None:
        """Cancel a cycle that should not run on (launched by mistake, overtaken); `why` is kept."""
        if not why.strip():
            raise ValidationError("why", "say why the cycle is cancelled: its history keeps the reason")
        if self.state != CycleState.OPEN:
            stands = " (its stock-take stands)" if self.state == CycleState.CLOSED else ""
            raise ValidationError(
                "cycle", f"'{self.name}' is {self.state}{stands}: only an open cycle is cancelled"
            )
        self.transition(CycleState.CANCELLED, at=at, by=by, why=why.strip())


class DeadlineMoves(NamedTuple):
    """How often a cycle's deadline moved (its calendar event's SEQUENCE) and the day it was last extended."""

    times: int
    last_extended_on: date | None

    @classmethod
    def of(cls, history: Iterable[tuple[datetime, Mapping[str, Any]]]) -> DeadlineMoves:
        """From the cycle's history, oldest first, as (when, data): the launch records its deadline, and
        each extension the deadline it sets and the one it replaces ("from")."""
        deadlines: list[str] = []
        extended: list[date] = []
        for at, data in history:
            if "deadline" in data:
                deadlines.append(data["deadline"])
            if "from" in data and (day := utc_day(at)) is not None:
                extended.append(day)
        moves = sum(1 for before, after in pairwise(deadlines) if before != after)
        return cls(moves, max(extended, default=None))


class StatusRequest(Stateful):
    """One consolidated request per cycle and agency, covering all the agency's items."""

    LIFECYCLE = REQUEST_LIFECYCLE
    ENTITY: ClassVar[str] = "request"

    id: int | None

    def __init__(
        self,
        *,
        cycle_id: int,
        agency_code: str,
        item_count: int,
        token_nonce: str,
        token_hash: str,
        state: RequestState = RequestState.PENDING,
        answered_through: str | None = None,
    ) -> None:
        self.cycle_id = cycle_id
        self.agency_code = agency_code
        # The body whose contacts answer for this one in this cycle (the GMG's chair), or None.
        self.answered_through = answered_through
        self.item_count = item_count
        self.token_nonce = token_nonce
        self.token_hash = token_hash
        self.token_revoked_at: datetime | None = None
        self.sent_at: datetime | None = None
        self.answered_at: datetime | None = None
        self.escalated_at: datetime | None = None
        self.state = RequestState(state).value
        self.events = []

    def history_key(self) -> str:
        return f"{self.cycle_id}:{self.agency_code}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    def mark_answered(self, *, at: datetime, by: str, channel: Channel) -> None:
        """The agency submitted: a request not confirmed sent evidently got there; an open one is answered."""
        if self.state == RequestState.PENDING:
            self.transition(RequestState.SENT, at=at, by=by, why="answered before the send was confirmed")
            self.sent_at = self.sent_at or at
        if self.state in OPEN_REQUEST_STATES:
            self.transition(RequestState.ANSWERED, at=at, by=by, why=f"answered via {channel.value}")
            self.answered_at = at

    def on_time_again(self, deadline: date, *, at: datetime, by: str) -> bool:
        """A late or escalated request is on time again under an extended `deadline`; False if not late."""
        if self.state not in LATE_REQUEST_STATES:
            return False
        self.transition(RequestState.SENT, at=at, by=by, why=f"deadline extended to {deadline}")
        return True

    def reached(self, *, e_mail_left: bool) -> bool:
        """Whether the request reached its agency: sent, answered or later, or its e-mail left though
        that was not yet recorded (`e_mail_left`)."""
        return self.state != RequestState.PENDING or self.sent_at is not None or e_mail_left

    def reissue(self, *, token_nonce: str, token_hash: str, at: datetime, by: str, why: str = "") -> None:
        """Replace the reply token (the old link stops working); recorded in the history."""
        self.token_nonce, self.token_hash = token_nonce, token_hash
        self.token_revoked_at = None
        self._note_token("token_reissued", at, by, why or "reply link re-issued")

    def revoke(self, *, at: datetime, by: str, why: str = "") -> bool:
        """Revoke the reply token: the link answers 404 until re-issued. False if it was already."""
        if self.token_revoked_at is not None:
            return False  # the history keeps the first revocation, not a copy of it
        self.token_revoked_at = at
        self._note_token("token_revoked", at, by, why or "reply link revoked")
        return True

    def _note_token(self, action: str, at: datetime, by: str, why: str) -> None:
        # Not a lifecycle move (the state stays), but who changed the link and when is history.
        self.record(
            Transition(
                self.ENTITY, self.history_key(), self.state, self.state, at, by, why, {"action": action}
            )
        )


@dataclass(frozen=True)
class CycleItem:
    """One item a cycle asks of one agency (the cycle's snapshot): its recommendation, code and role."""

    recommendation_id: int
    code: str
    role: str


@dataclass(frozen=True)
class MilestoneReport:
    """An agency's word on one milestone: on track, done on `on`, rescheduled to `on` (why), dropped (why)."""

    milestone_id: int
    outcome: MilestoneOutcome
    on: date | None = None
    why: str = ""
    title: str = ""  # as the agency saw it, for receipts and the history

    def as_dict(self) -> dict[str, Any]:
        """The report as stored with the answer's version."""
        return {
            "milestone_id": self.milestone_id,
            "outcome": self.outcome.value,
            "on": self.on.isoformat() if self.on else None,
            "why": self.why,
            "title": self.title,
        }

    @property
    def text(self) -> str:
        """The report in words: "EGM: done on 2014-11-14", "EGM: rescheduled to 2015-06-30 (why)"."""
        said = {
            MilestoneOutcome.DONE: f"done on {self.on}",
            MilestoneOutcome.RESCHEDULED: f"rescheduled to {self.on} ({self.why})",
            MilestoneOutcome.DROPPED: f"dropped ({self.why})",
            MilestoneOutcome.ON_TRACK: "on track",
        }[self.outcome]
        return f"{self.title}: {said}"

    @property
    def said(self) -> Message:
        """The report as a sentence to show in the reader's language, its date written out."""
        wording = {
            MilestoneOutcome.DONE: N_("%(title)s: done on %(on)s"),
            MilestoneOutcome.RESCHEDULED: N_("%(title)s: rescheduled to %(on)s (%(why)s)"),
            MilestoneOutcome.DROPPED: N_("%(title)s: dropped (%(why)s)"),
            MilestoneOutcome.ON_TRACK: N_("%(title)s: on track"),
        }[self.outcome]
        return Message(wording, {"title": self.title, "on": self.on or "", "why": self.why})


@dataclass(frozen=True)
class Answer:
    """What an agency says about one item in one cycle (validated before it reaches an update).

    `no_change`: the agency confirms last cycle's status; the narrative stays empty (a confirmation
    is recorded, never a copy of last cycle's text).
    """

    recommendation_id: int
    status: ReportedStatus
    narrative: str = ""
    evidence: tuple[str, ...] = ()
    next_milestone_date: date | None = None
    obstacle: str = ""
    no_change: bool = False
    milestones: tuple[MilestoneReport, ...] = ()


class StatusUpdate(Stateful):
    """The agency's answer for one recommendation in one cycle, and the secretariat's review of it."""

    LIFECYCLE = REVIEW_LIFECYCLE
    ENTITY: ClassVar[str] = "update"

    id: int | None

    def __init__(
        self,
        *,
        cycle_id: int,
        recommendation_id: int,
        agency_code: str,
        state: ReviewState = ReviewState.DRAFT,
    ) -> None:
        self.cycle_id = cycle_id
        self.recommendation_id = recommendation_id
        self.agency_code = agency_code
        self.reported_status: str | None = None
        self.narrative = ""
        self.evidence: list[str] = []
        self.next_milestone_date: date | None = None
        self.obstacle = ""
        self.no_change = False
        self.milestone_reports: list[dict[str, Any]] = []
        self.evidence_public = False  # the secretariat published its evidence files when accepting
        self.reported_by = ""
        self.reported_at: datetime | None = None
        self.channel: str | None = None
        self.assessed_status: str | None = None
        self.assessment_rationale = ""
        self.reviewer_question = ""
        self.reviewed_by: str | None = None
        self.reviewed_at: datetime | None = None
        self.version = 0
        self.state = ReviewState(state).value
        self.events = []

    def history_key(self) -> str:
        return self.key_of(self.cycle_id, self.recommendation_id, self.agency_code)

    @staticmethod
    def key_of(cycle_id: int, recommendation_id: int, agency_code: str) -> str:
        """The history key of an agency's answer to an item in a cycle (read models look it up)."""
        return f"{cycle_id}:{recommendation_id}:{agency_code}"

    @property
    def disagrees(self) -> bool:
        """The secretariat's assessed status differs from the agency's self-reported one."""
        return self.assessed_status is not None and self.assessed_status != self.reported_status

    def apply(self, answer: Answer, *, at: datetime, by: str, channel: Channel, submit: bool) -> None:
        """Store a new version of the answer (draft or submitted); accepted answers are locked."""
        target = ReviewState.SUBMITTED if submit else ReviewState.DRAFT
        if self.state == ReviewState.ACCEPTED:
            self.transition(target, at=at, by=by)  # raises: reviewed answers are locked
        self.reported_status = answer.status.value
        self.narrative = answer.narrative
        self.evidence = list(answer.evidence)
        self.next_milestone_date = answer.next_milestone_date
        self.obstacle = answer.obstacle
        self.no_change = answer.no_change
        self.milestone_reports = [report.as_dict() for report in answer.milestones]
        self.reported_by = by
        self.reported_at = at
        self.channel = channel.value
        self.version += 1
        version = {
            "version": self.version,
            "status": self.reported_status,
            "narrative": self.narrative,
            "evidence": self.evidence,
            "next_milestone_date": self.next_milestone_date.isoformat() if self.next_milestone_date else None,
            "obstacle": self.obstacle,
            "no_change": self.no_change,
            "milestones": self.milestone_reports,
            "channel": self.channel,
        }
        if self.state == target and target == ReviewState.DRAFT:
            # Saving a draft again is not a lifecycle move, but the version is still kept.
            self.record(
                Transition(
                    self.ENTITY, self.history_key(), self.state, self.state, at, by, "draft saved", version
                )
            )
        else:
            self.transition(
                target, at=at, by=by, why="answer submitted" if submit else "draft saved", **version
            )
