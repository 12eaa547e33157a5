"""Configuration from the environment (FOLLOWUP_*), with embedded defaults that need no setup."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import DomainError
from domain.evidence import EvidenceLimits
from domain.language import Language
from domain.tokens import new_secret_key
from workflows import locations

SECRET_KEY_FORMAT = re.compile(r"[0-9a-fA-F]{64}")
NEW_KEY_HINT = "make one with: python -c 'import secrets; print(secrets.token_hex(32))'"


class SecretKeyError(DomainError):
    """The secret key is malformed, or is not the key this database's reply links were made with."""


class Settings(BaseSettings):
    """Every setting has a default that works on a laptop: SQLite and a directory outbox in the home."""

    model_config = SettingsConfigDict(
        env_prefix=locations.ENV_PREFIX, env_file=locations.ENV_FILE, extra="ignore"
    )

    home: Path = Field(
        # Per user, not the working directory: a worker or the portal started elsewhere finds the same home.
        default_factory=locations.default_home,
        description="Where the embedded database and Prefect's local data live, and the shared files "
        "unless FOLLOWUP_STORAGE says otherwise; unset: the per-user data directory "
        "(`~/.local/share/followup` on Linux, from platformdirs).",
    )
    storage: str | None = Field(
        default=None,
        description="Where the files every process of one installation shares live: reports, inbox, "
        "evidence files, the folder outbox and the generated secret key. A folder every worker, the portal "
        "and the CLI mount (`/srv/followup`, or an fsspec URL `file:///srv/followup`); "
        "unset: `$FOLLOWUP_HOME`.",
    )
    database_url: str | None = Field(
        default=None,
        description="A SQLAlchemy URL of SQLite or PostgreSQL; unset: SQLite at "
        "`$FOLLOWUP_HOME/followup.db`. Production: `postgresql+psycopg2://user@host/db` "
        "(`postgresql://` goes through psycopg2 too).",
    )
    mail_url: str | None = Field(
        default=None,
        description="Where e-mail goes: `smtp://user:pass@host:587?starttls=1`, `smtps://...` or a folder "
        "`file:///dir`; unset: the folder `outbox` of the shared "
        "storage (`$FOLLOWUP_STORAGE`, else `$FOLLOWUP_HOME`; see E-mail).",
    )
    mail_from: str = Field(
        default="HLCP Secretariat <hlcp.secretariat@un.example.org>",
        description="The From of every message.",
    )
    secretariat_email: str = Field(
        default="hlcp.secretariat@un.example.org",
        description="Reply-To of every message; copied on escalations; receives the cycle summaries.",
    )
    secretariat_language: Language = Field(
        default=Language.EN,
        description="What the secretariat reads and writes (en, fr or es): its cycle summaries and the "
        "stock-take report in every format. Agencies are written to in their own language "
        "(`followup agencies set-language`).",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The portal's public address; reply links are `<public url>/r/<token>`.",
    )
    secretariat_token: str | None = Field(
        default=None,
        description="The secretariat's token for the portal's `/cycles/<slug>` pages; unset: no such pages.",
    )
    secret_key: str | None = Field(
        default=None,
        description="The key reply links derive from (64 hex digits); unset: generated once into "
        "`secret.key` in the shared storage (`$FOLLOWUP_STORAGE`, else `$FOLLOWUP_HOME`).",
    )
    reminder_days: tuple[int, ...] = Field(
        default=(14, 7, 2), description="Reminders, in days before the reply deadline."
    )
    escalation_days: int = Field(
        default=3, description="Escalation to the head of office, in days after the reply deadline."
    )
    token_grace_days: int = Field(
        default=14, description="How long a reply link keeps working after its cycle closes, in days."
    )
    portal_threads: int = Field(
        default=4, ge=1, description="Threads per portal process serving the (blocking) page routes."
    )
    portal_part_size: int = Field(
        default=40,
        ge=1,
        description="Items on one reply page; a longer request is answered in parts, one agenda point "
        "each, and its e-mail lists codes only.",
    )
    api_requests_per_minute: int = Field(
        default=120, ge=1, description="Requests one API read token may make a minute (per portal process)."
    )
    evidence_max_mb: int = Field(
        default=10,
        ge=1,
        le=1024,
        description="The largest evidence file an agency may attach to an answer, in MB (1 MB = 1,024 KB).",
    )
    evidence_max_files: int = Field(
        default=5, ge=1, le=50, description="How many evidence files one answer may have."
    )
    task_retries: int = Field(
        default=3, description="Prefect retries of a flow task that failed on I/O (never on bad input)."
    )
    task_retry_delay_seconds: tuple[int, ...] = Field(
        default=(10, 60, 300), description="Seconds to wait before each retry (the last repeats)."
    )

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite at $FOLLOWUP_HOME/followup.db."""
        return locations.database_url_of(self.database_url, self.home)

    @property
    def resolved_mail_url(self) -> str:
        """The mail URL, defaulting to a directory outbox in the shared storage."""
        return self.mail_url or (self.storage_dir / "outbox").resolve().as_uri()

    def resolved_secret_key(self) -> str:
        """The reply-token key: FOLLOWUP_SECRET_KEY, else the one in `secret.key` in the shared storage."""
        if self.secret_key:
            return _checked_key(self.secret_key.strip(), "FOLLOWUP_SECRET_KEY")
        path = self.storage_dir / "secret.key"
        if not path.exists():
            _create_key_file(path)
        return _checked_key(path.read_text().strip(), f"{path} (used while FOLLOWUP_SECRET_KEY is unset)")

    @property
    def storage_dir(self) -> Path:
        """The shared storage's folder: FOLLOWUP_STORAGE (a folder or a `file://` URL), else the home."""
        if not self.storage:
            return self.home
        from fsspec.core import url_to_fs  # ships with Prefect; only parsed here

        try:
            filesystem, path = url_to_fs(self.storage)
        except (ValueError, ImportError) as exc:  # an unknown scheme, or one whose package is missing
            raise ValueError(f"FOLLOWUP_STORAGE: {self.storage!r} is not a storage URL ({exc})") from None
        if "file" not in filesystem.protocol and "local" not in filesystem.protocol:
            raise ValueError(
                f"FOLLOWUP_STORAGE: {self.storage!r} is {filesystem.protocol} storage; only a folder every "
                "process mounts (a path or file:// URL) is supported so far"
            )
        return Path(path)

    @property
    def inbox_dir(self) -> Path:
        """Where spreadsheets dropped by agencies are collected from (shared storage)."""
        return self.storage_dir / "inbox"

    @property
    def reports_dir(self) -> Path:
        """Where stock-take reports are written (shared storage: the portal serves them from there)."""
        return self.storage_dir / "reports"

    @property
    def evidence_dir(self) -> Path:
        """Where the evidence files agencies attach are kept (shared storage: the portal serves them)."""
        return self.storage_dir / "evidence"

    @property
    def evidence_limits(self) -> EvidenceLimits:
        """How large an evidence file may be and how many an answer may have."""
        return EvidenceLimits(self.evidence_max_mb * 1024 * 1024, self.evidence_max_files)


def _create_key_file(path: Path) -> None:
    """Write a new key at `path` unless another process just did: whoever links first wins, all read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".secret.key.{os.getpid()}")
    # Owner-only before anything is written: the key must never be world-readable.
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(new_secret_key())
    try:
        os.link(draft, path)  # atomic, and fails if the key exists: never a half-written key read
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def _checked_key(key: str, source: str) -> str:
    # A short or guessable key (e.g. "00", "changeme") would make every reply link forgeable.
    if not SECRET_KEY_FORMAT.fullmatch(key):
        raise SecretKeyError(
            f"{source}: the secret key must be exactly 64 hexadecimal digits (256 bits), not "
            f"{len(key)} characters of which {sum(c not in '0123456789abcdefABCDEF' for c in key)} "
            f"are not hex digits; {NEW_KEY_HINT}"
        )
    return key.lower()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; from then on the process creates files owner-only."""
    # Every process (CLI, flows, portal) reads its settings first: files it writes under the home
    # (database, secret key, reports, messages with reply links) are then readable by its owner only.
    os.umask(0o077)
    return Settings()
