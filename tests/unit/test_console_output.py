"""What the command line and `make demo` print when their output goes to a file or a pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from workflows.cli.text_table import text_table
from workflows.demo_console import TablesAsCounts, result_line

ROOT = Path(__file__).resolve().parents[2]
WIDE_CELL = "Migration et développement — " * 6  # 174 characters, some of them two bytes in UTF-8


def test_a_piped_cli_table_stays_whole_and_valid_utf8_past_80_columns() -> None:
    script = (
        "from rich.table import Table\n"
        "from workflows.cli.base import console\n"
        "table = Table('code', 'text')\n"
        f"table.add_row('A1.1', {WIDE_CELL!r})\n"
        "console.print(table)\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    environment["PYTHONPATH"] = str(ROOT)

    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, env=environment, check=True
    ).stdout

    text = output.decode("utf-8")  # raises on a character cut in half
    assert WIDE_CELL.strip() in text
    assert len(text.splitlines()) == 5  # top rule, header, separator, the one row, bottom rule


def test_the_quiet_demo_prints_a_table_as_its_title_and_row_count() -> None:
    table = Table("code", "owner", title="Overdue (300)")
    for number in range(300):
        table.add_row(f"A1.{number}", "WHO")
    printed = io.StringIO()
    console = Console(file=printed, width=80)
    console.push_render_hook(TablesAsCounts())

    console.print(table)

    assert printed.getvalue() == "Overdue (300): 300 rows\n"


def test_the_quiet_demo_names_an_untitled_table_by_its_columns() -> None:
    table = Table("code", "lead", "")
    table.add_row("SR1", "GMG", "applied")
    table.add_row("SR2", "UNDP", "applied")
    printed = io.StringIO()
    console = Console(file=printed, width=80)
    console.push_render_hook(TablesAsCounts())

    console.print(table)

    assert printed.getvalue() == "table of 2 rows (code, lead)\n"


def test_the_quiet_demo_prints_a_one_row_result_as_its_values() -> None:
    table = Table("report", "items", "added", "", title="Import")
    table.add_row("CEB/2014/4 Annex V", "85", Text("85"), "new")
    printed = io.StringIO()
    console = Console(file=printed, width=200)
    console.push_render_hook(TablesAsCounts())

    console.print(table)

    assert printed.getvalue() == "Import: report CEB/2014/4 Annex V, items 85, added 85, new\n"


def test_the_quiet_demo_shows_a_long_command_output_as_its_first_lines_shortened() -> None:
    output = "Cycle closed.\n\n" + "x" * 200 + "\nthird\nfourth\nfifth\n"

    result = result_line(output)

    assert result == f"Cycle closed; {'x' * 139}…; third; ... 2 more lines"


def test_the_quiet_demo_shows_a_plain_text_table_as_its_title_header_and_first_row() -> None:
    output = text_table(
        ("agency", "requested", "answered"),
        [("ILO", "12", "3"), ("IOM", "4", "4")],
        title="Spring 2015, open",
    )

    result = result_line(output)

    assert result == "Spring 2015, open; agency requested answered; ILO 12 3; ... 1 more lines"
