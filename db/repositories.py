"""Repositories over tables that map no domain class: the API's tokens.

The unit of work (`db.unit_of_work`) opens one of each on its session; use cases see them through the
Protocols of `domain.ports`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from db import tables
from domain.errors import NotFound


class ApiTokens:
    """The API's read tokens, by name (each stored only as its SHA-256)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def exists(self, name: str) -> bool:
        """Whether a token was ever issued under `name` (revoked ones included)."""
        t = tables.api_tokens.c
        return self.session.scalar(select(t.id).where(t.name == name)) is not None

    def add(self, name: str, token_hash: str, *, public_only: bool, created_at: datetime) -> None:
        self.session.execute(
            insert(tables.api_tokens).values(
                name=name, token_hash=token_hash, public_only=public_only, created_at=created_at
            )
        )

    def revoked_at(self, name: str) -> datetime | None:
        """When the token called `name` was revoked (None: it still works); NotFound if there is none."""
        t = tables.api_tokens.c
        found = self.session.execute(select(t.revoked_at).where(t.name == name)).first()
        if found is None:
            raise NotFound(f"no API token called '{name}' (see `followup api-token list`)")
        return found[0]

    def revoke(self, name: str, at: datetime) -> None:
        t = tables.api_tokens.c
        self.session.execute(update(tables.api_tokens).where(t.name == name).values(revoked_at=at))
