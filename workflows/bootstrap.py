"""The composition root: builds engines, units of work and clocks from settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import Connection, Engine, insert, inspect, select

from db.engine import DatabaseNotInitialised, make_engine, missing_sqlite_file, missing_table
from db.tables import installation, status_requests
from domain import tokens
from domain.errors import NotFound
from domain.tokens import derive_token, key_fingerprint
from workflows import locations

if TYPE_CHECKING:  # imported where used: read-only commands need no ORM, pydantic, templates, mail or model
    from collections.abc import Sequence

    from db.unit_of_work import SqlUnitOfWork
    from domain.ports import Clock
    from notifications.outbox import DispatchReport, OutboxNotifier
    from notifications.senders import Sender
    from workflows.config import CycleConfig
    from workflows.services.evidence import EvidenceStore
    from workflows.settings import Settings


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class FixedClock:
    """A clock pinned to one day, for `--today` replays and tests."""

    def __init__(self, today: date, at: datetime | None = None) -> None:
        self._today = today
        self._at = at or datetime(today.year, today.month, today.day, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._at

    def today(self) -> date:
        return self._today


def clock(today: date | None = None) -> SystemClock | FixedClock:
    """A clock pinned to `today` for replays (`--today`), else the system clock."""
    return FixedClock(today) if today else SystemClock()


def get_settings() -> Settings:
    """The process's settings (`workflows.settings.get_settings`), loaded on first use."""
    from workflows import settings

    return settings.get_settings()


def database_url() -> str:
    """The database's URL, as the settings give it (`workflows.locations`: no pydantic to import)."""
    os.umask(0o077)  # as get_settings does: what the process writes is readable by its owner only
    return locations.database_url()


@lru_cache(maxsize=4)
def engine(url: str | None = None) -> Engine:
    """One engine per database URL per process."""
    return make_engine(url or database_url())


def existing_database(url: str | None = None) -> str:
    """The database's URL; DatabaseNotInitialised when it names a SQLite file that is not there.

    Only `init` creates the file (through the migrations): a command run on a home never
    initialised says so rather than leave an empty database behind.
    """
    url = url or database_url()
    if missing_sqlite_file(url):
        raise DatabaseNotInitialised(url)
    return url


@contextmanager
def reading(url: str | None = None) -> Iterator[Connection]:
    """A Core connection for a read-only command; DatabaseNotInitialised when the database has no tables."""
    url = existing_database(url)
    try:
        with engine(url).connect() as connection:
            yield connection
    except Exception as error:
        table = missing_table(error)
        if table is None:
            raise
        raise DatabaseNotInitialised(url, table) from None


def uow(url: str | None = None) -> SqlUnitOfWork:
    """A fresh unit of work on the configured database (DatabaseNotInitialised if it does not exist)."""
    from sqlalchemy.orm import sessionmaker

    from db.unit_of_work import SqlUnitOfWork

    return SqlUnitOfWork(sessionmaker(bind=engine(existing_database(url)), expire_on_commit=False))


# (database URL, key fingerprint) pairs checked in this process: one query per database, not per link.
_matching_keys: set[tuple[str, str]] = set()
_unrecorded_keys: set[tuple[str, str]] = set()  # no fingerprint stored yet (nothing to check against)


def secret_key(settings: Settings | None = None, *, record: bool = False) -> str:
    """The secret key, once it matches the fingerprint stored with the database.

    Links derived under another key would answer 404: refuse, saying what to set, rather than send them.
    With `record`, a database without a fingerprint gets this key's. Only callers outside any open
    transaction record (init, the portal's start, the dispatcher): on SQLite a launch's transaction
    holds the write lock while it derives links, and a second connection writing would wait for it.
    """
    from workflows.settings import SecretKeyError

    settings = settings or get_settings()
    key, url = settings.resolved_secret_key(), settings.resolved_database_url
    checked = (url, key_fingerprint(key))
    if checked in _matching_keys or (checked in _unrecorded_keys and not record):
        return key
    if missing_sqlite_file(url):
        return key  # not initialised: `init` records the fingerprint once the database exists
    with engine(url).begin() as connection:
        if not inspect(connection).has_table(installation.name):
            return key  # not migrated yet: `init` records the fingerprint once the table exists
        where = installation.c.name == "key_fingerprint"
        stored = connection.scalar(select(installation.c.value).where(where))
        if stored is None and not record:
            _unrecorded_keys.add(checked)
            return key
        if stored is None:
            connection.execute(insert(installation).values(name="key_fingerprint", value=checked[1]))
        elif stored != checked[1]:
            raise SecretKeyError(
                "this database's reply links were made with another secret key (stored fingerprint "
                f"{stored[:12]}..., this process's key gives {checked[1][:12]}...): set FOLLOWUP_SECRET_KEY "
                "to the key the database was initialised with (or restore its $FOLLOWUP_HOME/secret.key); "
                "links made under another key would not open"
            )
    _matching_keys.add(checked)
    return key


