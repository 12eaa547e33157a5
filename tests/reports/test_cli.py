"""`followup report` end to end: a real database, the installed command, files on disk."""

from __future__ import annotations

import os
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
