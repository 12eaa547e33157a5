"""Evidence files saved with an answer: stored with their hash, listed, removed, refused whole, locked."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import select

from db import tables
from db.evidence import files_of
from domain.answers import InvalidAnswers, RawAnswer
from tests.support import (
    CYCLE,
    GRACE,
    Scenario,
    all_items,
    evidence_folder_files,
    open_page,
    sample_file,
)
from workflows import bootstrap
from workflows.queries import public_record
from workflows.services import replies, review
from workflows.services.evidence import EvidenceChanges, Upload


def save_with(
    s: Scenario,
    files: dict[str, list[tuple[str, bytes]]],
    *,
    answers: list[RawAnswer] | None = None,
    submit: bool = False,
    removals: tuple[int, ...] = (),
) -> replies.SaveResult:
    """AAA saves `answers` (none by default) with these files per item code, through the reply service."""
    uploads = tuple(
        Upload(s.ids[code], name, io.BytesIO(content))
        for code, sent in files.items()
        for name, content in sent
    )
    return replies.save_reply(
        s.uow,
        s.notifier(s.uow),
        s.clock,
        s.config,
        s.tokens["AAA"],
        answers or [],
        submit=submit,
        grace_days=GRACE,
        evidence=EvidenceChanges(uploads, removals),
        store=bootstrap.evidence_store(),
    )


def stored_rows(s: Scenario) -> list[tuple[str, str, int]]:
    with s.uow:
        ef = tables.evidence_files.c
        return [
            tuple(row) for row in s.uow.session.execute(select(ef.name, ef.sha256, ef.size).order_by(ef.id))
        ]


def test_a_pdf_saved_with_a_draft_is_kept_with_its_sha256_and_listed_on_the_page(scenario: Scenario) -> None:
    pdf = sample_file("pdf")
    save_with(scenario, {"A1.1": [("Terms of reference.pdf", pdf)]}, answers=all_items(scenario)[:1])

    assert stored_rows(scenario) == [("Terms of reference.pdf", hashlib.sha256(pdf).hexdigest(), len(pdf))]
    kept = evidence_folder_files()
    assert len(kept) == 1 and kept[0].read_bytes() == pdf and ".incoming" not in kept[0].parts
    item = next(i for i in open_page(scenario, scenario.tokens["AAA"]).items if i.code == "A1.1")
    assert [(f.name, f.kind, f.size) for f in item.files] == [("Terms of reference.pdf", "pdf", len(pdf))]


def test_a_file_that_is_not_what_it_says_refuses_the_whole_save_and_leaves_no_file_and_no_row(
    scenario: Scenario,
) -> None:
    with pytest.raises(InvalidAnswers) as refused:
        save_with(
            scenario,
            {"A1.1": [("minutes.pdf", sample_file("pdf")), ("photo.pdf", sample_file("png"))]},
            answers=all_items(scenario),
        )

    [problem] = refused.value.problems
    assert (problem.code, problem.field) == ("A1.1", "evidence_files")
    assert problem.message == "'photo.pdf' is not a PDF document: its content is a PNG image"
    assert stored_rows(scenario) == [] and evidence_folder_files() == []
    assert scenario.update("A1.1") is None  # the answers of the save were not kept either


def test_a_sixth_file_on_an_answer_is_one_too_many_and_nothing_of_that_save_is_kept(
    scenario: Scenario,
) -> None:
    texts = [(f"note {n}.txt", f"Note {n}.\n".encode()) for n in range(1, 5)]
    save_with(scenario, {"A1.1": texts})
    with pytest.raises(InvalidAnswers) as refused:
        save_with(scenario, {"A1.1": [("note 5.txt", b"Note 5.\n"), ("note 6.txt", b"Note 6.\n")]})

    assert [p.message for p in refused.value.problems] == [
        "'note 6.txt' is one too many: an answer may have at most 5 files (4 attached already); "
        "remove one first"
    ]
    assert [name for name, _, _ in stored_rows(scenario)] == [name for name, _ in texts]
    assert len(evidence_folder_files()) == 4


def test_the_same_file_sent_twice_is_attached_once(scenario: Scenario) -> None:
    pdf = sample_file("pdf")
    save_with(scenario, {"A1.1": [("a.pdf", pdf), ("copy of a.pdf", pdf)]})
    save_with(scenario, {"A1.1": [("a again.pdf", pdf)]})
    assert [name for name, _, _ in stored_rows(scenario)] == ["a.pdf"]


def test_a_failed_commit_leaves_no_file_behind(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    def database_gone(_self: object) -> None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(type(scenario.uow), "commit", database_gone)
    with pytest.raises(ConnectionError):
        save_with(scenario, {"A1.1": [("minutes.pdf", sample_file("pdf"))]})
    monkeypatch.undo()

    assert stored_rows(scenario) == [] and evidence_folder_files() == []


def test_a_removed_file_loses_its_row_and_its_bytes(scenario: Scenario) -> None:
    save_with(scenario, {"A1.1": [("a.pdf", sample_file("pdf")), ("b.png", sample_file("png"))]})
    item = next(i for i in open_page(scenario, scenario.tokens["AAA"]).items if i.code == "A1.1")
    first = item.files[0]

    save_with(scenario, {}, removals=(first.id, 999_999))

    assert [name for name, _, _ in stored_rows(scenario)] == ["b.png"]
    assert [path.read_bytes() for path in evidence_folder_files()] == [sample_file("png")]


def test_files_can_no_longer_be_attached_to_an_accepted_answer(scenario: Scenario) -> None:
    replies.save_reply(
        scenario.uow,
        scenario.notifier(scenario.uow),
        scenario.clock,
        scenario.config,
        scenario.tokens["AAA"],
        all_items(scenario),
        submit=True,
        grace_days=GRACE,
    )
    review.accept(scenario.uow, scenario.clock, CYCLE, "A2.1", "AAA", by="secretariat")
    with pytest.raises(InvalidAnswers) as refused:
        save_with(scenario, {"A2.1": [("late.pdf", sample_file("pdf"))]})
    assert [p.message for p in refused.value.problems] == [
        "The secretariat has accepted this answer. Files can no longer be attached."
    ]
    assert evidence_folder_files() == []


def test_the_receipt_lists_the_files_with_size_and_short_hash(scenario: Scenario) -> None:
    pdf = sample_file("pdf")
    save_with(scenario, {"A1.1": [("Report.pdf", pdf)]}, answers=all_items(scenario), submit=True)
    [receipt] = scenario.outbox("receipt")
    line = f"Evidence file: Report.pdf ({len(pdf)} bytes, SHA-256 {hashlib.sha256(pdf).hexdigest()[:12]})"
    assert line in str(receipt["body_text"]) and line in str(receipt["body_html"])


def test_only_files_the_secretariat_made_public_on_accepting_reach_the_public_record(
    scenario: Scenario,
) -> None:
    save_with(
        scenario,
        {"A1.1": [("public.pdf", sample_file("pdf"))], "A1.2": [("private.pdf", sample_file("pdf"))]},
        answers=all_items(scenario),
        submit=True,
    )
    review.accept(scenario.uow, scenario.clock, CYCLE, "A1.1", "AAA", by="secretariat", publish_evidence=True)
    review.accept(scenario.uow, scenario.clock, CYCLE, "A1.2", "AAA", by="secretariat")

    with scenario.uow:
        public = files_of(scenario.uow.session, scenario.cycle_id, public_only=True)
        every = files_of(scenario.uow.session, scenario.cycle_id)
    assert [f.name for files in public.values() for f in files] == ["public.pdf"]
    assert len(every) == 2
    # The cycle is still open: the public record shows nothing of it yet, files included.
    from domain.publication import Audience

    timeline = public_record.record(scenario.uow, Audience.SECRETARIAT, scenario.ids["A1.1"]).timeline
    now = next(entry for entry in timeline if entry.cycle == CYCLE)
    assert [f.name for answer in now.answers for f in answer.files] == ["public.pdf"]
    assert public_record.record(scenario.uow, Audience.PUBLIC, scenario.ids["A1.1"]).timeline == ()
