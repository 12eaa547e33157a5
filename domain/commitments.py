"""Dated commitments in a report's prose -> suggested milestones (pure: text in, suggestions out).

"UNCTAD will hold an Expert Meeting on the impact of access to financial services on 10-14 November
2014 in Geneva" says who will do what by when. A sentence is a commitment when it speaks of the
future (will, plans to, to be launched, tentatively...) and gives a date: a day, a month, a season,
"mid-2014", "the first half of 2014" or "in 2015". The due date is the day given, else the end of
the period. Each commitment keeps its sentence and section as provenance, names the agency its
sentence names first, and is linked to the recommendation it serves: among the items of the agenda
point whose title the section's heading repeats (the whole report when none does), the one that
shares the most distinctive words with the sentence. No network, no model: the secretariat reviews.
"""

from __future__ import annotations

import calendar
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.importer import clean
from domain.model import Agency, Recommendation
from domain.owners import AliasIndex

MAX_TITLE = 160

_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_MONTH = "|".join(calendar.month_name[1:])
_YEAR = r"(?:19|20)[0-9]{2}"
# The day given (the first of a range: "10-14 November 2014", "3 and 4 July, 2013").
_DAY = re.compile(
    rf"\b([0-9]{{1,2}})(?:\s*(?:-|\u2013|and|to)\s*[0-9]{{1,2}})?\s+({_MONTH}),?\s+({_YEAR})\b", re.I
)
_MONTH_YEAR = re.compile(rf"\b({_MONTH}),?\s+({_YEAR})\b", re.I)
_SEASON = re.compile(rf"\b(spring|summer|fall|autumn|winter)\s+(?:of\s+)?({_YEAR})\b", re.I)
_HALF = re.compile(
    rf"\b(mid|first half of|second half of|end of|early|late)[-\s]+(?:the\s+)?({_YEAR})\b", re.I
)
_YEAR_ONLY = re.compile(rf"\b(?:in|by|during|until|before|within)\s+(?:the\s+year\s+)?({_YEAR})\b", re.I)
# Ends of seasons (northern hemisphere, as UN calendars use them): the latest date the words allow.
_SEASON_END = {"spring": (6, 20), "summer": (9, 22), "fall": (12, 21), "autumn": (12, 21), "winter": (3, 20)}
_HALF_END = {"mid": (6, 30), "first half of": (6, 30), "early": (6, 30)}

