"""Report text -> recommendations (pure: text in, items out).

The convention, as in CEB/2014/4 Annex V:

- Strategic recommendations: a line "Recommendation N: title", then bullets marked with roman
  numerals ("- i.", "- ii.") and, nested under them, letters ("- a.", "- b."). Codes: SR1 (the
  title), SR1.i, SR1.ii.a. A report may repeat them (executive summary and body): they are kept once,
  from the fullest occurrence (the last one on a tie).
- The appendix: a line "Appendix", then agenda points "N. Title", optional thematic sub-headings
  ending with ':' and bullets "- " with nested (indented) bullets. Codes A<point>.<n>, numbered in
  order within the point across its themes, and A<point>.<n>.<m> for nested ones.
- Page breaks split paragraphs: a paragraph that starts in lower case, or follows an item that ends
  mid-sentence, continues that item. Bare page numbers and repeated document symbols are dropped.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from domain.errors import ValidationError
from domain.model import Recommendation, RecommendationKind

MAX_SOURCE = 200
MAX_HEADING = 200

# The same words in the report's French and Spanish versions, whose items are imported as translations.
_RECOMMENDATION = re.compile(
    r"^(?:#{1,6}\s*)?\**\s*(?:Recommendation|Recommandation|Recomendaci[oó]n)\s+([0-9]{1,4})"
    r"\s*[:.\u2013\u2014-]\s*(.*)$",
    re.IGNORECASE,
)
_APPENDIX = re.compile(r"^(?:#{1,6}\s*)?\**\s*(?:Appendix|Appendice|Ap[eé]ndice)\b[^.;]*$", re.IGNORECASE)
_POINT = re.compile(r"^(?:#{1,6}\s*)?\**\s*([0-9]{1,3})\.\s+(?![0-9])(\S.*)$")
_BULLET = re.compile(r"^[-*\u2022]\s+(.*)$")
_MARKER = re.compile(r"^\(?([ivxlc]{1,7}|[a-z])[.)]\s+(.*)$")
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9]*(?:/[A-Z0-9.\-]+){1,5}$")
_SYMBOL_SUFFIX = re.compile(r"^(?:Annex|Addendum|Add\.|Corr\.)\s*[A-Z0-9IVX.]*$", re.IGNORECASE)
_FURNITURE = re.compile(r"^(?:[0-9]{1,4}|-\s*[0-9]{1,4}\s*-|page\s+[0-9]{1,4}(?:\s+of\s+[0-9]{1,4})?)$", re.I)
# Characters that never occur in a text file: C0 controls other than tab, newlines and form feed.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_FOOTNOTE = re.compile(
    r"\^\{[^}]*\}|\^[0-9ivxlcIVXLC]+|[\u2070\u00b9\u00b2\u00b3\u2074-\u2079\u2071\u1d5b\u02e3]+"
)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")
_SPACES = re.compile(r"\s+")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class ParsedItem:
    """One recommendation as the report states it, before it is stored."""

    code: str
    kind: str
    agenda_point: int | None
    agenda_title: str | None
    theme: str | None
    parent: str | None
    text: str
    position: int

    def as_json(self) -> dict[str, Any]:
        """The public shape of `followup import --dry-run --json`."""
        return {k: v for k, v in asdict(self).items() if k not in ("agenda_title", "position")}

    def to_recommendation(self, source: str) -> Recommendation:
        """A new domain Recommendation for this item of report `source`."""
        return Recommendation(
            source=source,
            code=self.code,
            kind=self.kind,
            text=self.text,
            position=self.position,
            agenda_point=self.agenda_point,
            agenda_title=self.agenda_title,
            theme=self.theme,
            parent_code=self.parent,
        )


@dataclass(frozen=True)
class ParsedReport:
    """A parsed report: where it comes from and its items in reading order."""

    source: str
    items: tuple[ParsedItem, ...]

    @property
    def codes(self) -> list[str]:
        """The items' codes in order."""
        return [item.code for item in self.items]


