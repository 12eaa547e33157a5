"""The transactional outbox: messages are rendered and stored with the change that caused them, then sent.

States: queued -> sending -> sent, or back to queued (a retry after a growing backoff), or failed: a
message refused again and again is given up three days after its first refusal (GIVE_UP_AFTER).
A dispatcher claims one message at a time, committing the claim (state `sending` with a lease) BEFORE
it talks to SMTP, and commits `sent` right after the server accepted the message. A claim whose lease
ran out means a dispatcher died while sending: the message may or may not have left. We never send it
again blindly: a sender that can check (the directory sender) settles it; otherwise it becomes
`failed` with an explanation for the operator (see README, "E-mail").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, Row, bindparam, func, insert, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from db.repositories import DELIVERY_UNKNOWN
from db.tables import cycles, outbox
from db.unit_of_work import SqlUnitOfWork
from domain.errors import ValidationError
from domain.lifecycle import CycleState
from domain.model import validate_email
from domain.ports import Clock
from notifications.messages import REPLY_LINK, RenderedMessage, carries_reply_link, render, with_reply_link
from notifications.senders import (
    ConnectionSender,
    QueuedMessage,
    Sender,
    VerifiableSender,
    as_utc,
    build_email,
)

# Wait before attempt 2, 3, ...; the last step repeats (a daily run retries anyway each day).
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
# An outage of a weekend is healed by itself; after that the message is given up and an operator told.
GIVE_UP_AFTER = timedelta(days=3)
# Far longer than one SMTP conversation (timeout 30 s): a live dispatcher never loses its claim.
LEASE = timedelta(minutes=10)
KEY_MAX = 300  # the length of outbox.idempotency_key


@dataclass(frozen=True)
class Exactly:
    """Messages chosen by their whole idempotency keys (a prefix "…:v3" would take "…:v30" too)."""

    keys: tuple[str, ...]


# Messages whose key starts with this prefix, or with any of these, or that have exactly these keys;
# None (or "") means every message.
KeyPrefix = str | Sequence[str] | Exactly | None
# An agency's live reply link in a cycle, derived when a message is sent: (cycle id, agency code) -> URL.
ReplyLinks = Callable[[int, str], str]


# The notice of a cancelled cycle is the one message of such a cycle that still goes out.
CYCLE_CANCELLED = "cycle-cancelled"


class OutboxState(StrEnum):
    """Where a message is on its way out."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"  # its cycle was cancelled before it left: never sent


