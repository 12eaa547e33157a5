"""Commands of the agency registry: `agencies list`, `load`, `set-contact`, `set-language`."""

from __future__ import annotations

from pathlib import Path

import typer

from domain.language import Language
from domain.model import ContactRole
from workflows import bootstrap
from workflows.cli.base import console, sub_app, user_errors
from workflows.cli.catalogue import _read_text

agencies_app = sub_app("agencies", "The agency registry: owners, their focal points and language.")


@agencies_app.command("list")
def list_agencies() -> None:
    """List the registered agencies with their contacts."""
    from workflows.cli.plain_table import PlainTable

    with user_errors(), bootstrap.uow() as uow:
        table = PlainTable("code", "name", "language")
        for heading in ("focal points", "head of office"):
            table.add_column(heading, overflow="fold")  # an address cut short is a wrong address
        for agency in uow.agencies.list():
            focal, head = (
                ", ".join(
                    c.email + (f" ({c.language})" if c.language and c.language != agency.language else "")
                    for c in agency.contacts
                    if c.role == role
                )
                for role in ("focal_point", "head_of_office")
            )
            table.add_row(agency.code, agency.name, agency.language, focal, head)
    console.print(table)


@agencies_app.command("load")
def load_agencies(path: Path = typer.Argument(..., help="A registry YAML file")) -> None:
    """Add or update agencies (names, aliases, contacts) from a YAML file like db/seed/agencies.yaml."""
    from workflows.services import agencies as agency_services

    with user_errors():
        loaded = agency_services.load_registry(bootstrap.uow(), _read_text(path), source=path.name)
    console.print(f"{loaded.added} agencies added, {loaded.updated} updated from {path}.")


@agencies_app.command("set-contact")
def set_contact(
    code: str = typer.Argument(..., help="The agency's code, e.g. ILO (see `followup agencies list`)."),
    email: str = typer.Option(..., "--email", help="The contact's e-mail address."),
    name: str = typer.Option("", "--name", help="The contact's name."),
    role: ContactRole = typer.Option(ContactRole.FOCAL_POINT, "--role", help="Who the contact is."),
    replace: bool = typer.Option(False, "--replace", help="Make it the only contact of its role."),
    lang: str | None = typer.Option(
        None, "--lang", help="What the contact reads when not the agency's language: en, fr or es."
    ),
) -> None:
    """Add a focal point or head of office to an agency (with --replace, instead of the others)."""
    from workflows.services import agencies as agency_services

    with user_errors():
        agency = agency_services.set_contact(
            bootstrap.uow(), code, name=name or email, email=email, role=role, replace=replace, language=lang
        )
    emails = ", ".join(c.email for c in agency.contacts if c.role == role.value)
    console.print(f"{agency.code} {role.value.replace('_', ' ')}s: {emails}")


@agencies_app.command("set-language")
def set_language(
    code: str = typer.Argument(..., help="The agency's code, e.g. ILO (see `followup agencies list`)."),
    lang: str = typer.Argument(..., help="en (English), fr (French) or es (Spanish)."),
) -> None:
    """Write to an agency in English, French or Spanish: its e-mails, reply page and reply sheet."""
    from workflows.services import agencies as agency_services

    with user_errors():
        agency = agency_services.set_language(bootstrap.uow(), code, lang)
    console.print(f"{agency.code} is written to in {Language(agency.language).english_name}.")
