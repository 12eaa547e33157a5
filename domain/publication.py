"""What may be shown outside the secretariat: the public record's rules and shape, and API read tokens.

Two audiences read the record. The public (the published site, public-only API tokens) sees only
answers the secretariat accepted in cycles that are closed; the secretariat's tokens also see
answers submitted or accepted in open cycles. Drafts and returned answers are the agency's own
business and are shown to nobody. Pure: the read models turn these rules into SQL.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.errors import ValidationError
from domain.evidence import StoredFile
from domain.lifecycle import CycleState, RecommendationState, ReviewState
from domain.model import OwnerRole, ReportedStatus, agenda_heading
from domain.policies import PartsTally


class Audience(StrEnum):
    PUBLIC = "public"
    SECRETARIAT = "secretariat"


def visible_review_states(audience: Audience) -> tuple[str, ...]:
    """The answers' review states an audience may read."""
    if audience == Audience.PUBLIC:
        return (ReviewState.ACCEPTED.value,)
    return (ReviewState.SUBMITTED.value, ReviewState.ACCEPTED.value)


def visible_cycle_states(audience: Audience) -> tuple[str, ...]:
    """The cycles' states whose answers an audience may read (a draft cycle has none)."""
    if audience == Audience.PUBLIC:
        return (CycleState.CLOSED.value,)
    return (CycleState.OPEN.value, CycleState.CLOSED.value)


def shown_status(reported: str | None, assessed: str | None) -> str | None:
    """The status an answer stands for: the secretariat's assessment when it made one, else the agency's."""
    return assessed or reported


def status_label(value: str | None) -> str:
    """A status as a label ("In progress"); no status reads "No accepted answer"."""
    return ReportedStatus(value).label if value else "No accepted answer"


def page_slug(text: str) -> str:
    """A file-name-safe, lower-case form of a code or title ("SR1.ii.a" -> "sr1-ii-a")."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


def same_page(code: str, other: str) -> str:
    """Why `code` is refused beside `other`: their page slugs are one, and the site has a page per code."""
    return (
        f"{code} differs from {other} only in case or punctuation: the public site would give both one "
        "page, so rename one"
    )


def check_one_page_per_code(codes: Iterable[str]) -> None:
    """Refuse two codes of a report that would share a page of the published site (X1.2, x1-2)."""
    code_of_page: dict[str, str] = {}
    for code in codes:
        other = code_of_page.setdefault(page_slug(code), code)
        if other != code:
            raise ValidationError("code", same_page(code, other))


def check_one_folder_per_report(source: str, stored: Iterable[str]) -> None:
    """Refuse a new report whose name differs from a stored one's only in case or punctuation: the
    published site would give both one folder (and it is most often the same report, mistyped)."""
    for other in stored:
        if page_slug(other) == page_slug(source) and other != source:
            raise ValidationError(
                "report",
                f"'{source}' differs from the stored report '{other}' only in case or punctuation: "
                "name it as stored (--source), or rename it",
            )


# --- the public record's shape ----------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """An agency that owns a recommendation, as lead or contributor."""

    code: str
    name: str
    role: str


@dataclass(frozen=True)
class PublicFile(StoredFile):
    """An evidence file the secretariat made public when it accepted the answer; copied into the site."""

    storage_key: str = ""


@dataclass(frozen=True)
class AnswerRecord:
    """One agency's answer in one cycle, as an audience may read it (for the public: accepted ones)."""

    agency_code: str
    agency_name: str
    role: str
    review_state: str
    status: str | None
    narrative: str
    evidence: tuple[str, ...]
    reviewed_on: date | None
    files: tuple[PublicFile, ...] = ()
    """Only files made public: an audience never sees the private ones, whatever it may read else."""