class OutboxNotifier:
    """The Notifier port over the outbox table, writing in the caller's transaction (the caller commits)."""

    def __init__(
        self,
        uow: SqlUnitOfWork,
        clock: Clock,
        *,
        mail_domain: str = "followup.local",
        mail_from: str | None = None,
    ) -> None:
        if mail_from is not None:
            validate_email(parseaddr(mail_from)[1], field="mail_from")
        self.uow, self.clock, self.mail_domain, self.mail_from = uow, clock, mail_domain, mail_from

    def enqueue(
        self,
        kind: str,
        *,
        key: str,
        to: Sequence[str],
        context: Mapping[str, Any],
        cc: Sequence[str] = (),
        cycle_id: int | None = None,
        agency_code: str | None = None,
    ) -> bool:
        """Render and store a message unless one with `key` exists; True when this call stored it."""
        if not key.strip() or len(key) > KEY_MAX:
            raise ValidationError("key", f"an idempotency key of 1 to {KEY_MAX} characters is required")
        recipients = _addresses("to", to)
        if not recipients:
            raise ValidationError("to", "a message needs at least one recipient")
        copies = _addresses("cc", cc)
        reply_to = validate_email(str(context.get("secretariat_email", "")), field="secretariat_email")
        if "reply_url" in context and (cycle_id is None or not agency_code):
            raise ValidationError(
                "reply_url", "a message with a reply link needs its cycle_id and agency_code"
            )
        session = self.uow.session
        if session.scalar(select(outbox.c.id).where(outbox.c.idempotency_key == key)) is not None:
            return False
        now = as_utc(self.clock.now())
        # Stored with a placeholder, never the live link: the dispatcher derives it again when sending.
        # Made now: the calendar's DTSTAMP, like the Date header, is when the message was made.
        link = {"reply_url": REPLY_LINK} if "reply_url" in context else {}
        rendered = render(kind, {**context, **link, "made_at": now})
        values = {
            "idempotency_key": key,
            "kind": kind,
            "cycle_id": cycle_id,
            "agency_code": agency_code,
            "recipients": recipients,
            "cc": copies,
            "subject": rendered.subject,
            "body_text": rendered.text,
            "body_html": rendered.html,
            "ics": rendered.ics,
            # Made once here and stored, so every retry carries the same Message-ID.
            "message_id": make_msgid(domain=self.mail_domain),
            "mail_from": self.mail_from or reply_to,
            "reply_to": reply_to,
            "state": OutboxState.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        inserted = session.execute(_insert_unless_key_exists(session.get_bind().dialect.name, values))
        return inserted.scalar() is not None


@dataclass(frozen=True)
class DispatchReport:
    """What one dispatcher run did: messages sent (with their keys), given up on, and scheduled again."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0
    sent_keys: list[str] = field(default_factory=list)
    failed_keys: list[str] = field(default_factory=list)


def dispatch(
    uow_factory: Callable[[], SqlUnitOfWork],
    sender: Sender,
    clock: Clock,
    *,
    links: ReplyLinks | None = None,
    limit: int | None = None,
    key_prefix: KeyPrefix = None,
    max_attempts: int | None = None,
    give_up_after: timedelta = GIVE_UP_AFTER,
    lease: timedelta = LEASE,
) -> DispatchReport:
    """Send the queued messages that are due, at most `limit`, each claimed before and settled after sending.

    A refused message waits BACKOFF and is tried again, until `give_up_after` its first refusal (or
    `max_attempts`, when given): then it is `failed`, with its last error, for an operator to see.

    Messages of one run share a connection to the mail server when the sender can keep one open, and
    the commit that records a message as sent also claims the next one: one transaction per message.
    A message carrying a reply link gets it from `links` as it is sent; without `links` it is not sent.
    """
    sent_keys, failed_keys = _settle_abandoned_claims(uow_factory, sender, clock, key_prefix)
    retrying = attempted = 0
    give_up = _GiveUp(max_attempts, give_up_after)
    claim_next = _claim_next(key_prefix)  # built once: building it cost about as much as running it
    with _connection(sender) as channel:
        row = _sent_then_claim(uow_factory, clock, claim_next, lease, sent_id=None, claim=limit != 0)
        while row is not None:
            attempted += 1
            claim = limit is None or attempted < limit
            try:
                channel.send(_email(row, links))
            except Exception as exc:  # any refusal or network error: keep the message, try again later
                settled = _record_failure(uow_factory, clock, row, exc, give_up)
                if settled is OutboxState.FAILED:
                    failed_keys.append(row.idempotency_key)
                elif settled is OutboxState.QUEUED:
                    retrying += 1
                row = _sent_then_claim(uow_factory, clock, claim_next, lease, sent_id=None, claim=claim)
                continue
            # Deliberately outside the try: if this commit fails the row stays `sending` and is never re-sent.
            sent = row
            row = _sent_then_claim(uow_factory, clock, claim_next, lease, sent_id=sent.id, claim=claim)
            sent_keys.append(sent.idempotency_key)
    return DispatchReport(
        sent=len(sent_keys),
        failed=len(failed_keys),
        retrying=retrying,
        sent_keys=sent_keys,
        failed_keys=failed_keys,
    )


@dataclass(frozen=True)
class _GiveUp:
    """When a refused message is given up: after `max_attempts` (if set), or `after` its first refusal."""

    max_attempts: int | None
    after: timedelta


def _connection(sender: Sender) -> AbstractContextManager[Sender]:
    return sender.connected() if isinstance(sender, ConnectionSender) else nullcontext(sender)


def pending_count(uow: SqlUnitOfWork, *, key_prefix: KeyPrefix = None) -> int:
    """How many messages are queued or being sent (inside an open unit of work)."""
    query = select(func.count()).select_from(outbox).where(_pending(), _under(key_prefix))
    return int(uow.session.scalar(query) or 0)


def counts_by_state(uow: SqlUnitOfWork) -> dict[str, int]:
    """Messages per outbox state (inside an open unit of work)."""
    rows = uow.session.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))
    return {state: count for state, count in rows}


def failed_messages(uow: SqlUnitOfWork) -> list[Any]:
    """Failed messages, newest first, with Message-ID, recipients and last error (in an open unit of work)."""
    columns = (
        outbox.c.idempotency_key,
        outbox.c.message_id,
        outbox.c.recipients,
        outbox.c.attempts,
        outbox.c.last_error,
    )
    query = select(*columns).where(outbox.c.state == OutboxState.FAILED.value).order_by(outbox.c.id.desc())
    return list(uow.session.execute(query).all())


@dataclass(frozen=True)
class Undelivered:
    """Messages of one agency and kind refused by the mail server: waiting for a retry, or given up."""

    agency_code: str | None
    kind: str
    state: str  # `queued` (retried by the next runs until `retry_until`) or `failed` (given up)
    count: int
    last_error: str
    retry_until: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Plain values, as they travel between Prefect tasks."""
        return {
            "agency": self.agency_code or "",
            "kind": self.kind,
            "state": self.state,
            "count": self.count,
            "last_error": self.last_error,
            "retry_until": self.retry_until.isoformat() if self.retry_until else None,
        }


def undelivered(
    uow: SqlUnitOfWork, *, key_prefix: KeyPrefix = None, failed_keys: Sequence[str] | None = None
) -> list[Undelivered]:
    """Refused messages per agency, kind and state, with the latest error (inside an open unit of work).

    Queued messages refused at least once under `key_prefix`, and failed ones: those of `failed_keys`
    when given (the ones a run gave up), else every failed one under `key_prefix`.
    """
    ob = outbox.c
    waiting = (ob.state == OutboxState.QUEUED.value) & (ob.attempts > 0) & _under(key_prefix)
    given_up = ob.state == OutboxState.FAILED.value
    given_up &= _under(key_prefix) if failed_keys is None else ob.idempotency_key.in_(list(failed_keys))
    rows = uow.session.execute(
        select(ob.agency_code, ob.kind, ob.state, ob.last_error, ob.retry_until)
        .where(or_(waiting, given_up))
        .order_by(ob.id)
    )
    groups: dict[tuple[str | None, str, str], Undelivered] = {}
    for row in rows:
        group = (row.agency_code, row.kind, row.state)
        count = groups[group].count + 1 if group in groups else 1
        # Rows come oldest first: the latest error and retry limit of a group win.
        until = as_utc(row.retry_until) if row.retry_until else None
        groups[group] = Undelivered(*group, count, row.last_error or "", until)
    return sorted(groups.values(), key=lambda u: (u.agency_code or "", u.kind, u.state))


def requeue_failed(uow: SqlUnitOfWork, clock: Clock, *, keys: Sequence[str] | None = None) -> int:
    """Queue failed messages (all, or those with `keys`) again with fresh attempts; the caller commits."""
    query = update(outbox).where(outbox.c.state == OutboxState.FAILED.value)
    if keys is not None:
        query = query.where(outbox.c.idempotency_key.in_(list(keys)))
    values = {
        "state": OutboxState.QUEUED.value,
        "attempts": 0,
        "next_attempt_at": as_utc(clock.now()),
        "retry_until": None,  # a fresh allowance of retries from the next refusal
    }
    result = uow.session.execute(query.values(values))
    return int(cast(CursorResult[Any], result).rowcount)


def _pending() -> Any:
    return outbox.c.state.in_([OutboxState.QUEUED.value, OutboxState.SENDING.value])


def _under(key_prefix: KeyPrefix) -> Any:
    if isinstance(key_prefix, Exactly):
        return outbox.c.idempotency_key.in_(key_prefix.keys)
    prefixes = [key_prefix] if isinstance(key_prefix, str) else list(key_prefix or ())
    if not prefixes or not all(prefixes):
        return true()
    return or_(*(outbox.c.idempotency_key.startswith(prefix, autoescape=True) for prefix in prefixes))


def _sent_then_claim(
    uow_factory: Callable[[], SqlUnitOfWork],
    clock: Clock,
    claim_next: Executable,
    lease: timedelta,
    *,
    sent_id: int | None,
    claim: bool,
) -> Row[Any] | None:
    """In one commit: record message `sent_id` as sent, then (if `claim`) claim the next due message."""
    now = as_utc(clock.now())
    with uow_factory() as uow:
        if sent_id is not None:
            uow.session.execute(_MARK_SENT, {"sent_id": sent_id, "now": now})
        row = (
            uow.session.execute(claim_next, {"now": now, "lease_until": now + lease}).one_or_none()
            if claim
            else None
        )
        uow.commit()
    return row


# By id only: the message did leave, even if a peer already gave up on our claim.
_MARK_SENT = (
    update(outbox)
    .where(outbox.c.id == bindparam("sent_id"))
    .values(state=OutboxState.SENT.value, sent_at=bindparam("now"), lease_expires_at=None)
)


def _claim_next(key_prefix: KeyPrefix) -> Executable:
    """Claim the next message due at `now` under `key_prefix`, leased until `lease_until` (bound when run)."""
    # One UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING: atomic on SQLite (single
    # writer) and PostgreSQL, where concurrent dispatchers skip each other's rows instead of waiting.
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.state == OutboxState.QUEUED.value,
            outbox.c.next_attempt_at <= bindparam("now"),
            _under(key_prefix),
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (
        update(outbox)
        .where(outbox.c.id == due.scalar_subquery(), outbox.c.state == OutboxState.QUEUED.value)
        .values(
            state=OutboxState.SENDING.value,
            attempts=outbox.c.attempts + 1,
            lease_expires_at=bindparam("lease_until"),
        )
        .returning(*outbox.c)
    )


def _settle_abandoned_claims(
    uow_factory: Callable[[], SqlUnitOfWork], sender: Sender, clock: Clock, key_prefix: KeyPrefix
) -> tuple[list[str], list[str]]:
    """Decide about messages whose dispatcher died while sending; returns (keys found sent, keys failed)."""
    now = as_utc(clock.now())
    query = select(outbox).where(
        outbox.c.state == OutboxState.SENDING.value, outbox.c.lease_expires_at < now, _under(key_prefix)
    )
    found_sent: list[str] = []
    failed: list[str] = []
    with uow_factory() as uow:
        for row in uow.session.execute(query.with_for_update(skip_locked=True)).all():
            if isinstance(sender, VerifiableSender):
                if sender.delivered(_email(row, None, sending=False)):
                    values: dict[str, Any] = {"state": OutboxState.SENT.value, "sent_at": now}
                    found_sent.append(row.idempotency_key)
                else:
                    values = {"state": OutboxState.QUEUED.value, "next_attempt_at": now}
            else:
                failed.append(row.idempotency_key)
                values = {
                    "state": OutboxState.FAILED.value,
                    "last_error": (
                        f"{DELIVERY_UNKNOWN}: a dispatcher stopped while handing the message to {sender!r} "
                        f"(attempt {row.attempts}); not sent again to avoid a duplicate. Check the mail "
                        "server's log for its Message-ID and re-queue it if it never arrived."
                    ),
                }
            uow.session.execute(
                update(outbox)
                .where(outbox.c.id == row.id, outbox.c.state == OutboxState.SENDING.value)
                .values(lease_expires_at=None, **values)
            )
        uow.commit()
    return found_sent, failed


def _record_failure(
    uow_factory: Callable[[], SqlUnitOfWork], clock: Clock, row: Row[Any], exc: Exception, give_up: _GiveUp
) -> OutboxState:
    now = as_utc(clock.now())
    retry_until = as_utc(row.retry_until) if row.retry_until else now + give_up.after
    out_of_attempts = give_up.max_attempts is not None and row.attempts >= give_up.max_attempts
    state = OutboxState.FAILED if out_of_attempts or now >= retry_until else OutboxState.QUEUED
    wait = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
    with uow_factory() as uow:
        # Refused while its cycle was being cancelled: withdrawn with the rest rather than tried again.
        if row.cycle_id is not None and row.kind != CYCLE_CANCELLED:
            cycle_state = uow.session.scalar(select(cycles.c.state).where(cycles.c.id == row.cycle_id))
            if cycle_state == CycleState.CANCELLED:
                state = OutboxState.WITHDRAWN
        uow.session.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(
                state=state.value,
                last_error=f"attempt {row.attempts}: {type(exc).__name__}: {exc}"[:2000],
                next_attempt_at=now + wait if state is OutboxState.QUEUED else None,
                retry_until=retry_until,
                lease_expires_at=None,
            )
        )
        uow.commit()
    return state


