"""The stock-take as a Committee document: its parts, their order and their numbered paragraphs.

Every format (Word, HTML, Markdown) walks the same outline, so each shows the same paragraphs
under the same numbers; every number in a paragraph is read from the stock-take's figures. The
outline is written in the secretariat's language (`Words`), as is every heading and label the
formats add around it (`Wording`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

from domain.language import ENGLISH, N_, Message, Words, plural_message
from domain.stocktake import (
    ItemReport,
    OwnerPart,
    StockTake,
    answers,
    overdue_milestones_said,
    status_label,
)

# The committee's heading block, as on the Committee's own documents.
COMMITTEE = (
    N_("United Nations System Chief Executives Board for Coordination"),
    N_("High-Level Committee on Programmes"),
)
SECRETARIAT = N_("CEB Secretariat")
SUMMARY_PARTS = ("highlights", "figures")  # the executive summary's two sub-parts


class Wording:
    """The document's words in one language: sentences, labels and dates, each day written once."""

    def __init__(self, words: Words = ENGLISH) -> None:
        self.words = words
        self.language = words.language.value
        self.gettext = words.gettext
        self.text = words.text
        # Asked for every owner of every recommendation: each day and status is written once.
        self._date: Callable[[date], str] = lru_cache(maxsize=1024)(words.long_date)
        self._status: Callable[[str | None], str] = cache(lambda status: self.gettext(status_label(status)))
        # The answer line's wordings, looked up once: it is said for every owner of every item in full.
        self._lead = self.gettext(N_("%(who)s (lead)"))
        self._no_answer = self.gettext(N_("%(who)s: no answer."))
        self._agency_status = self.gettext(N_("agency: %(status)s"))
        self._answered = self.gettext(N_("%(who)s, %(date)s: %(status)s."))

    def long_date(self, day: date | None) -> str:
        """A day in running text ("1 December 2026", "1er décembre 2026"); empty for none."""
        return self._date(day) if day is not None else ""

    def status(self, status: str | None) -> str:
        """A status's label ("In progress", "En cours"); "No answer" for none."""
        return self._status(status)

    def percent(self, rate: int) -> str:
        """A whole percentage: 78%, 78 %."""
        return self.text(Message(N_("%(rate)s%%"), {"rate": rate}))

    def say(self, msgid: str, **values: object) -> str:
        """A sentence of a template or a table, its values formatted for the language."""
        if not values:
            return self.gettext(msgid)
        # Most: plain text, nothing to format, said faster. A body's name (a `RunningName`) goes the
        # long way, which fuses a preposition with it.
        if all(type(value) is str for value in values.values()):
            return self.gettext(msgid) % values
        return self.text(Message(msgid, values))

    def notes(self, notes: tuple[str, ...]) -> str:
        """What is said beside an answer's status: " (no change since last time)", or nothing."""
        return f" ({'; '.join(map(self.gettext, notes))})" if notes else ""

    def answer_line(self, o: OwnerPart, who: str) -> str:
        """How a recommendation in full introduces an owner's answer, `who` being its name as the format
        writes it: "UNICEF (lead), 10 March 2026: Completed (agency: In progress).", "ILO: no answer."."""
        # Said for every owner of every recommendation in full: formatted here, not through `say`.
        if o.is_lead:
            who = self._lead % {"who": who}
        if not o.answered:
            return self._no_answer % {"who": who}
        status = self.status(o.effective_status)
        if o.disagrees:
            own = self._agency_status % {"status": self.status(o.reported_status)}
            status += f" ({own})"
        status += self.notes(o.answer_notes)
        return self._answered % {
            "who": who,
            "date": self.long_date(o.reported_on),
            "status": status,
        }

    def change_note(self, item: ItemReport) -> str:
        """What a recommendation in full says of its change: "(was In progress; changed, newly overdue)"."""
        if item.change is None:
            return ""
        status, change = self.status(item.previous_status), self.gettext(item.change.label).lower()
        if item.newly_overdue:
            return self.say(N_("(was %(status)s; %(change)s, newly overdue)"), status=status, change=change)
        return self.say(N_("(was %(status)s; %(change)s)"), status=status, change=change)


@cache  # one per language: its days are written once for every format
def wording(words: Words = ENGLISH) -> Wording:
    """The document's words in `words`' language."""
    return Wording(words)


@dataclass(frozen=True)
class Paragraph:
    """A numbered paragraph of the document's body."""

    number: int
    text: str


