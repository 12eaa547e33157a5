"""Plain-text tables, for the commands that answer without Rich (`followup cycle list`, `cycle show`).

Rich takes a tenth of a second to import and to lay out a table of a few hundred agencies; these
tables are columns padded to their widest cell, numbers right-aligned, a rule under the header and
above a total, and they read the same in a terminal, a pipe or a log.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

GAP = "  "


def text_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
    total: Sequence[str] | None = None,
    right: Collection[int] = (),
) -> str:
    """The table as lines of text (ending in a newline); `right` are the indexes of right-aligned columns."""
    body = [list(row) for row in rows]
    every = [list(header), *body, *([list(total)] if total else [])]
    widths = [max(len(line[column]) for line in every) for column in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return GAP.join(padded).rstrip()

    rule = GAP.join("-" * width for width in widths)
    lines = [*([title] if title else []), line(header), rule, *(line(row) for row in body)]
    if total:
        lines += [rule, line(total)]
    return "\n".join(lines) + "\n"
