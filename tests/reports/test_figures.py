"""One set of figures: their invariants, the sentences that cite them, and every format showing them.

The invariants run on the database fixture (both backends), the demo-like stock-take and
Hypothesis-generated cycles; the formats are parsed back (Markdown, HTML, spreadsheet, Word).
"""

from __future__ import annotations

import dataclasses
import io
import re
from html.parser import HTMLParser

import docx
import openpyxl
from hypothesis import given, settings

from domain.figures import CHANGE_FIGURES, every_figure, headline
from domain.stocktake import NO_ANSWER, STATUS_ORDER, StockTake, status_label
from reporting.docx import render_docx
from reporting.html import render_html
from reporting.markdown import render_markdown
from reporting.xlsx import render_xlsx
from tests.reports.demo_like import demo_like_stocktake, generated_stocktakes

# Each sentence of the summary that cites figures, and the figures it cites, in order.
SENTENCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        r"The lead agency reported on (\d+) of (\d+) recommendations? \((\d+)%\); contributing "
        r"agencies answered (\d+) of their (\d+) parts?\.",
        ("reported", "items", "reported_rate", "contributor_parts_answered", "contributor_parts"),
    ),
    (
        r"Since [^,]+, (\d+) recommendations? changed status \((\d+) newly completed, (\d+) newly "
        r"blocked\), (\d+) (?:is|are) unchanged, (\d+) (?:was|were) reported for the first time "
        r"and (\d+) (?:was|were) not reported on by their lead\.",
        ("changed", "newly_completed", "newly_blocked", "unchanged", "first_report", "not_reported"),
    ),
    (
        r"(\d+) of (\d+) agenc(?:y|ies) answered, (\d+) of them in full; \d+ did not answer at all"
        r"[^;]*; (\d+) requests? (?:is|are) overdue after the reply deadline of [^.]+\.",
        ("agencies_answered", "agencies", "agencies_answered_in_full", "overdue_requests"),
    ),
    (
        r"(\d+) milestones? (?:is|are) overdue across (\d+) recommendations?\.",
        ("overdue_milestones", "items_with_overdue_milestones"),
    ),
    (r"The secretariat assessed (\d+) answers? differently from .*", ("disagreements",)),
)
STATUS_SENTENCE = re.compile(r"The reported recommendations stand as follows: (.+)\.")


def assert_invariants(stocktake: StockTake) -> None:
    """The figures agree with each other and with the items, and each sentence cites them exactly."""
    f = stocktake.figures
    assert 0 <= f.reported <= f.items == len(stocktake.items)
    assert sum(f.status_counts.values()) == f.items
    assert f.status_counts[NO_ANSWER] == f.items - f.reported
    assert f.contributor_parts_answered <= f.contributor_parts
    assert f.agencies_answered_in_full <= f.agencies_answered <= f.agencies
    assert f.items_with_overdue_milestones <= min(f.overdue_milestones, f.items)
    assert f.newly_overdue_items <= f.items_with_overdue_milestones
    assert f.items_with_disagreement <= f.disagreements
    assert f.not_reported == f.items - f.reported  # in a first cycle too
    if f.compared:
        assert sum(f.change_counts.values()) == f.items  # the categories partition the items
        assert f.newly_completed + f.newly_blocked <= f.changed
    else:
        assert f.changed == f.unchanged == f.first_report == f.newly_completed == f.newly_blocked == 0
    # Every recommendation is shown once: in full in one section, or as one row of the annex.
    shown = stocktake.newly_completed + stocktake.blocked + stocktake.other_changes + stocktake.compact
    assert sorted(item.code for item in shown) == sorted(item.code for item in stocktake.items)
    assert_sentences_cite_the_figures(stocktake)


