"""Use cases: build a cycle's stock-take from the database and write it in every format.

The data comes in a fixed handful of bulk queries (whatever the number of recommendations and
agencies); rendering lives in `reporting/`, which knows nothing about the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from domain.errors import ValidationError
from domain.launch import cycle_slug
from domain.ports import Clock, UnitOfWork
from domain.stocktake import StockTake, StocktakeFigures
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
        if isinstance(value, str) and limit is not None and len(value) > limit:
            raise ValidationError(name, f"is {len(value)} characters long; at most {limit} fit")


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


def figures_of(uow: UnitOfWork, cycle_name: str, *, today: date) -> StocktakeFigures:
    """The stock-take figures of `cycle_name` as of `today` (for the e-mail, the artifact, the CLI)."""
    with uow:
        return build_stocktake(uow, cycle_name, today=today).figures


def build_stocktake(uow: UnitOfWork, cycle_name: str, *, today: date) -> StockTake:
    """The stock-take of `cycle_name` as of `today`, compared with the previous cycle."""
    return uow.stocktakes.of_cycle(uow.cycles.require(cycle_name), today)


def report_file_name(cycle_name: str, fmt: str) -> str:
    """The file a cycle's stock-take is written to, in one format (the portal serves it by this name)."""
    return f"{cycle_slug(cycle_name)}-stocktake.{fmt}"


def _renderer(fmt: str) -> Callable[[StockTake], bytes]:
    """One format's renderer, importing that format's module only.

    Imported here so building the data does not pay for them, and one by one: importing every
    renderer (matplotlib, python-docx, openpyxl) took a quarter of writing the Markdown alone.
    """
    if fmt == "docx":
        from reporting.docx import render_docx

        return render_docx
    if fmt == "html":
        from reporting.html import render_html

        return lambda st: render_html(st).encode()
    if fmt == "md":
        from reporting.markdown import render_markdown

        return lambda st: render_markdown(st).encode()
    from reporting.xlsx import render_xlsx

    return render_xlsx


def _write_atomically(path: Path, content: bytes) -> None:
    # Write next to the target and rename: a reader never sees half a report. (Not mkstemp: its
    # owner-only mode would stick to the report; `open(..., "xb")` honours the umask.)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_reports(
    uow: UnitOfWork,
    cycle_name: str,
    *,
    formats: Sequence[str] = FORMATS,
    out_dir: Path,
    clock: Clock,
) -> dict[str, Path]:
    """Write `<cycle-slug>-stocktake.<ext>` for each format into `out_dir`; returns format -> path."""
    return write_stocktake(uow, cycle_name, formats=formats, out_dir=out_dir, clock=clock).paths


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
) -> WrittenStocktake:
    """Write the stock-take in each format; the paths, and the figures for the e-mail and the artifact."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValidationError("format", f"'{', '.join(unknown)}' is not one of {', '.join(FORMATS)}")
    with uow:
        stocktake = build_stocktake(uow, cycle_name, today=clock.today())
    # Render everything first, so a failing format leaves no partial set of files behind.
    rendered = {fmt: _renderer(fmt)(stocktake) for fmt in dict.fromkeys(formats)}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for fmt, content in rendered.items():
        paths[fmt] = out_dir / report_file_name(cycle_name, fmt)
        _write_atomically(paths[fmt], content)
    return WrittenStocktake(paths, stocktake.figures)
