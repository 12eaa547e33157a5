"""Property tests of reply validation: whatever an agency types, validation answers, never crashes."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.answers import (
    EVIDENCE_MAX_LINKS,
    NARRATIVE_MAX,
    OBSTACLE_MAX,
    RawAnswer,
    parse_answer,
)
from domain.model import ReportedStatus
from portal.web import FIELDS as PORTAL_FORM_FIELDS

FIELDS = set(PORTAL_FORM_FIELDS)  # every error must point at a field the reply form has
# Anything a form or a spreadsheet cell can carry: control characters, accents, emoji, huge values.
# (Long values are built by repetition: generating 4,000 random characters per example is slow.)
typed = st.one_of(
    st.text(max_size=120),
    st.tuples(st.text(min_size=1, max_size=8), st.integers(250, 1000)).map(lambda t: t[0] * t[1]),
    st.just(""),
)
statuses = st.one_of(
    typed,
    st.sampled_from([s.value for s in ReportedStatus] + [s.label for s in ReportedStatus]),
    st.sampled_from([s.label.upper() for s in ReportedStatus]).map(lambda s: f"  {s} "),
)
dates = st.one_of(typed, st.dates().map(date.isoformat), st.just("2026-02-30"))
links = st.lists(
    st.one_of(
        st.text(max_size=80), st.from_regex(r"https?://[a-z]{1,20}\.org/[a-z0-9/]{0,40}", fullmatch=True)
    ),
    max_size=EVIDENCE_MAX_LINKS + 3,
).map(" ".join)
raw_answers = st.builds(
    RawAnswer,
    recommendation_id=st.integers(min_value=1, max_value=10**9),
    status=statuses,
    narrative=typed,
    evidence=st.one_of(links, typed),
    next_milestone_date=dates,
    obstacle=typed,
)


@settings(max_examples=300, deadline=None)
@given(
    raw=raw_answers,
    previous=st.none() | st.sampled_from([s.value for s in ReportedStatus]),
    complete=st.booleans(),
)
def test_random_answers_never_crash_validation_and_every_error_names_its_field(
    raw: RawAnswer, previous: str | None, complete: bool
) -> None:
    answer, problems = parse_answer(raw, code="A1.2", previous_status=previous, complete=complete)
    assert (answer is None) == bool(problems), "either an answer or the reasons there is none"
    for problem in problems:
        assert problem.field in FIELDS
        assert problem.code == "A1.2" and problem.recommendation_id == raw.recommendation_id
        assert problem.message.strip()
        assert str(problem).startswith(f"A1.2 {problem.field}: ")
    if answer is not None:
        assert answer.recommendation_id == raw.recommendation_id
        assert len(answer.narrative) <= NARRATIVE_MAX and len(answer.obstacle) <= OBSTACLE_MAX
        assert len(answer.evidence) <= EVIDENCE_MAX_LINKS
        assert all(link.startswith(("http://", "https://")) for link in answer.evidence)


@settings(max_examples=200, deadline=None)
@given(
    status=st.sampled_from(list(ReportedStatus)),
    narrative=st.text(st.characters(blacklist_categories=["Cs"]), max_size=200),
    milestone=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_a_well_formed_draft_is_accepted_as_typed(
    status: ReportedStatus, narrative: str, milestone: date
) -> None:
    raw = RawAnswer(
        recommendation_id=7,
        status=status.label,
        narrative=narrative,
        evidence="https://example.org/report.pdf",
        next_milestone_date=milestone.isoformat(),
    )
    answer, problems = parse_answer(raw, code="SR1.ii", previous_status=None, complete=False)
    assert problems == []
    assert answer is not None
    assert answer.status == status
    assert answer.narrative == narrative.strip()
    assert answer.next_milestone_date == milestone
    assert answer.evidence == ("https://example.org/report.pdf",)


@settings(max_examples=100, deadline=None)
@given(
    before=st.sampled_from(list(ReportedStatus)),
    after=st.sampled_from(list(ReportedStatus)),
    blank=st.sampled_from(["", " ", "\t\n"]),
)
def test_a_changed_status_without_a_word_of_why_is_refused_on_submission_naming_the_narrative(
    before: ReportedStatus, after: ReportedStatus, blank: str
) -> None:
    raw = RawAnswer(recommendation_id=3, status=after.value, narrative=blank, obstacle="funding gap")
    answer, problems = parse_answer(raw, code="A2.1", previous_status=before.value, complete=True)
    if before == after:
        assert problems == [] and answer is not None
    else:
        assert answer is None
        assert [p.field for p in problems] == ["narrative"]
