"""Use cases: issue and revoke the API's read tokens (each shown once, stored only as its SHA-256)."""

from __future__ import annotations

from domain.errors import ValidationError
from domain.ports import Clock, UnitOfWork
from domain.publication import check_token_name, new_api_token
from domain.tokens import hash_token


def create_token(uow: UnitOfWork, clock: Clock, name: str, *, public_only: bool) -> str:
    """Issue a read token called `name` and return it (the only time it is seen in clear)."""
    name = check_token_name(name)
    token = new_api_token()
    with uow:
        if uow.api_tokens.exists(name):
            raise ValidationError(
                "--name", f"a token called '{name}' exists already (names are never reused)"
            )
        uow.api_tokens.add(name, hash_token(token), public_only=public_only, created_at=clock.now())
        uow.commit()
    return token


def revoke_token(uow: UnitOfWork, clock: Clock, name: str) -> bool:
    """Revoke the token called `name` from now on; False if it was revoked already."""
    with uow:
        if uow.api_tokens.revoked_at(name) is not None:
            return False
        uow.api_tokens.revoke(name, clock.now())
        uow.commit()
    return True
