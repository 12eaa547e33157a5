"""The composition root: builds engines, units of work and clocks from settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parseaddr
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from db.engine import make_engine
from db.unit_of_work import SqlUnitOfWork
from domain import tokens
from domain.policies import FollowUpSchedule
from domain.ports import Clock
from domain.tokens import derive_token
from workflows.config import CycleConfig
from workflows.settings import get_settings

if TYPE_CHECKING:  # imported where used: read-only commands need no templates or mail machinery
    from notifications.outbox import OutboxNotifier
    from notifications.senders import Sender


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


@lru_cache(maxsize=4)
def engine(url: str | None = None) -> Engine:
    """One engine per database URL per process."""
    return make_engine(url or get_settings().resolved_database_url)


def uow(url: str | None = None) -> SqlUnitOfWork:
    """A fresh unit of work on the configured database."""
    return SqlUnitOfWork(sessionmaker(bind=engine(url), expire_on_commit=False))


def reply_token(cycle_id: int, agency_code: str, token_nonce: str) -> str:
    """Re-derive an agency's reply token from the request's nonce and the secret key."""
    return derive_token(get_settings().resolved_secret_key(), token_nonce, cycle_id, agency_code)


def reply_url(cycle_id: int, agency_code: str, token_nonce: str) -> str:
    """The agency's secure reply link: <public url>/r/<token>."""
    return f"{get_settings().public_url}/r/{reply_token(cycle_id, agency_code, token_nonce)}"


def sheet_mark(cycle_id: int, agency_code: str) -> str:
    """The keyed mark written into an agency's reply sheet and checked when it comes back."""
    return tokens.sheet_mark(get_settings().resolved_secret_key(), cycle_id, agency_code)


def cycle_config() -> CycleConfig:
    """What the cycle use cases need from settings: reply links, schedule, the secretariat's address."""
    settings = get_settings()
    return CycleConfig(
        secretariat_email=settings.secretariat_email,
        reply_token=reply_token,
        reply_url=reply_url,
        sheet_mark=sheet_mark,
        schedule=FollowUpSchedule(tuple(settings.reminder_days), settings.escalation_days),
        part_size=settings.portal_part_size,
    )


def notifier(uow: SqlUnitOfWork, clock: Clock) -> OutboxNotifier:
    """The notifier: messages go to the outbox in `uow`'s transaction, from FOLLOWUP_MAIL_FROM."""
    from notifications.outbox import OutboxNotifier

    settings = get_settings()
    # Message-IDs under the sender's own domain, as mail servers expect.
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "followup.local"
    return OutboxNotifier(uow, clock, mail_domain=domain, mail_from=settings.mail_from)


def sender() -> Sender:
    """Where the dispatcher hands messages: FOLLOWUP_MAIL_URL, by default the $FOLLOWUP_HOME/outbox folder."""
    from notifications.senders import sender_from_url

    return sender_from_url(get_settings().resolved_mail_url)