def decode_report(data: bytes, *, name: str = "report") -> str:
    """Bytes of a file -> text, or a ValidationError saying why it is not a text file."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ValidationError(name, f"line {line}: contains NUL bytes: this is not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValidationError(
            name, f"line {line}: byte 0x{data[exc.start]:02x} is not UTF-8: this is not a text file"
        ) from None


def detect_source(text: str) -> str | None:
    """The document symbol in the report's header (e.g. "CEB/2014/4 Annex V"), if there is one."""
    lines = [clean(line) for line in text.splitlines() if line.strip()][:30]
    for index, line in enumerate(lines):
        if _SYMBOL.match(line) and len(line) <= MAX_SOURCE:
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if _SYMBOL_SUFFIX.match(following) and len(line) + len(following) < MAX_SOURCE:
                return f"{line} {following}"
            return line
    return None


def clean(text: str) -> str:
    """Inline markdown out, words kept: emphasis, escapes and footnote markers go, spaces collapse."""
    text = _FOOTNOTE.sub("", text)
    text = _ESCAPE.sub(r"\1", text).replace("*", "")
    return _SPACES.sub(" ", text).strip()


def parse_report(text: str, *, source: str | None = None, filename: str | None = None) -> ParsedReport:
    """Parse a report into its recommendations; raises ValidationError (naming the line) if it has none.

    `source` defaults to the document symbol in the header, else `filename`.
    """
    _check_is_text(text)
    symbol = detect_source(text)
    resolved = (source or symbol or filename or "").strip()
    if not resolved:
        raise ValidationError("source", "the report has no document symbol: name it with --source")
    if len(resolved) > MAX_SOURCE:
        raise ValidationError("source", f"longer than {MAX_SOURCE} characters")
    parser = _Parser(symbol=symbol)
    for number, line in enumerate(text.splitlines(), start=1):
        parser.feed(number, line)
    items = parser.finish()
    if not items:
        raise ValidationError(
            "report",
            "no recommendations found: expected 'Recommendation N: title' lines with '- i.' items, "
            "or an 'Appendix' with numbered agenda points ('1. Title') and '- ' bullets",
        )
    return ParsedReport(resolved, tuple(items))


def _check_is_text(text: str) -> None:
    for number, line in enumerate(text.split("\n"), start=1):
        if CONTROL_CHARACTERS.search(line):
            raise ValidationError("report", f"line {number}: contains control characters: not a text file")
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("report", f"line {number}: is not valid Unicode text") from None


