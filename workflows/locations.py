"""Where the home and the database are: FOLLOWUP_HOME and FOLLOWUP_DATABASE_URL read as the settings read
them (the environment in any case, else the `.env` file of the working directory), without pydantic.

`Settings` takes its prefix, its `.env` file, the home's default and the database's default from
here, so a read-only command that needs nothing else of the settings (`followup cycle list`) finds
the same database without paying for pydantic's import.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_PREFIX = "FOLLOWUP_"
ENV_FILE = ".env"


def default_home() -> Path:
    """The per-user data directory (`~/.local/share/followup` on Linux, from platformdirs)."""
    from platformdirs import user_data_path  # not loaded when FOLLOWUP_HOME or the database is set

    return user_data_path("followup")


def database_url_of(configured: str | None, home: Path) -> str:
    """The configured database URL, else SQLite at `home/followup.db`."""
    return configured or f"sqlite:///{(home / 'followup.db').resolve()}"


def database_url() -> str:
    """The database URL `Settings().resolved_database_url` gives, read without loading the settings."""
    configured = setting("database_url")
    if configured:
        return configured
    home = setting("home")
    return database_url_of(None, default_home() if home is None else Path(home))


def setting(name: str) -> str | None:
    """FOLLOWUP_<NAME> as pydantic-settings reads it: the environment, else `.env`; None when in neither.

    Names match in any case; of two that differ only in case the later one wins, as there.
    """
    key = f"{ENV_PREFIX}{name}".lower()
    environment = {variable.lower(): value for variable, value in os.environ.items()}
    if key in environment:
        return environment[key]
    if not Path(ENV_FILE).is_file():
        return None
    from dotenv import dotenv_values  # what pydantic-settings parses `.env` with (its dependency)

    found = {variable.lower(): value for variable, value in dotenv_values(ENV_FILE, encoding="utf-8").items()}
    return found.get(key)
