"""`followup api-token create|list|revoke`: the read tokens of the API at /api/v1/ (no Prefect import)."""

from __future__ import annotations

import typer
from rich.markup import escape

from workflows import bootstrap
from workflows.cli.base import console, sub_app, user_errors

api_token_app = sub_app("api-token", "Read tokens of the API (/api/v1/): create, list, revoke.")


@api_token_app.command("create")
def create(
    name: str = typer.Option(
        ..., "--name", help="Who or what the token is for (unique, e.g. 'UNSDG dashboard')."
    ),
    public_only: bool = typer.Option(
        False,
        "--public-only",
        help="Read only what the public record shows (accepted answers, closed cycles).",
    ),
) -> None:
    """Issue a read token and print it once: only its SHA-256 is kept."""
    from workflows.services.api_tokens import create_token

    with user_errors():
        token = create_token(bootstrap.uow(), bootstrap.clock(), name, public_only=public_only)
    scope = "public record only" if public_only else "everything but drafts"
    console.print(
        f"Token '{escape(name)}' ({scope}); send it as 'Authorization: Bearer <token>':", highlight=False
    )
    console.print(token, highlight=False, soft_wrap=True)  # never wrapped: it must stay copyable


@api_token_app.command("list")
def list_tokens() -> None:
    """Every token issued: name, scope, created, revoked."""
    from workflows.cli.plain_table import PlainTable
    from workflows.queries.api_tokens import all_tokens

    with user_errors():
        tokens = all_tokens(bootstrap.uow())
    if not tokens:
        console.print("No API token has been issued (`followup api-token create --name ...`).")
        return
    table = PlainTable("name", "scope", "created", "revoked", title="API tokens")
    for token in tokens:
        table.add_row(
            token.name,
            "public" if token.public_only else "all",
            token.created_at.date().isoformat(),
            token.revoked_at.date().isoformat() if token.revoked_at else "",
        )
    console.print(table)


@api_token_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The token's name (see `followup api-token list`).")) -> None:
    """Revoke a token: from now on it is refused."""
    from workflows.services.api_tokens import revoke_token

    with user_errors():
        revoked = revoke_token(bootstrap.uow(), bootstrap.clock(), name)
    console.print(
        f"Token '{escape(name)}' " + ("revoked." if revoked else "was revoked already."), highlight=False
    )
