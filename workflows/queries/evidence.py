"""Read models of evidence files: an answer's files by item, one file for a download, the public ones.

Plain SQL over `evidence_files` (and `status_updates` for what the secretariat made public).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import tables
from db.evidence import EF, FileKey, files_of, stored
from db.unit_of_work import SqlUnitOfWork
from domain.answers import UNKNOWN_LINK, ensure_link_open
from domain.errors import NotFound
from domain.evidence import StoredFile
from domain.model import StockTakeCycle
from domain.ports import Clock
from domain.tokens import hash_token


@dataclass(frozen=True)
class Download:
    """A file to send: how it is listed, and where its bytes are kept."""

    file: StoredFile
    storage_key: str


def download(
    session: Session, file_id: int, cycle_id: int, agency_code: str | None = None
) -> Download | None:
    """The file `file_id` if it belongs to the cycle (and to the agency, when given); None otherwise."""
    conditions = [EF.id == file_id, EF.cycle_id == cycle_id]
    if agency_code is not None:
        conditions.append(EF.agency_code == agency_code)
    row = session.execute(select(tables.evidence_files).where(*conditions)).first()
    return Download(stored(row), row.storage_key) if row is not None else None


class NoSuchFile(NotFound):
    """A file a working reply link does not have (removed since, or never its): not a bad link."""


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
        raise NoSuchFile("no such evidence file on this request")
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
