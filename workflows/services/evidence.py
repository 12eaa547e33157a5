"""Evidence files on an answer: received, recognised, attached or removed in the save's own transaction.

A save with files goes: every upload is streamed to a temporary name in the evidence folder (its
size, SHA-256 and kind found on the way, `domain.evidence` judging it), the rows are written in the
save's unit of work, and only then are the files renamed into place and the transaction committed;
if the commit fails the placed files are deleted, and temporary files never outlive the save. So a
refused or failed save leaves neither a file nor a row, and a row never points to a missing file.
"""

from __future__ import annotations

import os
import secrets
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from domain import evidence as rules
from domain.answers import AnswerProblem, lock_reason
from domain.language import N_, Message
from domain.lifecycle import Transition
from domain.model import StatusRequest, StatusUpdate, StockTakeCycle
from domain.ports import Clock, NewFile, UnitOfWork

CHUNK = 64 * 1024
ENTITY = "evidence"  # history entries of files attached and removed, keyed like the answer
# [Content_Types].xml is a few KB: a larger one is not read (a zip bomb stays packed).
CONTENT_TYPES_MAX = 256 * 1024
INCOMING = ".incoming"


@dataclass(frozen=True)
class Upload:
    """A file sent for an item: the name the sender's computer gave it, and its bytes (a seekable stream)."""

    recommendation_id: int
    name: str
    stream: BinaryIO


@dataclass(frozen=True)
class EvidenceChanges:
    """What one save does to evidence: files to attach, and the ids of attached files to remove."""

    uploads: tuple[Upload, ...] = ()
    removals: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.uploads or self.removals)


@dataclass
class Received:
    """An upload written under a temporary name, with what it is (or why it is refused)."""

    recommendation_id: int
    name: str
    facts: rules.FileFacts
    kind: rules.FileKind | None
    problem: Message | None
    key: str
    temporary: Path


class EvidenceStore:
    """The shared storage's evidence folder: a file under its key, in a folder of the key's first digits."""

    def __init__(self, root: Path, limits: rules.EvidenceLimits) -> None:
        self.root = root
        self.limits = limits

    def path_of(self, storage_key: str) -> Path:
        """Where the file stored under `storage_key` is."""
        return self.root / storage_key[:2] / storage_key

    def receive(self, upload: Upload) -> Received:
        """Stream an upload to a temporary file (reading stops past the size limit) and judge it."""
        incoming = self.root / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(16)
        temporary = incoming / key
        sniffer = rules.Sniffer(self.limits.max_bytes)
        upload.stream.seek(0)  # a save retried as a draft reads the same uploads again
        with open(temporary, "xb") as out:
            while chunk := upload.stream.read(CHUNK):
                sniffer.feed(chunk)
                if sniffer.over_limit:
                    break
                out.write(chunk)
        ooxml = None
        if sniffer.head.startswith(rules.ZIP_MAGIC) and not sniffer.over_limit:
            ooxml = _ooxml_kind(temporary)
        name = rules.clean_name(upload.name)
        facts = sniffer.facts(ooxml)
        kind, problem = rules.judge_file(name, facts, self.limits)
        return Received(upload.recommendation_id, name, facts, kind, problem, key, temporary)


def _ooxml_kind(path: Path) -> str | None:
    """The Office Open XML kind of a zip file (None: not one, or not a readable zip)."""
    try:
        with zipfile.ZipFile(path) as package:
            parts = frozenset(package.namelist())
            info = package.getinfo(rules.CONTENT_TYPES_PART) if rules.CONTENT_TYPES_PART in parts else None
            if info is None or info.file_size > CONTENT_TYPES_MAX:
                return None
            content_types = package.read(info).decode("utf-8", errors="replace")
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
        EOFError,
    ):
        return None  # damaged, encrypted or oddly compressed: not an Office file this portal accepts
    return rules.ooxml_kind(parts, content_types)


@dataclass
class StagedEvidence:
    """The files of one save, received but not yet in place; `commit` places them with the transaction."""

    store: EvidenceStore
    received: list[Received]
    removals: tuple[int, ...]
    attached: list[Received] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)

    def commit(self, uow: UnitOfWork) -> None:
        """Rename the attached files into place, commit; a failed commit deletes them again."""
        placed: list[Path] = []
        try:
            for item in self.attached:
                path = self.store.path_of(item.key)
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item.temporary, path)
                placed.append(path)
            uow.commit()
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            raise
        for key in self.removed_keys:  # rows gone for good: their files may go too
            self.store.path_of(key).unlink(missing_ok=True)


