"""The report importer: the sample report's codes, page breaks, other reports, and garbage."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domain.errors import ValidationError
from domain.importer import decode_report, detect_source, parse_report, roman

SAMPLE = Path(__file__).resolve().parents[2] / "db" / "seed" / "CEB-2014-4-Annex-V.md"


@pytest.fixture(scope="module")
def sample():
    return parse_report(SAMPLE.read_text(encoding="utf-8"))


def test_the_sample_report_has_exactly_the_strategic_codes_once(sample) -> None:
    strategic = [item.code for item in sample.items if item.kind == "strategic"]
    assert strategic == [
        "SR1",
        "SR1.i",
        "SR1.ii",
        "SR1.ii.a",
        "SR1.ii.b",
        "SR1.iii",
        "SR2",
        "SR2.i",
        "SR2.i.a",
        "SR2.i.b",
        "SR2.i.c",
        "SR2.ii",
    ]


def test_the_sample_appendix_counts_items_per_agenda_point(sample) -> None:
    per_point = Counter(item.agenda_point for item in sample.items if item.kind == "annex")
    # Point 1: 22 bullets plus 6 nested under the first; point 6: 6 bullets plus 2 nested under A6.4.
    assert per_point == {1: 28, 2: 9, 3: 6, 4: 6, 5: 3, 6: 8, 7: 11, 8: 2}
    assert len(sample.items) == 85
    assert sample.codes[-1] == "A8.2"
    assert [i.position for i in sample.items] == list(range(1, 86))


def test_nested_bullets_hang_under_their_parent_including_the_indented_who_code(sample) -> None:
    items = {item.code: item for item in sample.items}
    assert [c for c in items if items[c].parent == "A1.1"] == [f"A1.1.{m}" for m in range(1, 7)]
    assert items["A1.1.6"].text.startswith(
        "Continue working in the implementation of the 2010 WHO Global Code"
    )
    assert [c for c in items if items[c].parent == "A6.4"] == ["A6.4.1", "A6.4.2"]
    assert items["SR1.ii.a"].parent == "SR1.ii" and items["SR1.ii"].parent == "SR1"
    assert (
        items["SR1"].text
        == "Mainstream migration and the human rights of migrants into the activities of the UN System"
    )


def test_appendix_items_carry_their_agenda_point_title_and_theme(sample) -> None:
    items = {item.code: item for item in sample.items}
    assert items["A1.2"].agenda_title == "Protect the human rights of all migrants"
    assert items["A1.2"].theme == "To cater to the health needs of migrants"
    assert items["A1.4"].theme == "To cater to the needs of refugees and asylum seekers"
    assert items["A1.8"].theme.startswith("To promote and protect the human rights of migrants")
    assert items["A2.1"].theme is None and items["A2.1"].agenda_point == 2
    assert items["SR1.i"].agenda_point is None and items["SR1.i"].theme is None


def test_page_breaks_inside_a_bullet_do_not_cut_its_text(sample) -> None:
    items = {item.code: item for item in sample.items}
    assert "subscribed by the 194 Member States of the World Health Organization." in items["A6.4.2"].text
    assert "needs of asylum-seekers and refugees who take maritime routes. Strategies" in items["A1.7"].text
    assert "human-rights' based and needs-based interventions" in items["A4.2"].text
    assert "promote follow-up in the policymaking and coordination structures" in items["SR1.i"].text
    assert all(item.text[-1] in ".;:,)" or item.kind == "strategic" for item in sample.items)


def test_page_furniture_between_the_halves_of_a_bullet_is_dropped() -> None:
    page_break = "\n\n12\n\nABC/2020/1\n\nPage 4 of 9\n\n"
    text = f"ABC/2020/1\n\nAppendix\n\n1. Point\n\n- Protect the rights of the{page_break}migrants at sea.\n"
    (item,) = parse_report(text).items
    assert (item.code, item.text) == ("A1.1", "Protect the rights of the migrants at sea.")


def test_inline_markdown_and_footnote_markers_are_cleaned_and_words_kept(sample) -> None:
    items = {item.code: item for item in sample.items}
    assert "Migrants in Crisis Initiative; and," in items["A4.5"].text
    assert not any(mark in item.text for item in sample.items for mark in ("**", "*", "^{", "ⁱ"))


def test_the_strategic_recommendations_are_the_same_in_summary_and_body() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    body_only = parse_report(text[text.index("4. Strategic Recommendations") :], source="x")
    summary_only = parse_report(text[: text.index("1. Introduction")], source="x")

    def plain(t: str) -> str:  # the two copies differ only in their quotation marks
        return t.replace("\u201c", '"').replace("\u201d", '"')

    assert [(i.code, plain(i.text)) for i in summary_only.items] == [
        (i.code, plain(i.text)) for i in body_only.items if i.kind == "strategic"
    ]


def test_the_source_is_the_document_symbol_else_the_file_name(sample) -> None:
    assert sample.source == "CEB/2014/4 Annex V"
    assert detect_source("Title\n\nA/68/190\n\ntext") == "A/68/190"
    report = "Appendix\n\n1. Point\n\n- Do it.\n"
    assert parse_report(report, filename="report.md").source == "report.md"
    assert parse_report(report, source="MINE/1", filename="report.md").source == "MINE/1"


SECOND_REPORT = """\
# Review of the follow-up to a conference

