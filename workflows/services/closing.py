"""Collecting and closing a cycle: take in the inbox, close, write the stock-take, tell the secretariat.

No Prefect here: flows call these functions with factories for fresh units of work, since each
file is imported in a transaction of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from domain.errors import DomainError, ValidationError
from domain.figures import StocktakeFigures
from domain.lifecycle import CycleState, RequestState
from domain.ports import Clock, Notifier, UnitOfWork
from workflows.config import CycleConfig
from workflows.queries.emails import agency_context, bodies_of, summary_context
from workflows.queries.progress import AgencyProgress, progress
from workflows.services.follow_up import announce_replies, sync_answered

if TYPE_CHECKING:  # report rendering is imported by the close only (see _write_reports)
    from workflows.services.stocktake import WrittenStocktake

REPLY_FILE_SUFFIXES = (".xlsx", ".csv")
# The unit of work the caller's factories make (each notifier queues in the unit of work it is given).
U = TypeVar("U", bound=UnitOfWork)


@dataclass(frozen=True)
class FileOutcome:
    """One spreadsheet taken from the inbox: where it went, and why when it was rejected."""

    name: str
    accepted: bool
    moved_to: Path
    error: str = ""
    agency_code: str | None = None


@dataclass(frozen=True)
class CollectReport:
    """What collecting did: files taken in or rejected, replies newly complete, what is missing."""

    cycle_name: str
    files: list[FileOutcome]
    newly_answered: list[str]
    missing: list[AgencyProgress]
    # Agencies whose reply has a version not announced before (each version is announced once).
    replies_received: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CloseReport:
    """What closing did: collection, reports written, the summary queued."""

    cycle_name: str
    closed_now: bool
    collect: CollectReport
    report_paths: dict[str, Path]
    summary_enqueued: bool
    figures: StocktakeFigures


def collect_replies(
    new_uow: Callable[[], U],
    new_notifier: Callable[[U], Notifier],
    clock: Clock,
    config: CycleConfig,
    *,
    cycle_name: str,
    inbox_dir: Path,
) -> CollectReport:
    """Take in the spreadsheets dropped in the inbox, count portal replies, and report what is missing.

    Each file is imported in its own transaction, then moved to `processed/`, or to `rejected/`
    beside a `.errors.txt` that lists every problem found in it.
    """
    with new_uow() as uow:
        uow.cycles.require(cycle_name)
    spreadsheets = sorted(p for p in inbox_dir.glob("*") if p.suffix.lower() in REPLY_FILE_SUFFIXES)
    files = [_take_in(new_uow, new_notifier, clock, config, path) for path in spreadsheets]
    with new_uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        newly = sync_answered(uow, cycle, clock.now()) if cycle.state == CycleState.OPEN else []
        received = announce_replies(uow, cycle)
        missing = [p for p in progress(uow, cycle, clock.today()) if p.missing]
        uow.commit()
    return CollectReport(cycle_name, files, newly, missing, received)


def _take_in(
    new_uow: Callable[[], U],
    new_notifier: Callable[[U], Notifier],
    clock: Clock,
    config: CycleConfig,
    path: Path,
) -> FileOutcome:
    # Imported here: the spreadsheet machinery (openpyxl) is only needed when there is a file to read.
    from workflows.services.spreadsheets import import_reply_file

    uow = new_uow()
    try:
        if path.is_symlink():  # it would read whatever it points to (/etc/passwd as a CSV)
            raise ValidationError(path.name, "is a symbolic link: drop the file itself in the inbox")
        imported = import_reply_file(uow, new_notifier(uow), clock, config, path)
    except DomainError as exc:
        moved = _move(path, path.parent / "rejected")
        moved.with_name(moved.name + ".errors.txt").write_text(f"{exc}\n", encoding="utf-8")
        return FileOutcome(path.name, False, moved, str(exc))
    moved = _move(path, path.parent / "processed")
    return FileOutcome(path.name, True, moved, agency_code=imported.agency_code)


def _move(path: Path, folder: Path) -> Path:
    """Move a file into `folder`, never overwriting an earlier file of the same name; owner-only, as
    every file Follow-up keeps (whoever dropped it may have left it readable by all)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists() or target.is_symlink():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    moved = Path(shutil.move(str(path), target))
    if not moved.is_symlink():
        moved.chmod(0o600)
    return moved


