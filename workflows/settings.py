"""Configuration from the environment (FOLLOWUP_*), with embedded defaults that need no setup."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.tokens import new_secret_key


class Settings(BaseSettings):
    """Every setting has a default that works on a laptop: SQLite and a directory outbox under ./var."""

    model_config = SettingsConfigDict(env_prefix="FOLLOWUP_", env_file=".env", extra="ignore")

    home: Path = Field(
        default=Path("var"), description="Where the embedded database, outbox and reports live"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in $FOLLOWUP_HOME"
    )
    mail_url: str | None = Field(
        default=None, description="smtp://user:pass@host:587?starttls=1 or file:///dir"
    )
    mail_from: str = "HLCP Secretariat <hlcp.secretariat@un.example.org>"
    secretariat_email: str = "hlcp.secretariat@un.example.org"
    public_url: str = "http://127.0.0.1:8000"
    secretariat_token: str | None = Field(default=None, description="Bearer token of the secretariat pages")
    secret_key: str | None = Field(default=None, description="hex key reply links derive from")
    reminder_days: tuple[int, ...] = (14, 7, 2)
    escalation_days: int = 3
    token_grace_days: int = 14
    portal_threads: int = Field(default=4, ge=1, description="threads per portal process serving pages")
    portal_part_size: int = Field(
        default=40, ge=1, description="items on one reply page; longer requests are answered in parts"
    )
    task_retries: int = Field(default=3, description="Prefect retries of a flow task that failed on I/O")
    task_retry_delay_seconds: tuple[int, ...] = Field(
        default=(10, 60, 300), description="waits before each retry (the last repeats)"
    )

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite at $FOLLOWUP_HOME/followup.db."""
        return self.database_url or f"sqlite:///{(self.home / 'followup.db').resolve()}"

    @property
    def resolved_mail_url(self) -> str:
        """The mail URL, defaulting to a directory outbox at $FOLLOWUP_HOME/outbox."""
        return self.mail_url or (self.home / "outbox").resolve().as_uri()

    def resolved_secret_key(self) -> str:
        """The reply-token key: FOLLOWUP_SECRET_KEY, else one kept in $FOLLOWUP_HOME/secret.key."""
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Create with owner-only permissions before writing: the key must never be world-readable.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(new_secret_key())
        return path.read_text().strip()

    @property
    def inbox_dir(self) -> Path:
        """Where spreadsheets dropped by agencies are collected from."""
        return self.home / "inbox"

    @property
    def reports_dir(self) -> Path:
        """Where stock-take reports are written."""
        return self.home / "reports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