def reply_token(cycle_id: int, agency_code: str, token_nonce: str) -> str:
    """Re-derive an agency's reply token from the request's nonce and the checked secret key."""
    return derive_token(secret_key(), token_nonce, cycle_id, agency_code)


def reply_url(cycle_id: int, agency_code: str, token_nonce: str) -> str:
    """The agency's secure reply link: <public url>/r/<token>."""
    return f"{get_settings().public_url}/r/{reply_token(cycle_id, agency_code, token_nonce)}"


def report_link(cycle_name: str, path: Path) -> str:
    """Where the secretariat downloads a stock-take report: the portal's route, never a file:// path."""
    from domain.launch import cycle_slug

    return f"{get_settings().public_url}/cycles/{cycle_slug(cycle_name)}/reports/{quote(path.name)}"


def sheet_mark(cycle_id: int, agency_code: str) -> str:
    """The keyed mark written into an agency's reply sheet and checked when it comes back."""
    return tokens.sheet_mark(secret_key(), cycle_id, agency_code)


def reply_link(cycle_id: int, agency_code: str) -> str:
    """An agency's current reply link in a cycle, from its request's nonce: the dispatcher's `links`."""
    secret_key(record=True)  # outside any transaction: a database without a fingerprint gets this key's
    sr = status_requests
    with engine().connect() as reading:  # the nonce alone, once per message sent: no session, no entity
        nonce = reading.scalar(
            select(sr.c.token_nonce).where(sr.c.cycle_id == cycle_id, sr.c.agency_code == agency_code)
        )
    if nonce is None:
        raise NotFound(f"no status request for {agency_code} in cycle {cycle_id}: no reply link to send")
    return reply_url(cycle_id, agency_code, nonce)


def cycle_config() -> CycleConfig:
    """What the cycle use cases need from settings: reply links, schedule, the secretariat's address."""
    from domain.policies import FollowUpSchedule
    from workflows.config import CycleConfig

    settings = get_settings()
    return CycleConfig(
        secretariat_email=settings.secretariat_email,
        reply_token=reply_token,
        reply_url=reply_url,
        sheet_mark=sheet_mark,
        schedule=FollowUpSchedule(tuple(settings.reminder_days), settings.escalation_days),
        part_size=settings.portal_part_size,
        secretariat_language=settings.secretariat_language.value,
    )


def evidence_store(settings: Settings | None = None) -> EvidenceStore:
    """The evidence folder of the shared storage, with the limits the settings give."""
    from workflows.services.evidence import EvidenceStore

    settings = settings or get_settings()
    return EvidenceStore(settings.evidence_dir, settings.evidence_limits)


def notifier(uow: SqlUnitOfWork, clock: Clock) -> OutboxNotifier:
    """The notifier: messages go to the outbox in `uow`'s transaction, from FOLLOWUP_MAIL_FROM."""
    from email.utils import parseaddr

    from notifications.outbox import OutboxNotifier

    settings = get_settings()
    # Message-IDs under the sender's own domain, as mail servers expect.
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "followup.local"
    return OutboxNotifier(uow, clock, mail_domain=domain, mail_from=settings.mail_from)


def sender() -> Sender:
    """Where the dispatcher hands messages: FOLLOWUP_MAIL_URL, by default the storage's outbox folder."""
    from notifications.senders import sender_from_url

    return sender_from_url(get_settings().resolved_mail_url)


def send_now(keys: Sequence[str], clock: Clock, settings: Settings | None = None) -> DispatchReport:
    """Hand these queued messages to the mail server now, with a short timeout; failures stay queued.

    Called right after the transaction that queued them committed, with the clock that queued them
    (a message is due from the moment it was queued, as that clock tells it). A malformed mail URL
    sends nothing here: `followup mail send` and the flows report it.
    """
    from notifications.immediate import bounded, send_immediately
    from notifications.outbox import DispatchReport
    from notifications.senders import sender_from_url

    settings = settings or get_settings()
    url = settings.resolved_database_url
    try:
        mail = bounded(sender_from_url(settings.resolved_mail_url))
    except ValueError:
        return DispatchReport()
    return send_immediately(lambda: uow(url), mail, clock, keys, links=reply_link)