@dataclass(frozen=True)
class CycleEntry:
    """A recommendation in one cycle: the status it stood at and the answers behind it."""

    cycle: str
    cycle_state: str
    closed_on: date | None
    answers: tuple[AnswerRecord, ...]
    """Lead first, then contributors by agency code."""
    status: str | None
    """Its status from the answers the audience may read (`rolled_up_status`; None: not reported)."""


def rolled_up_status(parts: Sequence[tuple[str, str | None]]) -> str | None:
    """A recommendation's status in one cycle from its owners' (role, status shown or None) parts, in
    `answer_order`: the stock-take's roll-up and its rule that a recommendation whose lead did not
    answer is not reported (`PartsTally.reported_status`), over the answers an audience may read."""
    status = PartsTally.of(parts).reported_status
    return status.value if status is not None else None


def answer_order(role: str, agency_code: str) -> tuple[bool, str]:
    """How a cycle's answers are ordered: lead first, then by agency code (the first one gives the status)."""
    return (role != OwnerRole.LEAD, agency_code)


# What the site calls each way the secretariat closes a recommendation (`followup close-item --as`).
_CLOSED_AS = {
    RecommendationState.IMPLEMENTED.value: "Closed as implemented",
    RecommendationState.OVERTAKEN.value: "Closed as overtaken by events",
    RecommendationState.CLOSED.value: "Closed without further action",
}


@dataclass(frozen=True)
class Closure:
    """How, why and when the secretariat closed a recommendation (its latest move into that state)."""

    how: str
    why: str
    closed_on: date | None

    @property
    def label(self) -> str:
        """ "Closed as implemented", "Closed as overtaken by events", "Closed without further action"."""
        return _CLOSED_AS[self.how]


@dataclass(frozen=True)
class RecommendationRecord:
    """One recommendation with its owners and its history, cycle by cycle (oldest first)."""

    id: int
    source: str
    code: str
    kind: str
    agenda_point: int | None
    agenda_title: str | None
    text: str
    state: str
    owners: tuple[Owner, ...]
    timeline: tuple[CycleEntry, ...]
    closure: Closure | None = None
    """Set while the recommendation is closed: it is then no longer asked about."""

    @property
    def heading(self) -> str:
        """The heading the recommendation is grouped under ("Agenda point 3: Title")."""
        return agenda_heading(self.kind, self.agenda_point, self.agenda_title)

    @property
    def status(self) -> str | None:
        """The status at the latest cycle that reported on it, as the audience may read (None: never)."""
        answered = [entry.status for entry in self.timeline if entry.status is not None]
        return answered[-1] if answered else None

    @property
    def standing(self) -> str:
        """Where it stands, as a label: how it was closed, else its latest status ("No accepted answer")."""
        return self.closure.label if self.closure is not None else status_label(self.status)

    @property
    def lead(self) -> Owner | None:
        """The lead agency, if there is one."""
        return next((owner for owner in self.owners if owner.role == OwnerRole.LEAD), None)


@dataclass(frozen=True)
class ClosedCycle:
    """A cycle in the public record, with its stock-take's headline figures as (label, value)."""

    name: str
    hlcp_session: str | None
    closed_on: date | None
    headline: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class PublicRecord:
    """Everything the published site shows."""

    recommendations: tuple[RecommendationRecord, ...]
    agencies: tuple[tuple[str, str], ...]
    cycles: tuple[ClosedCycle, ...]


# --- API read tokens ----------------------------------------------------------------------------

API_TOKEN_PREFIX = "fu_"
TOKEN_NAME_MAX = 100


def new_api_token() -> str:
    """A fresh read token (256 bits from `secrets`); shown once, stored only as `hash_token` of it."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def check_token_name(name: str) -> str:
    """A token's name, stripped; refuses an empty or overlong one."""
    name = name.strip()
    if not name:
        raise ValidationError("--name", "must not be empty")
    if len(name) > TOKEN_NAME_MAX:
        raise ValidationError("--name", f"is {len(name)} characters long; at most {TOKEN_NAME_MAX} fit")
    return name
