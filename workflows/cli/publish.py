"""`followup publish [--out DIR]`: write the public record as a static site (reads only; no Prefect)."""

from __future__ import annotations

from pathlib import Path

import typer

from workflows import bootstrap
from workflows.cli.base import app, console, user_errors


@app.command("publish")
def publish(
    out: Path | None = typer.Option(None, "--out", help="The site's folder (default $FOLLOWUP_HOME/site)."),
) -> None:
    """Write the public record (accepted answers of closed stock-takes) as a static site."""
    from workflows.queries.public_record import public_record_of
    from workflows.services.publish import publish as publish_site

    with user_errors():
        done = publish_site(
            public_record_of(bootstrap.uow(), bootstrap.clock().today()),
            out or bootstrap.get_settings().home / "site",
            bootstrap.evidence_store(),
        )
    console.print(
        f"Published {done.pages} pages ({done.recommendations} recommendations, {done.cycles} closed "
        f"stock-takes) to {done.out_dir / 'index.html'}",
        highlight=False,
        soft_wrap=True,
    )
