"""The configuration page of the docs is generated from `Settings`, so it lists every setting."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from workflows.settings import Settings

HOOK = Path(__file__).resolve().parents[2] / "docs" / "hooks" / "configuration.py"


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("configuration_hook", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table_rows(page: str) -> dict[str, list[str]]:
    rows = [line for line in page.splitlines() if line.startswith("| `FOLLOWUP_")]
    return {row.split("`")[1]: [cell.strip() for cell in row.strip("|").split(" | ")] for row in rows}


def test_the_configuration_page_has_one_row_per_settings_field_with_its_description() -> None:
    rows = _table_rows(_hook().configuration_page())

    assert sorted(rows) == sorted(f"FOLLOWUP_{name.upper()}" for name in Settings.model_fields)
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no description for the docs"
        assert rows[f"FOLLOWUP_{name.upper()}"][3] == field.description.replace("|", "\\|")


def test_the_configuration_page_shows_defaults_as_they_are_written_in_the_environment() -> None:
    rows = _table_rows(_hook().configuration_page())

    assert rows["FOLLOWUP_REMINDER_DAYS"][1:3] == ["JSON list of integers", "`[14,7,2]`"]
    assert rows["FOLLOWUP_ESCALATION_DAYS"][1:3] == ["integer", "`3`"]
    assert rows["FOLLOWUP_DATABASE_URL"][2] == "unset"
