"""The database the read-only commands find without pydantic is the one the settings give, whichever of
the environment, the `.env` file and the defaults says where it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workflows import locations
from workflows.settings import Settings

CASES = {
    "nothing set: the per-user home": ({}, ""),
    "the home from the environment": ({"FOLLOWUP_HOME": "{tmp}/env-home"}, ""),
    "the home named in lower case": ({"followup_home": "{tmp}/lower-home"}, ""),
    "a relative home": ({"FOLLOWUP_HOME": "relative/home"}, ""),
    "the database from the environment": ({"FOLLOWUP_DATABASE_URL": "postgresql+psycopg2://u@h/db"}, ""),
    "an empty database URL: the home's": ({"FOLLOWUP_DATABASE_URL": "", "FOLLOWUP_HOME": "{tmp}/h"}, ""),
    "the home from .env": ({}, "FOLLOWUP_HOME={tmp}/dotenv-home\n"),
    "the database from .env, quoted": ({}, "export FOLLOWUP_DATABASE_URL='sqlite:///{tmp}/x.db'\n"),
    "the environment before .env": (
        {"FOLLOWUP_DATABASE_URL": "sqlite:///{tmp}/env.db"},
        "FOLLOWUP_DATABASE_URL=sqlite:///{tmp}/dotenv.db\nFOLLOWUP_HOME={tmp}/dotenv-home\n",
    ),
    "the home from the environment, the database from .env": (
        {"FOLLOWUP_HOME": "{tmp}/env-home"},
        "followup_database_url=sqlite:///{tmp}/dotenv.db\n",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_database_url_read_without_pydantic_is_the_settings_one(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment, dotenv = CASES[case]
    for name in os.environ:
        if name.upper().startswith(locations.ENV_PREFIX):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    monkeypatch.chdir(tmp_path)
    if dotenv:
        (tmp_path / ".env").write_text(dotenv.format(tmp=tmp_path))

    assert locations.database_url() == Settings().resolved_database_url