_FUTURE = re.compile(
    r"\b(?:will|shall|plans?\s+to|planning\s+to|intends?\s+to|to\s+be\s+(?:launched|held|convened|"
    r"released|published|presented|organi[sz]ed|finali[sz]ed)|tentatively|scheduled|forthcoming|upcoming)\b",
    re.I,
)
_PASSIVE = re.compile(r"\s+(?:will|shall)\s+(?:also\s+)?be\s+(\w+)", re.I)
_ACTIVE = re.compile(
    r"\b(?:will|shall|to)\s+(?:also\s+)?"
    r"(?:hold|convene|launch|publish|release|organi[sz]e|prepare|present|issue|host|support|finali[sz]e|"
    r"submit|adopt|produce|carry out|implement|develop|include|offer)\s+",
    re.I,
)
_LEADING = re.compile(r"^(?:an?|the|also|to)\s+", re.I)
_TRAILING = re.compile(r"[\s,;:.(]+$")
_SECTION = re.compile(r"^([0-9]{1,2}(?:\.[0-9]{1,2})+)\.?\s+(\S.{0,150})$")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]?\s+(?=[A-Z\u201c\"(])")
_ABBREVIATION = re.compile(r"\b(?:No|Nos|e\.g|i\.e|Mr|Mrs|Ms|Dr|St|Art|para|paras|vol|cf|al)\.$", re.I)
_WORD = re.compile(r"[a-z][a-z-]{2,}")
# Words too common in recommendations to tell one from another.
_STOP_WORDS = (
    "the and for with that this from into their its are was were has have been will shall can could "
    "also all any such other more most than then them they these those which while who whom whose "
    "within through including include includes based between among upon over under about after before "
    "well being both each per via may might should would must not only new use used ensure promote "
    "support develop work working states state member countries country agencies agency system "
)
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class Commitment:
    """A dated commitment found in the prose, before it is linked to a recommendation."""

    title: str
    due: date
    sentence: str
    paragraph: str
    section: str
    agency_code: str | None


@dataclass(frozen=True)
class SuggestedMilestone:
    """A milestone proposed from the report, with its provenance and why it serves `code`."""

    code: str
    title: str
    due: date
    agency_code: str | None
    sentence: str
    section: str
    reason: str


def due_dates(sentence: str) -> list[tuple[date, re.Match[str]]]:
    """Each date the sentence gives, as the day it names or the end of the period, in reading order."""
    found: list[tuple[date, re.Match[str]]] = []
    taken: list[tuple[int, int]] = []

    def free(match: re.Match[str]) -> bool:
        return all(match.end() <= start or match.start() >= end for start, end in taken)

    def add(due: date, match: re.Match[str]) -> None:
        found.append((due, match))
        taken.append(match.span())

    for match in _DAY.finditer(sentence):
        day, month, year = int(match.group(1)), _MONTHS[match.group(2).lower()], int(match.group(3))
        if 1 <= day <= calendar.monthrange(year, month)[1]:
            add(date(year, month, day), match)
        else:
            taken.append(match.span())  # "31 February" is a typo, not the end of February
    for match in _MONTH_YEAR.finditer(sentence):
        if free(match):
            year, month = int(match.group(2)), _MONTHS[match.group(1).lower()]
            add(date(year, month, calendar.monthrange(year, month)[1]), match)
    for match in _SEASON.finditer(sentence):
        if free(match):
            month, day = _SEASON_END[match.group(1).lower()]
            year = int(match.group(2)) + (1 if match.group(1).lower() == "winter" else 0)
            add(date(year, month, day), match)
    for match in _HALF.finditer(sentence):
        if free(match):
            month, day = _HALF_END.get(match.group(1).lower(), (12, 31))
            add(date(int(match.group(2)), month, day), match)
    for match in _YEAR_ONLY.finditer(sentence):
        if free(match):
            add(date(int(match.group(1)), 12, 31), match)
    return sorted(found, key=lambda pair: pair[1].start())


def find_commitments(text: str, agencies: Sequence[Agency] = ()) -> list[Commitment]:
    """The dated commitments in the report's prose (before its Appendix), in reading order."""
    index = AliasIndex(agencies)
    out: list[Commitment] = []
    section = ""
    for paragraph in _prose(text):
        heading = _SECTION.match(paragraph)
        if heading and not paragraph.endswith("."):
            section = f"{heading.group(1)} {heading.group(2)}"
            continue
        for sentence in _sentences(paragraph):
            if not _FUTURE.search(sentence):
                continue
            named = index.named_in(sentence) or index.named_in(paragraph)
            for due, match in due_dates(sentence):
                if sentence[: match.start()].count("(") > sentence[: match.start()].count(")"):
                    continue  # a date in brackets cites a past meeting or a source
                clause = _clause(sentence, match)
                if not _FUTURE.search(clause):
                    continue  # a date in a part of the sentence that tells of the past
                title = _title(clause, match)
                if title:
                    agency = index.named_in(clause) or named
                    out.append(
                        Commitment(title, due, sentence, paragraph, section, agency[0][0] if agency else None)
                    )
    return out


def suggest_milestones(
    text: str, recommendations: Sequence[Recommendation], agencies: Sequence[Agency] = ()
) -> list[SuggestedMilestone]:
    """Milestones proposed from the report's dated commitments, each linked to the item it serves."""
    weights = _weights(recommendations)
    points = {(r.agenda_point, r.agenda_title) for r in recommendations if r.agenda_point is not None}
    out: list[SuggestedMilestone] = []
    seen: set[tuple[str, str]] = set()
    for commitment in find_commitments(text, agencies):
        point = _point_of(commitment.section, points)
        sentence, paragraph = _words(commitment.sentence), _words(commitment.paragraph)
        # The body's sections follow the agenda: a section's commitments serve that point's items.
        candidates = [r for r in recommendations if point is None or r.agenda_point == point]
        scored = [(_score(sentence, paragraph, r, weights), r) for r in candidates]
        score, rec = max(scored, key=lambda pair: pair[0][0], default=((0.0, []), None))
        if rec is None or score[0] <= 0 or (rec.code, commitment.title) in seen:
            continue
        seen.add((rec.code, commitment.title))
        where = f"section {commitment.section.split(' ')[0]} is agenda point {point}; " if point else ""
        # Shown as the sentence spells them, not as stems.
        spelled = {_stem(w): w for w in reversed(_WORD.findall(commitment.sentence.lower()))}
        shared = [spelled.get(stem, stem) for stem in score[1][:4]]
        reason = f"{where}shares: {', '.join(shared)}" if shared else where.rstrip("; ")
        out.append(
            SuggestedMilestone(
                rec.code,
                commitment.title,
                commitment.due,
                commitment.agency_code,
                commitment.sentence,
                commitment.section,
                reason,
            )
        )
    return out


def _prose(text: str) -> list[str]:
    """The report's paragraphs up to its Appendix, cleaned of markup; lists and headings included."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if re.match(r"^(?:#{1,6}\s*)?\**\s*Appendix\b", stripped, re.I):
            break
        if stripped and not stripped.startswith(("- ", "* ")):
            current.append(stripped)
            continue
        if current:
            paragraphs.append(clean(" ".join(current)))
            current = []
    if current:
        paragraphs.append(clean(" ".join(current)))
    return _rejoined(paragraphs)


def _rejoined(paragraphs: list[str]) -> list[str]:
    """A paragraph cut by a page break (the next starts in lower case) is joined back."""
    out: list[str] = []
    for paragraph in paragraphs:
        if out and paragraph[:1].islower():
            out[-1] = f"{out[-1]} {paragraph}"
        else:
            out.append(paragraph)
    return out


def _sentences(paragraph: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        if _ABBREVIATION.search(paragraph[start : match.start()]):
            continue
        sentences.append(paragraph[start : match.start()].strip())
        start = match.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def _clause(sentence: str, match: re.Match[str]) -> str:
    """The part of the sentence that holds the date: clauses split at '; ' and at ' and ' + a new verb."""
    bounds = [0]
    for split in re.finditer(r";\s+|,?\s+and\s+(?=(?:an?|the)\s+[^,]*?\b(?:will|shall)\b)", sentence):
        bounds.append(split.start())
        bounds.append(split.end())
    bounds.append(len(sentence))
    for start, end in zip(bounds[::2], bounds[1::2], strict=False):
        if start <= match.start() < end:
            return sentence[start:end]
    return sentence


def _title(clause: str, match: re.Match[str]) -> str:
    """What will be done: the object of the clause's verb, or the subject of a passive one; no date."""
    at = clause.find(match.group(0))
    head = clause[:at] if at >= 0 else clause
    tail = clause[at + len(match.group(0)) :] if at >= 0 else ""
    # The date phrase and its preposition go ("on 10-14 November 2014", "in the spring of 2014").
    head = re.sub(r"\s+(?:on|in|at|by|during|from|until|before|within)(?:\s+the)?\s*$", "", head)
    text = f"{head} {tail.lstrip(' ,')}".strip()
    actives = list(_ACTIVE.finditer(text))
    before = [m for m in actives if m.start() < len(head)]
    active = before[-1] if before else (actives[0] if actives else None)
    passive = _PASSIVE.search(text)
    if active and (passive is None or active.start() < passive.start() or not before):
        title = text[active.end() :]
    elif passive:
        parts = re.split(r",\s+", text[: passive.start()])
        while len(parts) > 1 and re.match(r"(?:which|that|who|an?)\b", parts[-1], re.I):
            parts.pop()  # "the Academy, an annual event, which will be held": the Academy is held
        subject = parts[-1]
        title = f"{subject} {passive.group(1)}{text[passive.end() :]}"
    else:
        title = text
    title = _TRAILING.sub("", " ".join(title.split()))
    title = re.sub(r"\s+(?:tentatively|in\s+[A-Z][a-z]+)$", "", title)
    title = _LEADING.sub("", title).strip()
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 1].rsplit(" ", 1)[0].rstrip(",;:") + "\u2026"
    return title[:1].upper() + title[1:] if len(title) >= 8 else ""


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _weights(recommendations: Sequence[Recommendation]) -> dict[str, float]:
    """Rare words weigh more: a word in every recommendation says nothing about which one."""
    counts = Counter(w for r in recommendations for w in _words(r.text))
    total = max(len(recommendations), 1)
    return {w: math.log((1 + total) / (1 + n)) for w, n in counts.items()}


def _score(
    sentence: set[str], paragraph: set[str], rec: Recommendation, weights: dict[str, float]
) -> tuple[float, list[str]]:
    """How well `rec` matches: distinctive words it shares with the sentence (double) and its paragraph."""
    words = _words(rec.text)
    shared = sorted(sentence & words, key=lambda w: (-weights.get(w, 0.0), w))
    score = 2 * sum(weights.get(w, 0.0) for w in shared) + sum(weights.get(w, 0.0) for w in paragraph & words)
    return score, shared


def _point_of(section: str, points: set[tuple[int, str | None]]) -> int | None:
    """The agenda point whose title the section heading repeats ("2.2 Reduce the costs ...": point 2)."""
    heading = _words(section)
    best: tuple[float, int | None] = (0.0, None)
    for number, title in sorted(points, key=lambda point: point[0]):
        words = _words(title or "")
        if words:
            overlap = len(heading & words) / len(words)
            if overlap > best[0]:
                best = (overlap, number)
    return best[1] if best[0] >= 0.6 else None
