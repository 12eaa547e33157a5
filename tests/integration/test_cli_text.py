"""Text from files and agencies reaches the terminal as written: never as Rich markup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from tests.support import CliRun, followup_in_process
from workflows.cli.plain_table import PlainTable

TYPED = "Click [link=http://evil.example]here[/link] now [draft] ok"


def test_a_tables_title_and_cells_show_brackets_as_typed_and_no_hyperlink_reaches_the_terminal() -> None:
    console = Console(record=True, force_terminal=True, width=200)
    table = PlainTable("code", "text", title="[bold]CEB/2014/4[/]")
    table.add_row("A1.1", TYPED)
    console.print(table)

    shown = console.export_text()
    assert TYPED in shown and "[bold]CEB/2014/4[/]" in shown
    assert "\x1b]8;" not in console.export_text(styles=True)  # OSC 8: a hyperlink the text would open


@pytest.fixture
def followup(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRun]:
    yield from followup_in_process(database_url, tmp_path / "home", monkeypatch)


def test_an_error_quoting_what_was_typed_shows_its_brackets(followup: CliRun) -> None:
    result = followup("cycle", "show", "Spring [draft] 2027")
    assert result.exit_code == 1
    assert "no cycle named 'Spring [draft] 2027'" in result.output
