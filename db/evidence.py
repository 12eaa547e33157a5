"""Evidence files in plain SQL: an answer's files by item, the public ones, and a column packing an
answer's files into its own row (so the reply page and the stock-take read them in no extra query)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, delete, func, insert, select, true
from sqlalchemy.orm import Session

from db import tables
from db.engine import Reader
from domain.evidence import StoredFile
from domain.lifecycle import ReviewState
from domain.ports import AttachedFile, NewFile

EF = tables.evidence_files.c
FileKey = tuple[int, str]  # (recommendation id, agency code)
# A file's fields in a text aggregate (one line a file): names never hold a tab or a line break.
PACKED_FIELDS = (EF.id, EF.size, EF.sha256, EF.kind, EF.name)


def stored(row: Any) -> StoredFile:
    """A file as listed, from its `evidence_files` row."""
    return StoredFile(
        row.id, row.recommendation_id, row.agency_code, row.name, row.kind, row.size, row.sha256
    )


def files_of(
    db: Reader,
    cycle_id: int,
    *,
    agency_code: str | None = None,
    recommendation_ids: Iterable[int] | None = None,
    public_only: bool = False,
) -> dict[FileKey, list[StoredFile]]:
    """A cycle's evidence files by (recommendation, agency), in the order they were attached.

    `public_only`: only those of answers the secretariat accepted and made public.
    """
    conditions: list[ColumnElement[bool]] = [EF.cycle_id == cycle_id]
    if agency_code is not None:
        conditions.append(EF.agency_code == agency_code)
    if recommendation_ids is not None:
        conditions.append(EF.recommendation_id.in_(list(recommendation_ids)))
    query = select(tables.evidence_files).where(*conditions)
    if public_only:
        query = query.join(tables.status_updates, and_(answer_of_file(), public_answer()))
    found: dict[FileKey, list[StoredFile]] = defaultdict(list)
    for row in db.execute(query.order_by(EF.id)).all():
        found[(row.recommendation_id, row.agency_code)].append(stored(row))
    return found


def answer_of_file() -> ColumnElement[bool]:
    """Join condition: the answer (status update) a file belongs to."""
    su = tables.status_updates.c
    return and_(
        su.cycle_id == EF.cycle_id,
        su.recommendation_id == EF.recommendation_id,
        su.agency_code == EF.agency_code,
    )


def public_answer() -> ColumnElement[bool]:
    """An answer whose files the public may read: accepted, and made public by the secretariat."""
    su = tables.status_updates.c
    return and_(su.state == ReviewState.ACCEPTED.value, su.evidence_public == true())


def packed_files(owner: Any) -> Any:
    """A column of the files of `owner`'s rows (cycle items or answers) as one text, a line a file.

    A correlated aggregate, so the files come with the rows of a query that reads them anyway rather
    than in a query of their own (the reply page and the stock-take keep their query counts).
    """
    line: Any = cast(PACKED_FIELDS[0], String)
    for column in PACKED_FIELDS[1:]:
        line = line + "\t" + (column if isinstance(column.type, String) else cast(column, String))
    return (
        select(func.aggregate_strings(line, "\n"))
        .where(
            EF.cycle_id == owner.c.cycle_id,
            EF.recommendation_id == owner.c.recommendation_id,
            EF.agency_code == owner.c.agency_code,
        )
        .scalar_subquery()
        .label("files_packed")
    )


def unpack(packed: str | None, recommendation_id: int, agency_code: str) -> tuple[StoredFile, ...]:
    """The files of a text aggregate of `PACKED_FIELDS` (one line each), in the order they were attached."""
    files = []
    for line in (packed or "").splitlines():
        file_id, size, sha256, kind, name = line.split("\t", 4)
        files.append(StoredFile(int(file_id), recommendation_id, agency_code, name, kind, int(size), sha256))
    return tuple(sorted(files, key=lambda f: f.id))


class EvidenceFiles:
    """The rows of the evidence files on answers (`domain.ports.EvidenceRepository`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of_request(self, cycle_id: int, agency_code: str) -> list[AttachedFile]:
        """The files on the agency's answers of the cycle."""
        rows = self.session.execute(
            select(EF.id, EF.recommendation_id, EF.name, EF.sha256, EF.storage_key).where(
                EF.cycle_id == cycle_id, EF.agency_code == agency_code
            )
        )
        return [AttachedFile(*row) for row in rows]

    def files_of(self, cycle_id: int, agency_code: str) -> dict[FileKey, list[StoredFile]]:
        """The agency's files of the cycle by (recommendation, agency), in the order attached."""
        self.session.flush()  # files added in this transaction are listed too
        return files_of(self.session, cycle_id, agency_code=agency_code)

    def add(self, cycle_id: int, recommendation_id: int, agency_code: str, file: NewFile) -> None:
        """Store the row of a file received for an answer."""
        self.session.execute(
            insert(tables.evidence_files).values(
                cycle_id=cycle_id,
                recommendation_id=recommendation_id,
                agency_code=agency_code,
                **file._asdict(),
            )
        )

    def remove(self, file_id: int) -> None:
        """Delete the row of a file (its bytes go once the transaction commits)."""
        self.session.execute(delete(tables.evidence_files).where(EF.id == file_id))
