"""`followup report` end to end: a real database, the installed command, files on disk."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from db.engine import make_engine
from db.unit_of_work import SqlUnitOfWork
from tests.support import CURRENT, build_two_cycles

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _followup(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FOLLOWUP_DATABASE_URL": database_url, "COLUMNS": "200"}
    command = [sys.executable, "-c", "from workflows.cli import app; app()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_followup_report_prints_the_paths_it_wrote(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    build_two_cycles(SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False)))
    engine.dispose()
    out = tmp_path / "out"
    done = _followup(
        database_url, "report", CURRENT, "--format", "md", "--out", str(out), "--today", "2026-03-20"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(out / "hlcp-28-stock-take-stocktake.md")]
    assert (out / "hlcp-28-stock-take-stocktake.md").read_text() == (GOLDEN / "stocktake.md").read_text()

    refused = _followup(database_url, "report", CURRENT, "--format", "pdf", "--out", str(tmp_path / "x"))
    assert refused.returncode == 1
    assert "format: 'pdf' is not one of docx, html, md, xlsx" in refused.stderr
    bad_day = _followup(
        database_url, "report", CURRENT, "--today", "20-03-2026", "--out", str(tmp_path / "x")
    )
    assert bad_day.returncode == 1 and "--today: '20-03-2026' is not a date" in bad_day.stderr
    assert not (tmp_path / "x").exists()


def test_reading_and_rendering_a_report_imports_no_prefect() -> None:
    code = (
        "import sys, workflows.services.stocktake, reporting.docx, reporting.html, reporting.markdown, "
        "reporting.xlsx, workflows.cli.reports; "
        "assert not [m for m in sys.modules if m.startswith('prefect')], 'prefect imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_followup_cycle_set_gives_the_report_its_symbol_venue_date_and_action(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    build_two_cycles(SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False)))
    engine.dispose()
    done = _followup(
        database_url, "cycle", "set", CURRENT, "--symbol", "CEB/2026/HLCP-28/CRP.1", "--venue", "Geneva",
        "--document-date", "2026-03-25", "--action", "The Committee may wish to endorse the note.",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    _followup(database_url, "report", CURRENT, "--format", "md", "--out", str(out), "--today", "2026-03-20")
    report = (out / "hlcp-28-stock-take-stocktake.md").read_text()
    assert "HLCP 28, Geneva" in report and "**CEB/2026/HLCP-28/CRP.1**" in report
    assert "25 March 2026" in report
    assert report.rstrip().endswith("|") and "The Committee may wish to endorse the note." in report

    too_long = _followup(database_url, "cycle", "set", CURRENT, "--symbol", "X" * 101)
    assert too_long.returncode == 1 and "symbol: is 101 characters long; at most 100 fit" in too_long.stderr
    hidden = _followup(database_url, "cycle", "set", CURRENT, "--venue", "Rome\x1b[2J")
    assert hidden.returncode == 1 and "venue: contains the control character U+001B" in hidden.stderr
    nothing = _followup(database_url, "cycle", "set", CURRENT)
    assert nothing.returncode == 2 and "Nothing to set" in nothing.stderr
    unknown = _followup(database_url, "cycle", "set", "HLCP 99", "--venue", "Rome")
    assert unknown.returncode == 1 and "no cycle named 'HLCP 99'" in unknown.stderr


def test_followup_cycle_show_prints_the_stocktake_figures_of_the_report(database_url: str) -> None:
    engine = make_engine(database_url)
    build_two_cycles(SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False)))
    engine.dispose()
    done = _followup(database_url, "cycle", "show", CURRENT, "--today", "2026-03-20")
    assert done.returncode == 0, done.stderr
    shown = dict(re.findall(r"^([A-Z][\w' ()%-]+?)  +(\d+)$", done.stdout, re.MULTILINE))
    # The same figures as the fixture's report (tests/golden/stocktake.md).
    assert shown["Recommendations"] == "9" and shown["Reported on by their lead"] == "7"
    assert (shown["Overdue requests"], shown["Overdue milestones"]) == ("4", "2")
    # The agencies' column counts items, beside the figure that counts requests: its header says so.
    assert re.search(r"^agency +request +requested +answered +items overdue +sent", done.stdout, re.MULTILINE)


def test_a_launch_with_a_symbol_too_long_is_refused_before_anything_is_written(database_url: str) -> None:
    refused = _followup(
        database_url, "cycle", "launch", "Autumn 2026", "--deadline", "2026-09-01", "--symbol", "C" * 101,
        "--today", "2026-08-01",
    )  # fmt: skip
    assert refused.returncode == 1 and "symbol: is 101 characters long" in refused.stderr
    listed = _followup(database_url, "cycle", "list")
    assert "Autumn 2026" not in listed.stdout
