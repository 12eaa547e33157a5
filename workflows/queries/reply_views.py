"""What the reply page shows (`reply_page.open_request` reads it): the request, its items, the parts of
a long request and how they are cut. No database here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.answers import AnswerView
from domain.errors import NotFound
from domain.evidence import StoredFile
from domain.language import Language
from domain.lifecycle import MilestoneState
from domain.model import agenda_heading_said
from domain.pieces import near_equal_pieces
from notifications.i18n import translator


class NoSuchPart(NotFound):
    """A part number the reply page does not have (the link itself may be fine, and have a language)."""

    def __init__(self, message: str, language: str = Language.EN) -> None:
        super().__init__(message)
        self.language = language


@dataclass(frozen=True)
class MilestoneView:
    """A milestone of an item with its due date, its life so far and whether it is overdue today."""

    id: int
    title: str
    due_date: date
    state: str
    overdue: bool
    done_on: date | None = None
    note: str = ""

    @property
    def is_open(self) -> bool:
        """Still to deliver: the agency reports on it (done, rescheduled, dropped or on track)."""
        return self.state in (MilestoneState.PLANNED, MilestoneState.OVERDUE)


@dataclass(frozen=True)
class VersionView:
    """One stored version of an item's answer (every save is kept)."""

    version: int
    status: str
    narrative: str
    state: str
    at: datetime
    channel: str


@dataclass(frozen=True)
class ReplyItem:
    """One recommendation of the request, with what was said last cycle and what is stored now."""

    recommendation_id: int
    code: str
    text: str
    role: str
    milestones: tuple[MilestoneView, ...]
    previous: AnswerView | None
    previous_cycle: str | None
    current: AnswerView | None
    state: str | None
    version: int
    reviewer_question: str
    lock_reason: str
    versions: tuple[VersionView, ...]
    files: tuple[StoredFile, ...] = ()

    @property
    def editable(self) -> bool:
        """Whether the agency may still change this item."""
        return not self.lock_reason

    @property
    def prefill(self) -> AnswerView | None:
        """What the form starts with: this cycle's stored answer (last cycle's is shown, never copied)."""
        return self.current


@dataclass(frozen=True)
class AgendaGroup:
    """Items under one agenda point (or the strategic recommendations)."""

    title: str
    items: tuple[ReplyItem, ...]


@dataclass(frozen=True)
class PartView:
    """One part of a long request's page, as its navigation lists it."""

    number: int
    title: str
    item_count: int
    saved_count: int


@dataclass(frozen=True)
class ReturnedItem:
    """An item the secretariat returned with a question, and the part of the page that holds it."""

    code: str
    recommendation_id: int
    part: int


@dataclass(frozen=True)
class ReplyPage:
    """Everything the reply page shows for one agency's request (or for one part of a long one)."""

    cycle_name: str
    hlcp_session: str | None
    deadline: date
    agency_code: str
    agency_name: str
    agency_in_text: str  # as a sentence in the page's language names it ("the ILO", "l’OIT")
    request_state: str
    answered_at: datetime | None
    past_deadline: bool
    cycle_open: bool
    secretariat_email: str
    groups: tuple[AgendaGroup, ...]
    item_count: int
    part: int = 1
    parts: tuple[PartView, ...] = ()
    part_of: dict[int, int] = field(default_factory=dict)
    returned: tuple[ReturnedItem, ...] = ()
    language: str = Language.EN

    @property
    def items(self) -> list[ReplyItem]:
        """The items shown, in page order."""
        return [item for group in self.groups for item in group.items]

    @property
    def next_part(self) -> int | None:
        """The number of the part after this one, if any."""
        return self.part + 1 if self.part < len(self.parts) else None

    @property
    def answered_count(self) -> int:
        """How many items of the whole request have a saved answer (a draft or later)."""
        return sum(part.saved_count for part in self.parts)

    @property
    def any_editable(self) -> bool:
        """Whether the page has anything left to answer or correct."""
        return any(item.editable for item in self.items)


def plan_parts(
    items: Mapping[int, Mapping[str, Any]], part_size: int | None, language: str = Language.EN
) -> list[tuple[str, list[int]]]:
    """Split a long request (its item rows, in report order) into parts; see `cut_parts`."""
    return cut_parts({rid: group_title(row, language) for rid, row in items.items()}, part_size, language)


def cut_parts(
    headings: Mapping[int, str], part_size: int | None, language: str = Language.EN
) -> list[tuple[str, list[int]]]:
    """Parts by agenda point (items' headings, in report order), none over `part_size` items; a short
    request is one part.

    A 200-item page is heavy on a phone and slow to render; a part per agenda point is what a focal
    point works through anyway. An agenda point larger than a part is cut into near-equal pieces.
    """
    if part_size is None or len(headings) <= part_size:
        return [("", list(headings))]
    groups: dict[str, list[int]] = {}
    for rid, title in headings.items():
        groups.setdefault(title, []).append(rid)
    parts: list[tuple[str, list[int]]] = []
    piece_of = translator(language).gettext("%(title)s (%(part)s of %(parts)s)")
    for title, rids in groups.items():
        pieces = near_equal_pieces(rids, part_size)
        for n, piece in enumerate(pieces, start=1):
            shown = piece_of % {"title": title, "part": n, "parts": len(pieces)} if len(pieces) > 1 else title
            parts.append((shown, list(piece)))
    return parts


def group_title(row: Mapping[str, Any], language: str = Language.EN) -> str:
    """The heading an item is listed under (see `agenda_heading`), in `language`."""
    return heading_in(row["kind"], row["agenda_point"], row["agenda_title"], language)


def heading_in(kind: str | None, agenda_point: int | None, agenda_title: str | None, language: str) -> str:
    """`agenda_heading` in `language` (the title stays as written)."""
    return translator(language).text(agenda_heading_said(kind, agenda_point, agenda_title))
