"""Repositories over tables that map no domain class: the API's tokens, the outbox as use cases read it.

The unit of work (`db.unit_of_work`) opens one of each on its session; use cases see them through the
Protocols of `domain.ports`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from db import tables
from domain.errors import NotFound
from domain.lifecycle import CycleState, RequestState


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


class Outbox:
    """What the outbox holds, as use cases ask it (queueing and sending are `notifications.outbox`'s)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def queued_keys(self, prefix: str) -> set[str]:
        """The idempotency keys that start with `prefix` (what was queued already)."""
        ob = tables.outbox
        return set(
            self.session.scalars(select(ob.c.idempotency_key).where(ob.c.idempotency_key.startswith(prefix)))
        )

    def last_reminders(self, cycle_id: int) -> dict[str, datetime]:
        """When each agency was last reminded in the cycle (sent, or queued while not sent yet)."""
        ob = tables.outbox
        rows = self.session.execute(
            select(ob.c.agency_code, func.max(func.coalesce(ob.c.sent_at, ob.c.created_at)))
            .where(ob.c.cycle_id == cycle_id, ob.c.kind == "reminder")
            .group_by(ob.c.agency_code)
        )
        return {code: at for code, at in rows if code}

    def status_requests_sent(self, cycle_id: int | None) -> dict[tuple[int, str], datetime]:
        """When the status request of each pending request (of one open cycle, or all) last left."""
        ob, sr, c = tables.outbox, tables.status_requests, tables.cycles
        rows = self.session.execute(
            select(ob.c.cycle_id, ob.c.agency_code, func.max(ob.c.sent_at))
            .join(sr, and_(sr.c.cycle_id == ob.c.cycle_id, sr.c.agency_code == ob.c.agency_code))
            .join(c, c.c.id == sr.c.cycle_id)
            .where(
                ob.c.kind == "status-request",
                ob.c.sent_at.is_not(None),
                sr.c.state == RequestState.PENDING.value,
                c.c.state == CycleState.OPEN.value,
                *([sr.c.cycle_id == cycle_id] if cycle_id is not None else []),
            )
            .group_by(ob.c.cycle_id, ob.c.agency_code)
        )
        return {(cycle, agency): sent_at for cycle, agency, sent_at in rows}

    def make_due(self, key_prefixes: Sequence[str], at: datetime) -> int:
        """Make the queued messages whose key starts with one of `key_prefixes` due at `at`; how many."""
        ob = tables.outbox
        count = 0
        for prefix in key_prefixes:
            result = self.session.execute(
                update(ob)
                .where(ob.c.state == "queued", ob.c.idempotency_key.startswith(prefix, autoescape=True))
                .values(next_attempt_at=at)
            )
            count += result.rowcount  # type: ignore[attr-defined]
        return count
