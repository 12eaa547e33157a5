"""Read-only commands answer in little more than the time Python takes to load SQLAlchemy: they
import no workflow engine, template engine, document writer, web server, ORM or settings model."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import add_agencies, add_recommendations, open_cycle
from tests.support import run
from workflows import bootstrap

# What is under test is the command line's imports (the backends are covered by the service tests).
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def test_read_only_commands_import_no_prefect_jinja2_docx_openpyxl_web_server_orm_or_settings(
    database_url: str,
) -> None:
    uow = bootstrap.uow(database_url)
    add_agencies(uow, "ILO", "IOM")
    add_recommendations(uow, {"SR1": ["ILO", "IOM"], "A1.1": ["IOM"]})
    open_cycle(uow, "Spring 2026", date(2026, 4, 1), ["ILO", "IOM"])
    bootstrap.engine(database_url).dispose()
    for command in (
        ["cycle", "list"],
        ["cycle", "show", "Spring 2026", "--today", "2026-04-02"],
        ["--help"],
    ):
        said = run(database_url, *command)
        assert "exit 0" in said, said
        assert "heavy imports: []" in said, f"followup {' '.join(command)}: {said[-300:]}"
