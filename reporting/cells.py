"""Spreadsheet cells written from text: always string cells, never formulas.

openpyxl reads any str starting with "=" as a formula: a narrative "=> no change" or a cycle named
"=1+1" would be computed (or read back empty) instead of shown. Every cell whose value came from
text goes through `text_cell`/`set_text`, for reports and reply templates alike. Characters XML
does not allow are dropped there, as the reports' other text drops them (`package.xml_text`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from openpyxl.cell import Cell, WriteOnlyCell

from reporting.package import xml_allowed

CellT = TypeVar("CellT", Cell, WriteOnlyCell)


def set_text(cell: CellT, value: object) -> CellT:
    """Put `value` in `cell`; a str stays a string cell whatever it starts with, less what XML cannot hold."""
    if isinstance(value, str):
        # A control character typed into the portal or a .md report would make openpyxl refuse the cell.
        cell.value = xml_allowed(value)
        cell.data_type = "s"  # after the value: openpyxl's setter has just guessed "f" for "=..."
    else:
        cell.value = value
    return cell


def text_cell(sheet: Any, value: object) -> WriteOnlyCell:
    """A write-only sheet's cell holding `value`, text kept as text."""
    return set_text(WriteOnlyCell(sheet), value)


def text_row(sheet: Any, values: Iterable[object]) -> list[WriteOnlyCell]:
    """A write-only sheet's row of cells (for `sheet.append`), text kept as text."""
    return [text_cell(sheet, value) for value in values]
