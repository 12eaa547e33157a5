"""The stock-take as a Committee document: its parts, their order and their numbered paragraphs.

Every format (Word, HTML, Markdown) walks the same outline, so each shows the same paragraphs
under the same numbers; every number in a paragraph is read from the stock-take's figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.stocktake import StockTake, long_date, plural

# The committee's heading block, as on the Committee's own documents.
COMMITTEE = (
    "United Nations System Chief Executives Board for Coordination",
    "High-Level Committee on Programmes",
)
SECRETARIAT = "CEB Secretariat"
SUMMARY_PARTS = ("highlights", "figures")  # the executive summary's two sub-parts


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


def heading_lines(st: StockTake) -> tuple[str, ...]:
    """The heading block under the committee's name: session, venue."""
    session = ", ".join(x for x in (st.cycle.hlcp_session, st.cycle.venue) if x)
    return (*COMMITTEE, session) if session else COMMITTEE


def document_date(st: StockTake) -> str:
    """The document's date: the cycle's, else the day the report was produced."""
    return long_date(st.cycle.document_date or st.produced_on)


def outline(st: StockTake) -> tuple[Part, ...]:
    """The document's parts in order, their paragraphs numbered from 1 across the whole body."""
    f, previous = st.figures, st.previous
    since = f" since {previous.title}" if previous else ""
    if st.highlights:
        highlights = [h.text for h in st.highlights]
    elif previous:
        highlights = [f"No recommendation changed status since {previous.title}."]
    else:
        highlights = ["This is the first stock-take: there is no earlier cycle to compare with."]
    blocked, unreported = len(st.blocked), f.items - f.reported
    drafts: list[tuple[str, str, list[str]]] = [
        ("summary", "Executive summary", []),
        ("highlights", "Key highlights", highlights),
        ("figures", "Figures", list(st.sentences)),
        (
            "completed",
            "Newly completed",
            [
                f"{plural(f.newly_completed, 'recommendation')} {_is(f.newly_completed)} "
                f"newly completed{since}."
            ],
        ),
        (
            "blocked",
            "Blocked, with the obstacles reported",
            [
                f"{plural(blocked, 'recommendation')} {_is(blocked)} blocked "
                f"({f.newly_blocked} newly blocked{since})."
            ],
        ),
        (
            "changes",
            "Other changes and first reports",
            [
                f"{plural(len(st.other_changes), 'other recommendation')} changed status or "
                f"{'was' if len(st.other_changes) == 1 else 'were'} reported for the first time."
            ],
        ),
        (
            "disagreements",
            "Disagreements between agencies and the secretariat",
            [
                f"The secretariat assessed {plural(f.disagreements, 'answer')} differently from the "
                "agency's own status."
            ],
        ),
        (
            "unreported",
            "Leads that did not answer",
            [
                f"{plural(unreported, 'recommendation')} {'was' if unreported == 1 else 'were'} "
                "not reported on by their lead agency."
            ],
        ),
        (
            "overdue",
            "Overdue milestones",
            [
                f"{plural(f.overdue_milestones, 'milestone')} {_is(f.overdue_milestones)} overdue across "
                f"{plural(f.items_with_overdue_milestones, 'recommendation')}."
            ],
        ),
        (
            "closed",
            "Recommendations closed by the secretariat",
            [
                f"{plural(f.closed, 'recommendation')} {'has' if f.closed == 1 else 'have'} been closed as "
                "implemented, closed or overtaken by events; the cycles no longer ask about "
                f"{'it' if f.closed == 1 else 'them'}."
            ],
        ),
        ("action", "Action requested of the Committee", [st.cycle.action_text]),
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
            paragraphs.append(Paragraph(number, text))
        parts.append(Part(key, title, tuple(paragraphs), 2 if key in SUMMARY_PARTS else 1))
    return tuple(parts)


def _is(count: int) -> str:
    return "is" if count == 1 else "are"
