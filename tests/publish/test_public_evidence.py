"""Evidence files in the public record: only those of accepted answers the secretariat made public."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.errors import ValidationError
from domain.evidence import EvidenceLimits
from domain.publication import Audience
from tests.support import RECORD_CLOSED, RECORD_OPEN, build_public_record, sample_file
from workflows.queries import public_record
from workflows.queries.public_record import public_record_of
from workflows.services.evidence import EvidenceStore
from workflows.services.publish import publish

PUBLIC = "Joint strategy, signed.pdf"
# Files that must never reach the public: of an accepted answer not made public, of an answer never
# accepted (even with the flag set), and of an accepted and public answer of a cycle still open.
HIDDEN = ("Private notes.pdf", "Not accepted.pdf", "Open cycle.pdf")


def attach(
    uow: SqlUnitOfWork, store: EvidenceStore, cycle: str, rid: int, agency: str, name: str, *, public: bool
) -> bytes:
    """A file kept in the store and its row, as a save writes them; `public` marks the answer's files."""
    content = sample_file("pdf") + name.encode()
    key = secrets.token_hex(16)
    store.path_of(key).parent.mkdir(parents=True, exist_ok=True)
    store.path_of(key).write_bytes(content)
    with uow:
        cycle_id = uow.cycles.require(cycle).id
        uow.session.execute(
            insert(tables.evidence_files).values(
                cycle_id=cycle_id,
                recommendation_id=rid,
                agency_code=agency,
                name=name,
                kind="pdf",
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                storage_key=key,
                added_at=uow.cycles.require(cycle).created_at,
                added_by=f"{agency} focal point",
            )
        )
        su = tables.status_updates.c
        uow.session.execute(
            update(tables.status_updates)
            .where(su.cycle_id == cycle_id, su.recommendation_id == rid, su.agency_code == agency)
            .values(evidence_public=public)
        )
        uow.commit()
    return content


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence", EvidenceLimits(10 * 1024 * 1024, 5))


@pytest.fixture
def files(uow: SqlUnitOfWork, store: EvidenceStore) -> dict[str, bytes]:
    ids = build_public_record(uow)
    return {
        PUBLIC: attach(uow, store, RECORD_CLOSED, ids["SR1"], "BBB", PUBLIC, public=True),
        HIDDEN[0]: attach(uow, store, RECORD_CLOSED, ids["A1.2"], "BBB", HIDDEN[0], public=False),
        HIDDEN[1]: attach(uow, store, RECORD_CLOSED, ids["A1.2"], "AAA", HIDDEN[1], public=True),
        HIDDEN[2]: attach(uow, store, RECORD_OPEN, ids["A1.1"], "AAA", HIDDEN[2], public=True),
    }


def test_the_site_lists_and_holds_only_the_public_files_of_accepted_answers_of_closed_cycles(
    uow: SqlUnitOfWork, store: EvidenceStore, files: dict[str, bytes], tmp_path: Path
) -> None:
    site = publish(public_record_of(uow, date.today()), tmp_path / "site", store).out_dir

    page = next(site.glob("recommendations/*/sr1.html")).read_text()
    link = f"evidence/{hashlib.sha256(files[PUBLIC]).hexdigest()}/joint-strategy-signed.pdf"
    assert f'href="../../{link}" download>{PUBLIC}</a>' in page
    assert (site / link).read_bytes() == files[PUBLIC]
    copied = [p for p in (site / "evidence").rglob("*") if p.is_file()]
    assert len(copied) == 1
    everything = "\n".join(p.read_text() for p in site.rglob("*.html"))
    assert not any(name in everything for name in HIDDEN)


def test_the_secretariats_audience_sees_public_files_of_open_cycles_but_never_private_ones(
    uow: SqlUnitOfWork, files: dict[str, bytes]
) -> None:
    shown = {
        f.name
        for rec in public_record.records(uow, Audience.SECRETARIAT)
        for entry in rec.timeline
        for answer in entry.answers
        for f in answer.files
    }
    assert shown == {PUBLIC, HIDDEN[2]}


def test_a_public_file_missing_from_the_storage_refuses_the_publish_and_keeps_the_previous_site(
    uow: SqlUnitOfWork, store: EvidenceStore, files: dict[str, bytes], tmp_path: Path
) -> None:
    site = publish(public_record_of(uow, date.today()), tmp_path / "site", store).out_dir
    before = sorted(str(p) for p in site.rglob("*"))
    for path in (store.root).rglob("*"):
        if path.is_file():
            path.unlink()

    with pytest.raises(ValidationError, match=f"'{PUBLIC}' of SR1 \\(BBB, {RECORD_CLOSED}\\) is missing"):
        publish(public_record_of(uow, date.today()), site, store)
    assert sorted(str(p) for p in site.rglob("*")) == before