XYZ/2030/7

Recommendation 1: Strengthen coordination

- i. The HLCP could review progress every year.
- ii. Agencies could:
 - a. Share data;
 - b. Report to the GMG.
- iii. Convene a dialogue.
- iv. Publish a summary.

Recommendation 2: Invest in data
And in Statistics

Recommendation 3: Report back
- i. The CEB could take stock in
two years' time, through the HLCP.

Some prose after the recommendations.

Appendix

1. First point

- One.
It continues on the next line.
- Two:
  - Two a;
  - Two b.

Health:

- Three.

2. Second point
- Four.

3. Third point

To improve data:
- Five.
- Six.
   - Six a.
- Seven.

Notes
- a footnote that is not a recommendation.
"""


def test_a_report_with_other_counts_in_the_same_convention_parses() -> None:
    report = parse_report(SECOND_REPORT)
    assert report.source == "XYZ/2030/7"
    assert report.codes == [
        "SR1",
        "SR1.i",
        "SR1.ii",
        "SR1.ii.a",
        "SR1.ii.b",
        "SR1.iii",
        "SR1.iv",
        "SR2",
        "SR3",
        "SR3.i",
        "A1.1",
        "A1.2",
        "A1.2.1",
        "A1.2.2",
        "A1.3",
        "A2.1",
        "A3.1",
        "A3.2",
        "A3.2.1",
        "A3.3",
    ]
    items = {item.code: item for item in report.items}
    assert items["SR3.i"].text == "The CEB could take stock in two years' time, through the HLCP."
    assert items["SR2"].text == "Invest in data And in Statistics"
    assert items["A1.1"].text == "One. It continues on the next line."
    assert items["A1.3"].theme == "Health" and items["A1.1"].theme is None
    assert items["A3.3"].theme == "To improve data" and items["A3.3"].agenda_title == "Third point"
    assert items["A1.2.2"].parent == "A1.2"


def test_a_letter_i_after_h_is_a_letter_and_after_a_numeral_a_numeral() -> None:
    letters = "\n".join(f" - {c}. Item {c}." for c in "abcdefghij")
    text = f"Recommendation 1: Title\n\n- i. First.\n{letters}\n- ii. Second.\n"
    codes = parse_report(text, source="x").codes
    assert codes == ["SR1", "SR1.i", *[f"SR1.i.{c}" for c in "abcdefghij"], "SR1.ii"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Just a note.\n\nNothing to follow up.\n", "no recommendations found"),
        ("", "no recommendations found"),
        ("Recommendation 1: Title\n- Unmarked item.\n", "line 2: an item of Recommendation 1 needs a marker"),
        ("Recommendation 1:\n- i. x\n", "line 1: Recommendation 1 has no title"),
        ("Recommendation 1: T\n- i. A.\n- i. B.\n", "line 3: item 'SR1.i' appears twice"),
        ("ok\nRecommendation 1: T\x01\n", "line 2: contains control characters"),
    ],
)
def test_a_text_that_is_no_report_fails_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_report(text, source="x")


def test_bytes_that_are_not_text_are_rejected_naming_the_line() -> None:
    with pytest.raises(ValidationError, match="line 2: contains NUL bytes"):
        decode_report(b"Appendix\n\x00\x01binary", name="x.pdf")
    with pytest.raises(ValidationError, match=r"line 1: byte 0xff is not UTF-8"):
        decode_report(b"\xffA", name="x.doc")
    assert decode_report("\ufeffRecommendation 1: ok".encode()) == "Recommendation 1: ok"


# ---- property-based: random reports in the convention round-trip; garbage never crashes ----------

_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)


@st.composite
def _sentence(draw: st.DrawFn, end: str | list[str] = ".;") -> str:
    words = draw(st.lists(_words, min_size=2, max_size=14))
    return " ".join(words).capitalize() + draw(st.sampled_from(end))


@dataclass
class _Expected:
    code: str
    parent: str | None
    point: int | None
    theme: str | None
    text: str


@st.composite
def _report(draw: st.DrawFn) -> tuple[str, list[_Expected]]:
    """A random report in the convention, page breaks included, and the items it must parse into."""
    lines = ["**A synthetic report**", "", "TST/2031/9", "", "Executive summary", ""]
    strategic: list[_Expected] = []
    body: list[str] = []

    def bullet(prefix: str, text: str) -> list[str]:
        words = text.split(" ")
        cut = draw(st.integers(0, len(words) - 1))
        if cut > 0 and words[cut][:1].islower() and draw(st.booleans()):
            # A page break mid-item: the text continues in a paragraph of its own.
            return [prefix + " ".join(words[:cut]), "", " ".join(words[cut:]), ""]
        return [prefix + text]

    for n in range(1, draw(st.integers(0, 3)) + 1):
        title = draw(_sentence(end=[""]))
        body += ["", f"Recommendation {n}: {title}", ""]
        strategic.append(_Expected(f"SR{n}", None, None, None, title))
        for r in range(1, draw(st.integers(0, 4)) + 1):
            code, text = f"SR{n}.{roman(r)}", draw(_sentence())
            body += bullet(f"- {roman(r)}. ", text)
            strategic.append(_Expected(code, f"SR{n}", None, None, text))
            for letter in "abcd"[: draw(st.integers(0, 3))]:
                text = draw(_sentence())
                body += bullet(f"{draw(st.sampled_from(['', ' ']))}- {letter}. ", text)
                strategic.append(_Expected(f"{code}.{letter}", code, None, None, text))
    if draw(st.booleans()):
        lines += [*body, "", "Introduction and other prose.", ""]  # the summary repeats them
    lines += [*body, "", "Closing prose of the body.", "", "Appendix", "", "A compilation.", ""]
    annex: list[_Expected] = []
    for point in range(1, draw(st.integers(0, 4)) + 1):
        lines += ["", f"{point}. {draw(_sentence(end=['']))}", ""]
        n = 0
        for t in range(draw(st.integers(1, 3))):
            theme = None if t == 0 and draw(st.booleans()) else f"To {draw(_sentence(end=['']))}".rstrip()
            if theme:
                lines += ["", f"{theme}:", ""]
            for _ in range(draw(st.integers(1, 4))):
                n += 1
                text = draw(_sentence())
                lines += bullet("- ", text)
                annex.append(_Expected(f"A{point}.{n}", None, point, theme, text))
                for m in range(1, draw(st.integers(0, 3)) + 1):
                    text = draw(_sentence())
                    lines += bullet(" - ", text)
                    annex.append(_Expected(f"A{point}.{n}.{m}", f"A{point}.{n}", point, theme, text))
    lines += ["", "Endnotes", "", "- ⁱ A source, 2014."]
    return "\n".join(lines) + "\n", strategic + annex


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_report())
def test_random_reports_in_the_convention_round_trip_to_the_same_codes(case) -> None:
    text, expected = case
    assume(expected)
    report = parse_report(text)
    assert report.source == "TST/2031/9"
    got = [(i.code, i.parent, i.agenda_point, i.theme, i.text) for i in report.items]
    assert got == [(e.code, e.parent, e.point, e.theme, e.text) for e in expected]


_report_like_lines = st.sampled_from(
    [
        "Recommendation 1: A title",
        "Recommendation 2: Another",
        "Appendix",
        "1. A point",
        "2. Another point",
        "To cater to health:",
        "- i. An item.",
        "- ii. An item",
        "- a. A letter;",
        " - b. A nested letter.",
        "- iv. Skipped numeral.",
        "- iiii. Not a numeral.",
        "- A bullet.",
        "   - A nested bullet",
        "- ",
        "continuation in lower case",
        "Prose paragraph.",
        "12",
        "",
        "- **",
        "- i. **",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_report_like_lines, st.text(max_size=40)), max_size=40))
def test_report_like_garbage_parses_or_fails_with_a_validation_error_only(lines: list[str]) -> None:
    try:
        report = parse_report("\n".join(lines), source="fuzz")
    except ValidationError as exc:
        assert str(exc)
        return
    assert report.items and len(set(report.codes)) == len(report.codes)
    assert all(item.text for item in report.items)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_importer(data: bytes) -> None:
    try:
        parse_report(decode_report(data), filename="fuzz.bin")
    except ValidationError as exc:
        assert str(exc)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_a_mangled_sample_report_never_crashes_the_importer(data: st.DataObject) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.text(max_size=20)) + text[at + data.draw(st.integers(0, 200)) :]
    try:
        parse_report(text)
    except ValidationError as exc:
        assert str(exc)
