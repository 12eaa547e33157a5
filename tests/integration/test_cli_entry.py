"""The console script answers `cycle list` and `cycle show NAME` itself, printing what the Typer
commands print, and says when the database was never initialised."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import DatabaseNotInitialised
from tests.support import console_script, prepare_spring_cycle
from workflows import bootstrap
from workflows.cli.entry import LEAN, lean_command

# What is under test is the command line (both backends are covered by the read models' tests).
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])


@ON_SQLITE
def test_the_console_script_prints_the_typer_commands_cycle_list_and_show_without_typer_rich_or_pydantic(
    database_url: str,
) -> None:
    prepare_spring_cycle(database_url)
    for command in (["cycle", "list"], ["cycle", "show", "Spring 2026"]):
        lean = console_script({"FOLLOWUP_DATABASE_URL": database_url}, *command)
        typer = console_script({"FOLLOWUP_DATABASE_URL": database_url}, *command, typer_app=True)
        assert "status 0; loaded: []" in lean.stderr, lean.stderr
        assert "status 0; loaded: ['pydantic', 'rich', 'typer']" in typer.stderr, typer.stderr
        assert lean.stdout == typer.stdout
    listed = console_script({"FOLLOWUP_DATABASE_URL": database_url}, "cycle", "list").stdout
    assert listed.splitlines()[0].split() == [
        "cycle",
        "session",
        "deadline",
        "state",
        "agencies",
        "answered",
        "items",
        "answered",
    ]
    assert "Spring 2026" in listed and "0/3" in listed


def test_options_and_help_go_to_the_typer_app_which_lists_every_command() -> None:
    assert lean_command(["cycle", "show", "Spring 2026"]) is not None
    assert lean_command(["cycle", "launch", "Spring 2026"]) is None
    for words, target in LEAN.items():
        found = lean_command([*words, "--help"])
        assert found is not None and found[0]([*words, "--help"][len(words) :]) is False, target
    everything = console_script({}, "--help")
    assert "status 0" in everything.stderr
    assert all(group in everything.stdout for group in ("init", "cycle", "agencies", "server", "mail"))
    helped = console_script({}, "cycle", "--help")
    assert "status 0" in helped.stderr and "list" in helped.stdout and "show" in helped.stdout
    assert "launch" in helped.stdout and "'typer'" in helped.stderr
    shown = console_script({}, "cycle", "show", "--help")
    assert "--help" in shown.stdout and "status 0" in shown.stderr


@ON_SQLITE
def test_an_unknown_cycle_is_named_in_one_line_with_exit_status_1(database_url: str) -> None:
    shown = console_script({"FOLLOWUP_DATABASE_URL": database_url}, "cycle", "show", "Nope")
    assert shown.stdout == ""
    assert shown.stderr.startswith("error: no cycle named 'Nope' (see `followup cycle list`)\n")
    assert "status 1" in shown.stderr and "Traceback" not in shown.stderr


def test_a_home_never_initialised_says_to_run_followup_init_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    report = Path(__file__).parents[2] / "db" / "seed" / "CEB-2014-4-Annex-V.md"
    for command in (
        ["cycle", "list"],
        ["cycle", "show", "Spring 2026"],
        ["cycle", "show", "X", "--today", "2026-04-02"],
        ["agencies", "list"],
        ["catalogue"],
        ["mail", "status"],
        ["report", "Spring 2026"],
        ["import", str(report)],
        ["portal", "--workers", "1"],
    ):
        said = console_script({"FOLLOWUP_HOME": str(home)}, *command)
        assert f"the database sqlite:///{home.resolve()}/followup.db is not initialised" in said.stderr
        assert "run `followup init` first" in said.stderr and "status 1" in said.stderr
        assert "Traceback" not in said.stderr
    assert not home.exists()


def test_a_flow_command_on_a_home_never_initialised_says_so_before_starting_a_prefect_server(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"

    said = console_script({"FOLLOWUP_HOME": str(home)}, "check")

    assert f"the database sqlite:///{home.resolve()}/followup.db is not initialised" in said.stderr
    assert "status 1" in said.stderr and "Traceback" not in said.stderr
    assert "Prefect server" not in said.stdout + said.stderr
    assert not (home / "followup.db").exists()


def test_a_database_without_tables_names_the_table_it_lacks_in_every_read_only_command(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    (tmp_path / "empty.db").touch()
    for command, table in (
        (["cycle", "list"], "status_requests"),
        (["cycle", "show", "Spring 2026"], "cycles"),
        (["agencies", "list"], "agencies"),
        (["catalogue"], "recommendations"),
        (["mail", "status"], "outbox"),
        (["api-token", "list"], "api_tokens"),
    ):
        said = console_script({"FOLLOWUP_DATABASE_URL": url}, *command)
        assert f"is not initialised (it has no table {table}): run `followup init` first" in said.stderr, (
            command
        )
        assert "status 1" in said.stderr and "Traceback" not in said.stderr


def test_a_statement_on_a_missing_table_reads_as_a_database_not_initialised_on_both_backends(
    database_url: str,
) -> None:
    not_initialised = pytest.raises(DatabaseNotInitialised, match=r"not initialised \(it has no table nope\)")
    with not_initialised, bootstrap.reading(database_url) as db:
        db.execute(text("SELECT * FROM nope"))
    bootstrap.engine(database_url).dispose()


def test_a_database_url_naming_a_driver_not_installed_or_no_database_says_what_to_write() -> None:
    for url, problem in (
        # psycopg 3, Follow-up's driver until 2026-12, is not installed with it.
        ("postgresql+psycopg://u:secret@h/db", "needs the Python package 'psycopg', which is not installed"),
        ("postgres://u:secret@h/db", "names 'postgres', a database or driver SQLAlchemy does not know"),
        ("not a url", "the database URL cannot be read as a URL"),
    ):
        for command in (["cycle", "list"], ["init"]):
            said = console_script({"FOLLOWUP_DATABASE_URL": url}, *command)
            assert problem in said.stderr, (url, command, said.stderr)
            assert "postgresql+psycopg2://user@host/db" in said.stderr and "secret" not in said.stderr
            assert "status 1" in said.stderr and "Traceback" not in said.stderr
