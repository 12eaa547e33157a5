"""The API's read tokens as the portal checks them and `followup api-token list` shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.tokens import hash_token

T = tables.api_tokens.c


@dataclass(frozen=True)
class ApiToken:
    """A read token's record (never the token itself)."""

    id: int
    name: str
    public_only: bool
    created_at: datetime
    revoked_at: datetime | None


def _token(row: object) -> ApiToken:
    return ApiToken(row.id, row.name, bool(row.public_only), row.created_at, row.revoked_at)  # type: ignore[attr-defined]


def active_token(uow: SqlUnitOfWork, presented: str) -> ApiToken | None:
    """The unrevoked token `presented` is, looked up by its hash; None if there is none."""
    query = select(tables.api_tokens).where(T.token_hash == hash_token(presented), T.revoked_at.is_(None))
    with uow:
        row = uow.session.execute(query).first()
    return _token(row) if row is not None else None


def all_tokens(uow: SqlUnitOfWork) -> list[ApiToken]:
    """Every token ever issued, revoked ones included, oldest first."""
    with uow:
        return [_token(row) for row in uow.session.execute(select(tables.api_tokens).order_by(T.id))]