def _email(row: Row[Any], links: ReplyLinks | None, *, sending: bool = True) -> EmailMessage:
    """The message of an outbox row, its reply link derived now (when not `sending`, left out)."""
    rendered = RenderedMessage(subject=row.subject, text=row.body_text, html=row.body_html, ics=row.ics)
    if carries_reply_link(rendered) and sending:
        if links is None:
            raise ValueError(
                f"{row.idempotency_key}: the message carries a reply link and the dispatcher was given no "
                "way to derive it (links=None); it was not sent"
            )
        rendered = with_reply_link(rendered, links(row.cycle_id, row.agency_code))
    message = QueuedMessage(
        key=row.idempotency_key,
        message_id=row.message_id,
        created_at=row.created_at,
        to=row.recipients,
        cc=row.cc,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        ics=rendered.ics,
    )
    return build_email(message, mail_from=row.mail_from, reply_to=row.reply_to)


def _insert_unless_key_exists(dialect: str, values: dict[str, Any]) -> Executable:
    # The check in `enqueue` avoids rendering twice; this closes the race between two enqueuers.
    # RETURNING the id tells whether a row went in (rowcount is -1 once a driver returns rows).
    if dialect == "postgresql":
        statement: Any = postgresql.insert(outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])
    elif dialect == "sqlite":
        statement = sqlite.insert(outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])
    else:
        statement = insert(outbox)
    return statement.values(values).returning(outbox.c.id)


def _addresses(field_name: str, addresses: Sequence[str]) -> list[str]:
    if isinstance(addresses, str):
        addresses = [addresses]
    return [validate_email(address, field=field_name) for address in addresses]
