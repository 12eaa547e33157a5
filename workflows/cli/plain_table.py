"""Rich tables of text as written, imported where a command draws one (Rich's tables load on demand)."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text


class PlainTable(Table):
    """A Rich table whose text (title and cells) is shown as written: text from an imported file or
    an agency ("[draft]", "[link=...]") never becomes markup. Styled cells are passed as `Text`."""

    def __init__(self, *headers: str, title: str | None = None, **options: Any) -> None:
        super().__init__(*headers, title=Text(title) if title is not None else None, **options)

    def add_row(self, *cells: RenderableType | None, **options: Any) -> None:
        """Add a row; its strings are plain text."""
        super().add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells), **options)
