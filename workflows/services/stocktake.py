"""Use cases: build a cycle's stock-take from the database and write it in every format.

The data comes in a fixed handful of bulk queries (whatever the number of recommendations and
agencies); rendering lives in `reporting/`, which knows nothing about the database.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from domain.errors import ValidationError
from domain.language import Language, Words
from domain.launch import cycle_slug, printable_line
from domain.lifecycle import CycleState
from domain.policies import counted_on
from domain.ports import Clock, UnitOfWork
from domain.stocktake import StockTake, StocktakeFigures
from notifications.i18n import translator
from reporting import FORMATS

# The document fields `set_document` may change, with their longest allowed length (None: any).
DOCUMENT_FIELDS: dict[str, int | None] = {
    "hlcp_session": 200,
    "symbol": 100,
    "venue": 200,
    "document_date": None,
    "action_requested": None,
}


def check_document(values: dict[str, str | date | None]) -> None:
    """Refuse unknown document fields and texts longer than their column."""
    for name, value in values.items():
        if name not in DOCUMENT_FIELDS:
            raise ValidationError(name, "is not a document field")
        limit = DOCUMENT_FIELDS[name]
        if isinstance(value, str) and limit is not None:
            if len(value) > limit:
                raise ValidationError(name, f"is {len(value)} characters long; at most {limit} fit")
            printable_line(value, name)  # on one line of the report's first page and its e-mails


def set_document(uow: UnitOfWork, cycle_name: str, **values: str | date | None) -> None:
    """Set the form of a cycle's stock-take document (symbol, session, venue, date, action requested).

    Only the fields given change; an empty string clears a field back to its default.
    """
    check_document(values)
    with uow:
        cycle = uow.cycles.require(cycle_name)
        for name, value in values.items():
            setattr(cycle, name, value if value != "" else None)
        uow.commit()


def build_stocktake(
    uow: UnitOfWork, cycle_name: str, *, today: date, language: str = Language.EN
) -> StockTake:
    """The stock-take of `cycle_name` as of `today` (a closed cycle's: as of the day it closed, see
    `counted_on`), compared with the previous cycle (for `language`)."""
    cycle = uow.cycles.require(cycle_name)
    if cycle.state == CycleState.CANCELLED:
        raise ValidationError("cycle", f"'{cycle_name}' was cancelled: it has no stock-take")
    return uow.stocktakes.of_cycle(cycle, counted_on(cycle.closed_at, today), language)


def report_file_name(cycle_name: str, fmt: str) -> str:
    """The file a cycle's stock-take is written to, in one format (the portal serves it by this name)."""
    return f"{cycle_slug(cycle_name)}-stocktake.{fmt}"


def writer(fmt: str) -> Callable[[StockTake, BinaryIO, Words], None]:
    """One format's writer, importing that format's module only.

    Imported here so building the data does not pay for them, and one by one: importing every
    renderer (matplotlib, python-docx, openpyxl) took a quarter of writing the Markdown alone.
    """
    if fmt == "docx":
        from reporting.docx import write_docx

        return write_docx
    if fmt == "html":
        from reporting.html import write_html

        return write_html
    if fmt == "md":
        from reporting.markdown import write_markdown

        return write_markdown
    from reporting.xlsx import write_xlsx

    return write_xlsx


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused: a large stock-take makes hundreds of thousands of objects
    and no cycles, and the collector's passes over them took a third of building it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def write_reports(
    uow: UnitOfWork,
    cycle_name: str,
    *,
    formats: Sequence[str] = FORMATS,
    out_dir: Path,
    clock: Clock,
    language: str = Language.EN,
) -> dict[str, Path]:
    """Write `<cycle-slug>-stocktake.<ext>` for each format into `out_dir`, in `language` (the
    secretariat's); returns format -> path."""
    return write_stocktake(
        uow, cycle_name, formats=formats, out_dir=out_dir, clock=clock, language=language
    ).paths


@dataclass(frozen=True)
class WrittenStocktake:
    """The report files written (format -> path) and the figures they state."""

    paths: dict[str, Path]
    figures: StocktakeFigures


def write_stocktake(
    uow: UnitOfWork,
    cycle_name: str,
    *,
    formats: Sequence[str] = FORMATS,
    out_dir: Path,
    clock: Clock,
    language: str = Language.EN,
) -> WrittenStocktake:
    """Write the stock-take in each format, in `language` (the secretariat's); the paths, and the
    figures for the e-mail and the artifact."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValidationError("format", f"'{', '.join(unknown)}' is not one of {', '.join(FORMATS)}")
    with _collector_paused():
        with uow:
            stocktake = build_stocktake(uow, cycle_name, today=clock.today(), language=language)
        words = translator(language)
        out_dir.mkdir(parents=True, exist_ok=True)
        # Each format streams into a temporary file beside its target, renamed into place only
        # when every format is written: a failing format leaves no partial set behind, and a
        # reader never sees half a report. (Not mkstemp: its owner-only mode would stick to the
        # report; `open(..., "xb")` honours the umask.)
        written: dict[str, tuple[Path, Path]] = {}
        try:
            for fmt in dict.fromkeys(formats):
                path = out_dir / report_file_name(cycle_name, fmt)
                temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
                written[fmt] = (temporary, path)
                with open(temporary, "xb") as handle:
                    writer(fmt)(stocktake, handle, words)
        except BaseException:
            for temporary, _ in written.values():
                temporary.unlink(missing_ok=True)
            raise
        # Let go of the report while the collector is still paused: once resumed, its first pass
        # would walk every object made meanwhile (a few percent of a large report's time).
        figures = stocktake.figures
        del stocktake
    for temporary, path in written.values():
        os.replace(temporary, path)
    return WrittenStocktake({fmt: path for fmt, (_, path) in written.items()}, figures)
