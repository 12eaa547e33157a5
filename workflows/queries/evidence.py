"""Read models of evidence files: an answer's files by item, one file for a download, the public ones.

Plain SQL over `evidence_files` (and `status_updates` for what the secretariat made public).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, select, true
from sqlalchemy.orm import Session

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.answers import UNKNOWN_LINK, ensure_link_open
from domain.errors import NotFound
from domain.evidence import StoredFile
from domain.lifecycle import ReviewState
from domain.model import StockTakeCycle
from domain.ports import Clock
from domain.tokens import hash_token

EF = tables.evidence_files.c
FileKey = tuple[int, str]  # (recommendation id, agency code)
# A file's fields in a text aggregate (one line a file): names never hold a tab or a line break.
PACKED_FIELDS = (EF.id, EF.size, EF.sha256, EF.kind, EF.name)


@dataclass(frozen=True)
class Download:
    """A file to send: how it is listed, and where its bytes are kept."""

    file: StoredFile
    storage_key: str


def _stored(row: Any) -> StoredFile:
    return StoredFile(
        row.id, row.recommendation_id, row.agency_code, row.name, row.kind, row.size, row.sha256
    )


def files_of(
    session: Session,
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
    for row in session.execute(query.order_by(EF.id)).all():
        found[(row.recommendation_id, row.agency_code)].append(_stored(row))
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


def download(
    session: Session, file_id: int, cycle_id: int, agency_code: str | None = None
) -> Download | None:
    """The file `file_id` if it belongs to the cycle (and to the agency, when given); None otherwise."""
    conditions = [EF.id == file_id, EF.cycle_id == cycle_id]
    if agency_code is not None:
        conditions.append(EF.agency_code == agency_code)
    row = session.execute(select(tables.evidence_files).where(*conditions)).first()
    return Download(_stored(row), row.storage_key) if row is not None else None


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


def agency_download(
    uow: SqlUnitOfWork, clock: Clock, token: str, file_id: int, *, grace_days: int
) -> Download:
    """A file of the request the reply link opens (while the link works); NotFound for anything else."""
    if not token or len(token) > 200:
        raise NotFound(UNKNOWN_LINK)
    with uow:
        request = uow.requests.by_token_hash(hash_token(token))
        cycle = uow.session.get(StockTakeCycle, request.cycle_id) if request is not None else None
        if request is None or cycle is None:
            raise NotFound(UNKNOWN_LINK)
        ensure_link_open(request, cycle, clock.now(), grace_days)
        found = download(uow.session, file_id, cycle.id or 0, request.agency_code)
    if found is None:
        raise NotFound("no such evidence file on this request")
    return found


def secretariat_download(uow: SqlUnitOfWork, cycle_name: str, file_id: int) -> Download:
    """A file of any answer of the cycle; NotFound for a file of another cycle or none."""
    with uow:
        cycle = uow.cycles.require(cycle_name)
        found = download(uow.session, file_id, cycle.id or 0)
    if found is None:
        raise NotFound(f"no such evidence file in cycle '{cycle_name}'")
    return found


def cycle_files(uow: SqlUnitOfWork, cycle_name: str) -> dict[FileKey, list[StoredFile]]:
    """Every evidence file of the cycle by (recommendation, agency): what the secretariat's page lists."""
    with uow:
        cycle = uow.cycles.require(cycle_name)
        return files_of(uow.session, cycle.id or 0)