@dataclass(frozen=True)
class Part:
    """A chapter of the document (its heading and numbered paragraphs; what follows is per part)."""

    key: str
    title: str
    paragraphs: tuple[Paragraph, ...]
    level: int = 1


def heading_lines(st: StockTake, words: Wording) -> tuple[str, ...]:
    """The heading block under the committee's name: session, venue."""
    committee = tuple(map(words.gettext, COMMITTEE))
    session = ", ".join(x for x in (st.cycle.hlcp_session, st.cycle.venue) if x)
    return (*committee, session) if session else committee


def document_date(st: StockTake, words: Wording) -> str:
    """The document's date: the cycle's, else the day the report was produced."""
    return words.long_date(st.cycle.document_date or st.produced_on)


def outline(st: StockTake, words: Wording) -> tuple[Part, ...]:
    """The document's parts in order, their paragraphs numbered from 1 across the whole body."""
    f, previous = st.figures, st.previous
    cycle = previous.title if previous else ""
    if st.highlights:
        highlights = [h.text(words.words) for h in st.highlights]
    elif previous:
        highlights = [
            words.text(
                Message(N_("No recommendation changed status since %(previous)s."), {"previous": cycle})
            )
        ]
    else:
        highlights = [
            words.gettext(N_("This is the first stock-take: there is no earlier cycle to compare with."))
        ]
    blocked, unreported = len(st.blocked), f.not_reported
    if previous:
        blocked_said = plural_message(
            "%(num)s recommendation is blocked (%(newly)s newly blocked since %(previous)s).",
            "%(num)s recommendations are blocked (%(newly)s newly blocked since %(previous)s).",
            blocked,
            newly=f.newly_blocked,
            previous=cycle,
        )
    else:  # a first stock-take: nothing is newly blocked, there is no earlier cycle
        blocked_said = plural_message(
            "%(num)s recommendation is blocked.", "%(num)s recommendations are blocked.", blocked
        )
    drafts: list[tuple[str, str, list[Message | str]]] = [
        ("summary", N_("Executive summary"), []),
        ("highlights", N_("Key highlights"), list(highlights)),
        ("figures", N_("Figures"), list(st.sentences)),
        (
            "completed",
            N_("Newly completed"),
            [
                plural_message(
                    "%(num)s recommendation is newly completed since %(previous)s.",
                    "%(num)s recommendations are newly completed since %(previous)s.",
                    f.newly_completed,
                    previous=cycle,
                )
            ],
        ),
        ("blocked", N_("Blocked, with the obstacles reported"), [blocked_said]),
        (
            "changes",
            N_("Other changes and first reports"),
            [
                plural_message(
                    "%(num)s other recommendation changed status or was reported for the first time.",
                    "%(num)s other recommendations changed status or were reported for the first time.",
                    len(st.other_changes),
                )
            ],
        ),
        (
            "disagreements",
            N_("Disagreements between agencies and the secretariat"),
            [
                Message(
                    N_("The secretariat assessed %(answers)s differently from the agency's own status."),
                    {"answers": answers(f.disagreements)},
                )
            ],
        ),
        (
            "unreported",
            N_("Leads that did not answer"),
            [
                plural_message(
                    "%(num)s recommendation was not reported on by their lead agency.",
                    "%(num)s recommendations were not reported on by their lead agency.",
                    unreported,
                )
            ],
        ),
        ("overdue", N_("Overdue milestones"), [overdue_milestones_said(f)]),
        (
            "closed",
            N_("Recommendations closed by the secretariat"),
            [
                plural_message(
                    "%(num)s recommendation has been closed as implemented, closed or overtaken by events; "
                    "the cycles no longer ask about it.",
                    "%(num)s recommendations have been closed as implemented, closed or overtaken by events; "
                    "the cycles no longer ask about them.",
                    f.closed,
                )
            ],
        ),
        (
            "action",
            N_("Action requested of the Committee"),
            [st.cycle.action_text],
        ),
    ]
    if previous is None:  # a first stock-take has nothing newly completed nor changed to show
        drafts = [draft for draft in drafts if draft[0] not in ("completed", "changes")]
    if not st.closed:
        drafts = [draft for draft in drafts if draft[0] != "closed"]
    parts, number = [], 0
    for key, title, texts in drafts:
        paragraphs = []
        for text in texts:
            number += 1
            # A plain string is said already (a highlight) or the secretariat's own (the action requested).
            paragraphs.append(Paragraph(number, text if isinstance(text, str) else words.text(text)))
        parts.append(Part(key, words.gettext(title), tuple(paragraphs), 2 if key in SUMMARY_PARTS else 1))
    return tuple(parts)