def assert_sentences_cite_the_figures(stocktake: StockTake) -> None:
    """Every number in every sentence is the figure the sentence names (no number left unchecked)."""
    values = stocktake.figures.as_dict()
    if not stocktake.figures.items:
        assert tuple(map(str, stocktake.sentences)) == (
            f"No recommendation was part of the {stocktake.cycle.title} stock-take.",
        )
        return
    for sentence in map(str, stocktake.sentences):
        if status := STATUS_SENTENCE.fullmatch(sentence):
            said = {
                label: n for n, label in (part.split(" ", 1) for part in re.split(r", | and ", status[1]))
            }
            expected = {
                status_label(s).lower(): str(n)
                for s, n in stocktake.figures.status_counts.items()
                if n and s != NO_ANSWER
            }
            assert said == expected, sentence
            continue
        matches = [(m, names) for pattern, names in SENTENCES if (m := re.fullmatch(pattern, sentence))]
        if not matches:
            assert not re.search(r"\d", sentence), f"a sentence with unchecked numbers: {sentence}"
            continue
        ((match, names),) = matches
        assert [int(n) for n in match.groups()] == [values[name] for name in names], sentence


def test_the_figures_agree_on_the_database_fixture(stocktake: StockTake) -> None:
    assert_invariants(stocktake)
    f = stocktake.figures
    # A2.2's lead answered nothing: not reported, though its contributor did answer.
    assert (f.items, f.reported, f.changed, f.newly_completed, f.newly_blocked) == (9, 7, 3, 1, 1)
    assert (f.overdue_milestones, f.overdue_requests, f.disagreements) == (2, 4, 1)


def test_the_figures_agree_on_the_demo_like_stocktake() -> None:
    stocktake = demo_like_stocktake()
    assert_invariants(stocktake)
    assert stocktake.figures.items == 85 and stocktake.figures.overdue_requests == 8


@settings(max_examples=150, deadline=None)
@given(generated_stocktakes())
def test_the_figures_agree_on_any_generated_cycle(stocktake: StockTake) -> None:
    assert_invariants(stocktake)


def _expected(stocktake: StockTake) -> dict[str, object]:
    f = stocktake.figures
    return {
        "sentences": list(map(str, stocktake.sentences)),
        "changes": [f.changed, f.newly_completed, f.newly_blocked, f.unchanged, f.first_report,
                    f.not_reported, f.items],
        "statuses": [f.status_counts[s] for s in STATUS_ORDER] + [f.items],
    }  # fmt: skip


def _numbers(cells: list[str]) -> list[int]:
    return [int(cell.strip("*% ")) for cell in cells]


def _from_markdown(text: str) -> dict[str, object]:
    figures = text.split("### Figures\n", 1)[1].split("\n####", 1)[0]
    sentences = re.findall(r"^\d+\\\. (.+)$", figures, flags=re.MULTILINE)
    changes = text.split("#### Change since", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("|").split("|") for line in changes.splitlines()[2:]]
    status_all = next(line for line in text.splitlines() if line.startswith("| **All** |"))
    return {
        "sentences": sentences,
        "changes": _numbers([row[1] for row in rows]),
        "statuses": _numbers(status_all.strip("|").split("|")[1:]),
    }


class _Cells(HTMLParser):
    """The text of each <p class="para">, and the rows of each table, by table class."""

    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._text: list[str] | None = None
        self._para = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag == "table":
            self._table = classes
            self.tables[classes] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") or (tag == "p" and classes == "para"):
            self._text, self._para = [], tag == "p"

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._text is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._text).strip())
            self._text = None
        elif tag == "p" and self._para and self._text is not None:
            self.paragraphs.append(re.sub(r"^\d+\.", "", "".join(self._text)))
            self._text, self._para = None, False

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def _from_html(text: str, stocktake: StockTake) -> dict[str, object]:
    parsed = _Cells()
    parsed.feed(text)
    start = len(stocktake.highlights) or 1  # the key highlights come first
    return {
        "sentences": parsed.paragraphs[start : start + len(stocktake.sentences)],
        "changes": _numbers([row[1] for row in parsed.tables["changes"][1:]]),
        "statuses": _numbers(parsed.tables["counts"][-1][1:]),
    }