def close_cycle(
    new_uow: Callable[[], U],
    new_notifier: Callable[[U], Notifier],
    clock: Clock,
    config: CycleConfig,
    *,
    cycle_name: str,
    inbox_dir: Path,
    reports_dir: Path,
    formats: Sequence[str],
    report_url: Callable[[Path], str] = lambda path: path.resolve().as_uri(),
    by: str = "secretariat",
) -> CloseReport:
    """Collect, close the cycle and its requests, write the stock-take, queue the cycle summary.

    Closing a closed cycle again rewrites the reports and queues nothing new.
    """
    collected = collect_replies(
        new_uow, new_notifier, clock, config, cycle_name=cycle_name, inbox_dir=inbox_dir
    )
    now = clock.now()
    with new_uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        closed_now = cycle.state == CycleState.OPEN
        if not closed_now and cycle.state != CycleState.CLOSED:
            raise ValidationError(
                "cycle", f"'{cycle_name}' is {cycle.state}: only an open cycle can be closed"
            )
        lines = progress(uow, cycle, clock.today())
        if closed_now:
            cycle.transition(CycleState.CLOSED, at=now, by=by, why="cycle closed")
            cycle.closed_at = now
            for request in uow.requests.for_cycle(cycle.id or 0):
                if request.state != RequestState.CLOSED:
                    request.transition(RequestState.CLOSED, at=now, by=by, why="cycle closed")
        uow.commit()
    written = _write_reports(
        new_uow(),
        cycle_name,
        formats=formats,
        out_dir=reports_dir,
        clock=clock,
        language=config.secretariat_language,
    )
    paths = written.paths
    with new_uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        late = uow.agencies.by_codes(line.code for line in lines if line.missing)
        overdue = [late[code] for code in sorted(late)]  # in code order, as the progress lines
        context = summary_context(cycle, config, overdue, written.figures, paths, report_url)
        notifier = new_notifier(uow)
        enqueued = notifier.enqueue(
            "cycle-summary",
            key=f"cycle-summary:{cycle.id}",
            to=[config.secretariat_email],
            context=context,
            cycle_id=cycle.id,
        )
        uow.commit()
    return CloseReport(cycle_name, closed_now, collected, paths, enqueued, written.figures)


def _write_reports(
    uow: UnitOfWork, cycle_name: str, *, formats: Sequence[str], out_dir: Path, clock: Clock, language: str
) -> WrittenStocktake:
    # Imported here: report rendering (python-docx, matplotlib) is only loaded by the close.
    from workflows.services.stocktake import write_stocktake

    return write_stocktake(uow, cycle_name, formats=formats, out_dir=out_dir, clock=clock, language=language)


@dataclass(frozen=True)
class CycleCancelled:
    """What cancelling a cycle did."""

    cycle_name: str
    requests_closed: int
    withdrawn: int  # messages not sent, never to be
    notices: list[str]  # outbox keys of the notices queued, one per agency its request reached


def cancel_cycle(
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    config: CycleConfig,
    cycle_name: str,
    *,
    by: str,
    why: str,
) -> CycleCancelled:
    """Cancel an open cycle: its requests close, its links stop, what was not sent never is, and each
    agency its request reached is told (its calendar entry of the deadline is cancelled).

    Answers already given are kept; a cancelled cycle is never the "previous" one a stock-take compares
    with, nor part of the public record.
    """
    now = clock.now()
    with uow:
        cycle = uow.cycles.require(cycle_name)
        assert cycle.id is not None
        # The cycle, then its requests, as the follow-up locks them: one running meanwhile commits
        # its reminders first, and they are withdrawn below with the rest.
        uow.cycles.lock(cycle)
        requests = uow.requests.locked_for_cycle(cycle.id)
        # Asked before the cancellation: only an open cycle's pending requests are looked up.
        left = uow.outbox.status_requests_sent(cycle.id)
        cycle.cancel(at=now, by=by, why=why)
        withdrawn = uow.outbox.withdraw(cycle.id)
        reached = [r for r in requests if r.reached(e_mail_left=(cycle.id, r.agency_code) in left)]
        bodies = bodies_of(uow.agencies, reached)
        moves = uow.cycles.deadline_moves(cycle).times
        notices = []
        for request in reached:
            agency, through = bodies[request.agency_code]
            context = {
                **agency_context(cycle, config, agency, through),
                "reply_url": config.reply_url(cycle.id, agency.code, request.token_nonce),
                "deadline_moves": moves,
            }
            key = f"cycle-cancelled:{cycle.id}:{agency.code}"
            to = (through or agency).recipients()
            if notifier.enqueue(
                "cycle-cancelled", key=key, to=to, context=context, cycle_id=cycle.id, agency_code=agency.code
            ):
                notices.append(key)
        closed = 0
        for request in requests:
            if request.state != RequestState.CLOSED:
                request.transition(RequestState.CLOSED, at=now, by=by, why="cycle cancelled")
                closed += 1
        uow.commit()
    return CycleCancelled(cycle_name, closed, withdrawn, notices)
