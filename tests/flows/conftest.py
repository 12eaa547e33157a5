"""Flow tests: Follow-up configured on the test's own database and a real loopback SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import SECRET_KEY, add_agencies, add_recommendations
from tests.smtp import SmtpServer
from tests.support import forget_settings_and_engines
from workflows import bootstrap


@pytest.fixture
def followup_env(
    database_url: str, smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Settings pointing at this test's database and SMTP server; retries without waiting."""
    monkeypatch.setenv("FOLLOWUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    monkeypatch.setenv("FOLLOWUP_MAIL_URL", smtp_server.url)
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("FOLLOWUP_TASK_RETRY_DELAY_SECONDS", "[0]")
    forget_settings_and_engines()
    yield database_url
    forget_settings_and_engines()


@pytest.fixture
def catalogue(followup_env: str) -> dict[str, int]:
    """Three agencies and four items: ILO owns 1, IOM 3, UNHCR 2."""
    add_agencies(bootstrap.uow(), "ILO", "IOM", "UNHCR")
    return add_recommendations(
        bootstrap.uow(), {"SR1": ["ILO", "IOM"], "A1.1": ["IOM"], "A1.2": ["IOM", "UNHCR"], "A2.1": ["UNHCR"]}
    )