def roman(number: int) -> str:
    """1 -> 'i', 4 -> 'iv', 14 -> 'xiv' (the strategic items' markers)."""
    out = []
    for value, numeral in ((100, "c"), (90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix")):
        while number >= value:
            out.append(numeral)
            number -= value
    for value, numeral in ((5, "v"), (4, "iv"), (1, "i")):
        while number >= value:
            out.append(numeral)
            number -= value
    return "".join(out)


_ROMAN_VALUES = {roman(n): n for n in range(1, 200)}


@dataclass
class _Draft:
    """An item being read: its text may still grow across a page break."""

    code: str
    kind: str
    parent: str | None
    text: str
    agenda_point: int | None = None
    agenda_title: str | None = None
    theme: str | None = None

    def extend(self, more: str) -> None:
        """Append the rest of the item's text (a word hyphenated across the break is rejoined)."""
        joiner = "" if re.search(r"[A-Za-z]-$", self.text) and more[:1].islower() else " "
        self.text = f"{self.text}{joiner}{more}"

    def ends_mid_sentence(self) -> bool:
        """The text stops on a word or an open bracket: what follows must continue it."""
        tail = self.text.rstrip("*_ ")
        return bool(tail) and (tail[-1].isalnum() or tail[-1] in "-\u2013\u2014/(")


@dataclass
class _Block:
    """One occurrence of "Recommendation N" and its items."""

    number: int
    items: list[_Draft] = field(default_factory=list)
    roman_index: int = 0
    current_roman: str | None = None
    letter_index: int | None = None


class _Parser:
    """A line-by-line state machine over the report (see the module docstring for the convention)."""

    def __init__(self, symbol: str | None) -> None:
        self.symbol_line = symbol.split(" ")[0] if symbol else None
        self.strategic: dict[int, list[_Draft]] = {}
        self.annex: list[_Draft] = []
        self.block: _Block | None = None
        self.in_appendix = False
        self.point: int | None = None
        self.point_title: str | None = None
        self.point_open = False
        self.theme: str | None = None
        self.base_indent = 0
        self.top_count: dict[int, int] = {}
        self.nested_count: dict[str, int] = {}
        self.last_top: _Draft | None = None
        self.open_item: _Draft | None = None
        self.blank = True
        self.title_open = False

    def feed(self, number: int, raw: str) -> None:
        """Read line `number` of the report."""
        stripped = raw.strip()
        if not stripped:
            self.blank = True
            return
        if _FURNITURE.match(stripped) or stripped == self.symbol_line:
            return
        # A line right under another (no blank line between) belongs to the same paragraph.
        wrapped, self.blank = not self.blank, False
        title_continues, self.title_open = self.title_open and wrapped, False
        indent = len(raw) - len(raw.lstrip())
        heading = _RECOMMENDATION.match(stripped)
        if heading:
            self._start_block(number, int(heading.group(1)), clean(heading.group(2)))
            return
        if _APPENDIX.match(stripped) and len(stripped.split()) <= 12:
            self._close_block()
            self.in_appendix, self.point, self.point_open = True, None, False
            return
        bullet = _BULLET.match(stripped)
        if bullet:
            self._bullet(number, indent, bullet.group(1))
            return
        if title_continues and self.block is not None:
            self.block.items[0].extend(clean(stripped))
            self.title_open = True
            return
        self._paragraph(stripped, wrapped)

    def _start_block(self, number: int, n: int, title: str) -> None:
        self._close_block()
        if not title:
            raise ValidationError("report", f"line {number}: Recommendation {n} has no title")
        self.block = _Block(n)
        self.block.items.append(_Draft(f"SR{n}", RecommendationKind.STRATEGIC.value, None, title))
        self.open_item, self.title_open = None, True

    def _close_block(self) -> None:
        block, self.block = self.block, None
        self.open_item = None
        if block is None:
            return
        previous = self.strategic.get(block.number)
        # The same recommendation twice (summary and body): keep the fuller, else the later one.
        if previous is None or len(block.items) >= len(previous):
            self.strategic[block.number] = block.items

    def _bullet(self, number: int, indent: int, content: str) -> None:
        if self.block is not None:
            self._strategic_item(number, content)
        elif self.in_appendix and self.point is not None and self.point_open:
            self._annex_item(number, indent, content)
        else:
            self.open_item = None  # bullets outside recommendations (highlights, endnotes) are not items

    def _strategic_item(self, number: int, content: str) -> None:
        block = self.block
        assert block is not None
        marked = _MARKER.match(content)
        if not marked:
            raise ValidationError(
                "report",
                f"line {number}: an item of Recommendation {block.number} needs a marker such as "
                "'- i.' or '- a.'",
            )
        marker, text = marked.group(1), clean(marked.group(2))
        if not text:
            raise ValidationError("report", f"line {number}: item '{marker}.' has no text")
        root = f"SR{block.number}"
        if self._is_letter(block, marker, number):
            block.letter_index = _LETTERS.index(marker)
            parent = block.current_roman or root
            code = f"{parent}.{marker}"
        else:
            block.roman_index = _ROMAN_VALUES[marker]
            block.current_roman, block.letter_index = f"{root}.{marker}", None
            code, parent = block.current_roman, root
        if any(item.code == code for item in block.items):
            raise ValidationError("report", f"line {number}: item '{code}' appears twice")
        self.open_item = _Draft(code, RecommendationKind.STRATEGIC.value, parent, text)
        block.items.append(self.open_item)

    @staticmethod
    def _is_letter(block: _Block, marker: str, number: int) -> bool:
        """'i' is a letter after 'h' and a numeral after a numeral: decide by what comes next."""
        letters_open = block.letter_index is not None and block.letter_index + 1 < len(_LETTERS)
        if letters_open and marker == _LETTERS[(block.letter_index or 0) + 1]:
            return True
        if marker == roman(block.roman_index + 1):
            return False
        if len(marker) > 1:
            if marker not in _ROMAN_VALUES:
                raise ValidationError("report", f"line {number}: '{marker}.' is not a roman numeral")
            return False
        return not (marker in "ivx" and block.letter_index is None)

    def _annex_item(self, number: int, indent: int, content: str) -> None:
        point = self.point
        assert point is not None
        text = clean(content)
        if not text:
            raise ValidationError("report", f"line {number}: a bullet has no text")
        nested = self.last_top is not None and indent > self.base_indent
        if nested:
            assert self.last_top is not None
            parent: str | None = self.last_top.code
            self.nested_count[self.last_top.code] = self.nested_count.get(self.last_top.code, 0) + 1
            code = f"{parent}.{self.nested_count[self.last_top.code]}"
        else:
            if self.last_top is None:
                self.base_indent = indent
            parent = None
            self.top_count[point] = self.top_count.get(point, 0) + 1
            code = f"A{point}.{self.top_count[point]}"
        item = _Draft(
            code,
            RecommendationKind.ANNEX.value,
            parent,
            text,
            agenda_point=point,
            agenda_title=self.point_title,
            theme=self.theme,
        )
        if not nested:
            self.last_top = item
        self.annex.append(item)
        self.open_item = item

    def _paragraph(self, line: str, wrapped: bool) -> None:
        text = clean(line)
        if not text:
            return
        item = self.open_item
        starts_lower = text[0].islower() or (text[0].isdigit() and not _POINT.match(line))
        if item is not None and starts_lower:
            item.extend(text)
            return
        point = _POINT.match(line) if self.in_appendix and self.block is None else None
        if point and len(line) <= MAX_HEADING:
            self._start_point(int(point.group(1)), clean(point.group(2)))
            return
        lead_in = text.endswith(":") and len(text) <= MAX_HEADING
        if item is not None and (item.ends_mid_sentence() or (wrapped and not lead_in)):
            item.extend(text)
            return
        self.open_item = None
        if lead_in:
            if self.in_appendix and self.point is not None and self.block is None:
                # A new theme starts a new list: its first bullet is never nested.
                self.theme, self.last_top = text[:-1].strip() or None, None
            return  # a lead-in ("the CEB could:") keeps the list open
        if self.block is not None:
            self._close_block()
        elif self.in_appendix and self.point is not None and self.top_count.get(self.point):
            self.point_open = False  # prose after a point's list (endnotes, annexes) is not an item

    def _start_point(self, number: int, title: str) -> None:
        self.point, self.point_title, self.point_open = number, title or None, True
        self.theme, self.last_top, self.open_item, self.base_indent = None, None, None, 0

    def finish(self) -> list[ParsedItem]:
        """The items read, strategic ones first, numbered by position."""
        self._close_block()
        drafts = [d for n in sorted(self.strategic) for d in self.strategic[n]] + self.annex
        return [
            ParsedItem(
                code=d.code,
                kind=d.kind,
                agenda_point=d.agenda_point,
                agenda_title=d.agenda_title,
                theme=d.theme,
                parent=d.parent,
                text=d.text,
                position=position,
            )
            for position, d in enumerate(drafts, start=1)
        ]