@contextmanager
def staged(store: EvidenceStore | None, changes: EvidenceChanges | None) -> Iterator[StagedEvidence | None]:
    """The uploads received to temporary files for the block; whatever was not placed is deleted after it."""
    if store is None or not changes:
        yield None
        return
    batch = StagedEvidence(store, [], changes.removals)
    try:
        for upload in changes.uploads:
            batch.received.append(store.receive(upload))
        yield batch
    finally:
        for item in batch.received:
            item.temporary.unlink(missing_ok=True)


def attach(
    uow: UnitOfWork,
    clock: Clock,
    request: StatusRequest,
    cycle: StockTakeCycle,
    batch: StagedEvidence,
) -> list[AnswerProblem]:
    """Write the rows of the files received and delete those of the files removed, in `uow`'s transaction.

    Returns the problems (a file refused, one too many, an item locked); the caller commits only
    when there are none. Removals of files that are not this request's are ignored.
    """
    agency = request.agency_code
    codes = {item.recommendation_id: item.code for item in uow.cycle_items.for_agency(cycle.id or 0, agency)}
    rows = uow.evidence.of_request(cycle.id or 0, agency)
    states = {u.recommendation_id: u.state for u in uow.updates.for_request(cycle.id or 0, agency)}
    today, now, by = clock.today(), clock.now(), f"{agency} focal point"

    def locked(rid: int) -> str:
        return lock_reason(cycle, request, states.get(rid), today)

    def noted(rid: int, action: str, name: str, **data: object) -> None:
        key = StatusUpdate.key_of(cycle.id or 0, rid, agency)
        uow.record(
            Transition(ENTITY, key, None, action, now, by, f"'{name}' {action}", {"name": name, **data})
        )

    problems: list[AnswerProblem] = []
    kept: dict[int, list[str]] = {rid: [] for rid in codes}
    for row in rows:
        if row.id not in batch.removals or row.recommendation_id not in codes:
            kept.setdefault(row.recommendation_id, []).append(row.sha256)
        elif lock := locked(row.recommendation_id):
            said = Message(
                N_("'%(name)s' cannot be removed: %(reason)s"), {"name": row.name, "reason": Message(lock)}
            )
            problems.append(
                AnswerProblem.of(codes[row.recommendation_id], row.recommendation_id, rules.FIELD, said)
            )
        else:
            uow.evidence.remove(row.id)
            batch.removed_keys.append(row.storage_key)
            noted(row.recommendation_id, "removed", row.name, sha256=row.sha256)
    for rid, received in _by_item(batch.received, codes):
        code = codes[rid]
        if lock := locked(rid):
            said = Message(N_("%(reason)s Files can no longer be attached."), {"reason": Message(lock)})
            problems.append(AnswerProblem.of(code, rid, rules.FIELD, said))
            continue
        problems.extend(AnswerProblem.of(code, rid, rules.FIELD, r.problem) for r in received if r.problem)
        # The same bytes twice on one answer are one file: a second copy is not attached again.
        first: dict[str, Received] = {}
        for r in received:
            if r.kind and r.facts.sha256 not in kept[rid]:
                first.setdefault(r.facts.sha256, r)
        new = list(first.values())
        too_many = rules.judge_count([r.name for r in new], len(kept[rid]), batch.store.limits)
        problems.extend(AnswerProblem.of(code, rid, rules.FIELD, said) for said in too_many)
        for item in new[: max(len(new) - len(too_many), 0)]:
            assert item.kind is not None
            uow.evidence.add(
                cycle.id or 0,
                rid,
                agency,
                NewFile(item.name, item.kind.key, item.facts.size, item.facts.sha256, item.key, now, by),
            )
            batch.attached.append(item)
            noted(
                rid, "attached", item.name, sha256=item.facts.sha256, size=item.facts.size, kind=item.kind.key
            )
    return problems


def _by_item(received: Sequence[Received], codes: dict[int, str]) -> list[tuple[int, list[Received]]]:
    """The files received, grouped by item in the order they came; files for other items are dropped."""
    grouped: dict[int, list[Received]] = {}
    for item in received:
        if item.recommendation_id in codes:
            grouped.setdefault(item.recommendation_id, []).append(item)
    return list(grouped.items())
