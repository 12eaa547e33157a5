"""`followup import`, `owners suggest/export/apply` and `catalogue`, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db import tables
from db.engine import make_engine
from tests.support import CliRun, followup_in_process, said
from workflows import bootstrap

SEED = Path(__file__).resolve().parents[2] / "db" / "seed"
SAMPLE = SEED / "CEB-2014-4-Annex-V.md"
DEMO_OWNERS = SEED / "demo-owners.yaml"


@pytest.fixture
def followup(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRun]:
    """Run `followup ...` in-process against this test's own database (registry loaded)."""
    yield from followup_in_process(database_url, tmp_path / "home", monkeypatch)


def _rows(database_url: str, table) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        engine.dispose()


def test_a_dry_run_prints_the_items_as_json_and_writes_nothing(followup: CliRun, database_url: str) -> None:
    result = followup("import", str(SAMPLE), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert len(items) == 85
    assert all(set(item) == {"code", "kind", "agenda_point", "theme", "parent", "text"} for item in items)
    assert items[3] == {
        "code": "SR1.ii.a",
        "kind": "strategic",
        "agenda_point": None,
        "theme": None,
        "parent": "SR1.ii",
        "text": "Request the UNDG to consider working with the GMG to develop a set of guidelines and tools "
        "to mainstream migration into UN Development Assistance Frameworks (UNDAFs).",
    }
    assert _rows(database_url, tables.recommendations) == 0


def test_import_suggest_apply_and_catalogue_make_the_demo_catalogue(
    followup: CliRun, database_url: str
) -> None:
    imported = followup("import", str(SAMPLE))
    assert imported.exit_code == 0, imported.output
    assert "CEB/2014/4 Annex V" in said(imported.stdout) and "85" in said(imported.stdout)
    assert json.loads(followup("import", str(SAMPLE), "--json").stdout)["unchanged"] == 85
    suggested = followup("owners", "suggest", "--apply")
    assert suggested.exit_code == 0, suggested.output
    assert "Owners stored for 85 recommendations" in said(suggested.stdout)
    applied = followup("owners", "apply", str(DEMO_OWNERS))
    assert applied.exit_code == 0, applied.output
    planned = followup("owners", "apply", str(SEED / "demo-milestones.yaml"))
    assert "18 milestones added" in said(planned.stdout)
    summary = followup("catalogue")
    assert summary.exit_code == 0, summary.output
    assert "1. Protect the human rights of all migrants" in said(summary.stdout)
    assert "0 recommendations without an owner; 18 milestones." in said(summary.stdout)
    assert _rows(database_url, tables.recommendations) == 85


def test_owners_export_writes_a_file_that_applies_back_unchanged(followup: CliRun, tmp_path: Path) -> None:
    followup("import", str(SAMPLE))
    followup("owners", "suggest", "--apply")
    out = tmp_path / "owners.yaml"
    exported = followup("owners", "export", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert "SR1.ii.a:" in out.read_text(encoding="utf-8")
    applied = followup("owners", "apply", str(out))
    assert applied.exit_code == 0, applied.output
    assert "owners changed on 0, 0 milestones added, 0 updated" in said(applied.stdout)


def test_applying_an_unknown_agency_fails_with_its_line_and_writes_nothing(
    followup: CliRun, database_url: str, tmp_path: Path
) -> None:
    followup("import", str(SAMPLE))
    bad = tmp_path / "owners.yaml"
    bad.write_text(DEMO_OWNERS.read_text(encoding="utf-8").replace("{UNHCR: lead}", "{UNHRC: lead}"))
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), start=1) if "UNHRC" in text)
    result = followup("owners", "apply", str(bad))
    assert result.exit_code == 1
    assert f"owners.yaml line {line}: unknown agency 'UNHRC'" in said(result.stderr)
    assert _rows(database_url, tables.ownerships) == 0
    assert _rows(database_url, tables.milestones) == 0


