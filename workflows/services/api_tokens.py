"""Use cases: issue and revoke the API's read tokens (each shown once, stored only as its SHA-256)."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.errors import NotFound, ValidationError
from domain.ports import Clock
from domain.publication import check_token_name, new_api_token
from domain.tokens import hash_token

T = tables.api_tokens.c


def create_token(uow: SqlUnitOfWork, clock: Clock, name: str, *, public_only: bool) -> str:
    """Issue a read token called `name` and return it (the only time it is seen in clear)."""
    name = check_token_name(name)
    token = new_api_token()
    with uow:
        if uow.session.scalar(select(T.id).where(T.name == name)) is not None:
            raise ValidationError(
                "--name", f"a token called '{name}' exists already (names are never reused)"
            )
        uow.session.execute(
            insert(tables.api_tokens).values(
                name=name, token_hash=hash_token(token), public_only=public_only, created_at=clock.now()
            )
        )
        uow.commit()
    return token


def revoke_token(uow: SqlUnitOfWork, clock: Clock, name: str) -> bool:
    """Revoke the token called `name` from now on; False if it was revoked already."""
    with uow:
        revoked_at = uow.session.execute(select(T.revoked_at).where(T.name == name)).first()
        if revoked_at is None:
            raise NotFound(f"no API token called '{name}' (see `followup api-token list`)")
        if revoked_at[0] is not None:
            return False
        uow.session.execute(update(tables.api_tokens).where(T.name == name).values(revoked_at=clock.now()))
        uow.commit()
    return True