def _from_word(content: bytes, stocktake: StockTake) -> dict[str, object]:
    document = docx.Document(io.BytesIO(content))
    numbered = [
        p.text.split("\t", 1)[1]
        for p in document.paragraphs
        if p.style and p.style.name == "Numbered paragraph"
    ]
    start = len(stocktake.highlights) or 1
    status_table = next(t for t in document.tables if t.rows[0].cells[0].text == "Agenda point")
    change_table = next(t for t in document.tables if t.rows[0].cells[0].text == "Change")
    return {
        "sentences": numbered[start : start + len(stocktake.sentences)],
        "changes": _numbers([row.cells[1].text for row in change_table.rows[1:]]),
        "statuses": _numbers([cell.text for cell in status_table.rows[-1].cells[1:]]),
    }


def test_every_format_shows_the_same_figures(stocktake: StockTake) -> None:
    for case in (stocktake, demo_like_stocktake()):
        expected = _expected(case)
        assert _from_markdown(render_markdown(case)) == expected
        assert _from_html(render_html(case), case) == expected
        assert _from_word(render_docx(case), case) == expected


def test_the_html_tiles_show_the_figures_of_the_summary(stocktake: StockTake) -> None:
    f = stocktake.figures
    tiles = re.findall(r'<div class="tile"><b>([^<]+)</b><span>([^<]+)</span>', render_html(stocktake))
    assert tiles == [
        (str(f.items), "recommendations"),
        (str(f.reported), f"reported on by their lead ({f.reported_rate}%)"),
        (f"{f.agencies_answered}/{f.agencies}", "agencies answered"),
        (str(f.changed), "changed status"),
        (str(f.overdue_milestones), "overdue milestones"),
    ]


def test_the_spreadsheet_lists_every_figure_by_name_and_points_only_to_its_own_sheets(
    stocktake: StockTake,
) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(stocktake)))
    rows = [row for row in workbook["Summary"].iter_rows(values_only=True) if row and row[0]]
    values = {row[0]: row[1] for row in rows}
    assert {label: values[label] for label, _ in every_figure(stocktake.figures)} == dict(
        every_figure(stocktake.figures)
    )
    texts = [str(cell) for row in rows for cell in row if isinstance(cell, str)]
    assert all(str(sentence) in texts for sentence in stocktake.sentences)
    mentioned = {name for text in texts for name in re.findall(r"\b(Annex [A-Z]+|Sheet \w+)", text)}
    assert mentioned <= set(workbook.sheetnames), (
        f"the summary points to {mentioned - set(workbook.sheetnames)}"
    )


def test_a_first_cycles_headline_and_spreadsheet_leave_out_the_figures_that_compare_with_a_previous_one() -> (
    None
):
    compared = demo_like_stocktake()
    first = dataclasses.replace(
        compared, previous=None, figures=dataclasses.replace(compared.figures, compared=False)
    )
    change_labels = {label for label, _ in every_figure(compared.figures)} - {
        label for label, _ in every_figure(first.figures)
    }
    summary = openpyxl.load_workbook(io.BytesIO(render_xlsx(first)))["Summary"]
    labels_in_sheet = {row[0] for row in summary.iter_rows(values_only=True) if row and row[0]}

    assert len(change_labels) == len(CHANGE_FIGURES)
    assert {label for label, _ in headline(first.figures)}.isdisjoint(change_labels)
    assert labels_in_sheet.isdisjoint(change_labels)
    assert "Reported on by their lead" in labels_in_sheet
    # Neither the Word, HTML nor Markdown report states these of a first cycle: nor does its sheet.
    assert labels_in_sheet.isdisjoint({"Recommendations newly overdue", "Reported with news"})
