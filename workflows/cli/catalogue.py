"""Commands that set up the catalogue: `init`, `agencies`, `import`, `owners`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from db.migrate import upgrade
from workflows import bootstrap
from workflows.cli.app import app, console, sub_app, user_errors
from workflows.services import agencies as agency_services
from workflows.settings import get_settings

agencies_app = sub_app("agencies", "The agency registry: owners and their focal points.")


@app.command()
def init() -> None:
    """Create or upgrade the database (alembic upgrade head), then load the agency registry."""
    settings = get_settings()
    with user_errors():
        upgrade(settings.resolved_database_url)
        loaded = agency_services.load_shipped_registry(bootstrap.uow())
    console.print(
        f"Database ready at [bold]{settings.resolved_database_url}[/]; "
        f"agency registry: {loaded.added} added, existing ones kept."
    )


@agencies_app.command("list")
def list_agencies() -> None:
    """List the registered agencies with their contacts."""
    with user_errors(), bootstrap.uow() as uow:
        table = Table("code", "name", "focal points", "head of office")
        for agency in uow.agencies.list():
            focal = ", ".join(c.email for c in agency.contacts if c.role == "focal_point")
            head = ", ".join(c.email for c in agency.contacts if c.role == "head_of_office")
            table.add_row(agency.code, agency.name, focal, head)
    console.print(table)


@agencies_app.command("load")
def load_agencies(path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True)) -> None:
    """Add or update agencies (names, aliases, contacts) from a YAML file like db/seed/agencies.yaml."""
    with user_errors():
        loaded = agency_services.load_registry(
            bootstrap.uow(), path.read_text(encoding="utf-8"), source=path.name
        )
    console.print(f"{loaded.added} agencies added, {loaded.updated} updated from {path}.")