def test_importing_a_file_that_is_not_text_fails_clearly_and_writes_nothing(
    followup: CliRun, database_url: str, tmp_path: Path
) -> None:
    binary = tmp_path / "report.doc"
    binary.write_bytes(b"%PDF-1.7\n\x00\x9c\xff binary")
    result = followup("import", str(binary))
    assert result.exit_code == 1
    assert "report.doc: line 2: contains NUL bytes: this is not a text file" in " ".join(
        result.stderr.split()
    )
    empty = tmp_path / "notes.md"
    empty.write_text("Minutes of the meeting.\n")
    result = followup("import", str(empty))
    assert result.exit_code == 1 and "no recommendations found" in said(result.stderr)
    missing = followup("import", str(tmp_path / "missing.md"))
    assert missing.exit_code == 1 and "missing.md: no such file" in said(missing.stderr)
    assert _rows(database_url, tables.recommendations) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_catalogue_commands_do_not_import_prefect(database_url: str, tmp_path: Path) -> None:
    script = (
        "import sys; from typer.testing import CliRunner; from workflows.cli import app\n"
        "r = CliRunner()\n"
        f"assert r.invoke(app, ['init']).exit_code == 0\n"
        f"assert r.invoke(app, ['import', {str(SAMPLE)!r}]).exit_code == 0\n"
        "assert r.invoke(app, ['owners', 'suggest', '--apply']).exit_code == 0\n"
        "assert r.invoke(app, ['catalogue']).exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))\n"
    )
    env = {"FOLLOWUP_DATABASE_URL": database_url, "FOLLOWUP_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _contacts(code: str) -> list[tuple[str, str]]:
    """The agency's stored contacts as (role, e-mail)."""
    with bootstrap.uow() as uow:
        return [(c.role, c.email) for c in uow.agencies.require(code).contacts]


def test_the_secretariat_replaces_an_agencys_example_focal_point_with_a_real_one(followup: CliRun) -> None:
    result = followup("agencies", "set-contact", "ILO", "--email", "migration@ilo.example.int", "--replace")
    assert result.exit_code == 0, result.output
    assert "migration@ilo.example.int" in said(result.output)
    assert sorted(_contacts("ILO")) == [
        ("focal_point", "migration@ilo.example.int"),
        ("head_of_office", "head.office@ilo.example.org"),  # other roles are untouched
    ]


def test_a_bad_address_or_unknown_agency_is_refused_and_nothing_changes(followup: CliRun) -> None:
    before = _contacts("ILO")
    bad = followup("agencies", "set-contact", "ILO", "--email", "not-an-address")
    unknown = followup("agencies", "set-contact", "NOPE", "--email", "a@b.example.org")
    assert (bad.exit_code, unknown.exit_code) == (1, 1)
    assert "'not-an-address' is not a valid e-mail address" in said(bad.output)
    assert "no agency with code 'NOPE'" in said(unknown.output)
    assert _contacts("ILO") == before


def test_a_contact_name_longer_than_its_column_is_refused_naming_the_field(followup: CliRun) -> None:
    result = followup("agencies", "set-contact", "ILO", "--email", "a@ilo.org", "--name", "N" * 201)
    assert result.exit_code == 1
    assert "name: at most 200 characters (this one has 201)" in said(result.output)
    assert "a@ilo.org" not in followup("agencies", "list").output


def test_close_item_and_reopen_item_record_each_move_and_refuse_a_wrong_one(followup: CliRun) -> None:
    assert followup("import", str(SAMPLE)).exit_code == 0
    closed = followup("close-item", "A2.5", "--as", "implemented", "--why", "The Expert Meeting took place.")
    assert closed.exit_code == 0, closed.output
    assert "A2.5 closed as implemented: the next cycles no longer ask about it" in said(closed.output)
    refused = followup("close-item", "A2.6", "--as", "finished", "--why", "Done.")
    assert refused.exit_code == 1 and "'finished' is not a way to close" in said(refused.output)
    unknown = followup("close-item", "A2.6", "--as", "implemented", "--why", "x", "--report", "NOPE")
    assert unknown.exit_code == 1 and "no report 'NOPE' is imported" in said(unknown.output)
    twice = followup("close-item", "A2.5", "--as", "overtaken", "--why", "Again.")
    assert twice.exit_code == 1 and "cannot move from 'implemented' to 'overtaken'" in said(twice.output)
    no_reason = followup("reopen-item", "A2.5", "--why", " ")
    assert no_reason.exit_code == 1 and "say why the recommendation is reopened" in said(no_reason.output)
    reopened = followup("reopen-item", "A2.5", "--why", "The follow-up meeting was cancelled.")
    assert reopened.exit_code == 0 and "A2.5 reopened (was implemented)" in said(reopened.output)
