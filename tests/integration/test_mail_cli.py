"""`followup mail status | send | retry` in a separate process, against a real SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from db.engine import make_engine
from db.unit_of_work import SqlUnitOfWork
from notifications.senders import sender_from_url
from tests.smtp import SmtpServer
from tests.support import clock, dispatch, enqueue

FOLLOWUP = str(Path(sys.executable).parent / "followup")


def followup(*args: str, database_url: str, mail_url: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": database_url,
        "FOLLOWUP_MAIL_URL": mail_url,
        "FOLLOWUP_HOME": str(home),
        "COLUMNS": "200",
    }
    return subprocess.run([FOLLOWUP, *args], env=env, capture_output=True, text=True, timeout=60)


# The commands' wiring is what is tested here; the outbox itself runs on both backends in test_outbox.py.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_operator_sees_a_failed_message_retries_it_and_it_arrives_once(
    database_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    new_uow = lambda: SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False))  # noqa: E731
    enqueue(new_uow(), key="reminder:1:IOM", kind="reminder")
    enqueue(new_uow(), key="reminder:1:UNDP", kind="reminder")
    smtp_server.refuse_next(1)
    dispatch(new_uow, sender_from_url(smtp_server.url), clock(), max_attempts=1)
    engine.dispose()
    run = {"database_url": database_url, "mail_url": smtp_server.url, "home": tmp_path}

    status = followup("mail", "status", **run)
    retried = followup("mail", "retry", "--all-failed", **run)
    sent = followup("mail", "send", **run)
    again = followup("mail", "send", **run)

    assert status.returncode == 0 and "1 sent, 1 failed" in status.stdout
    assert "reminder:1:IOM" in status.stdout and "451" in status.stdout
    assert "1 failed message(s) queued again." in retried.stdout
    assert sent.returncode == 0 and "1 sent, 0 to retry later, 0 failed" in sent.stdout
    assert "0 sent" in again.stdout
    assert sorted(m["X-Followup-Key"] for m in smtp_server.messages) == ["reminder:1:IOM", "reminder:1:UNDP"]


def test_a_malformed_mail_url_is_a_one_line_error_that_hides_the_password(tmp_path: Path) -> None:
    # The URL is checked before the database is touched: no migrated database needed.
    database_url = f"sqlite:///{tmp_path / 'unused.db'}"

    result = followup(
        "mail", "send", database_url=database_url, mail_url="smtp://me:s3cret@mail:port", home=tmp_path
    )

    assert result.returncode == 1
    assert "FOLLOWUP_MAIL_URL" in result.stderr and "s3cret" not in result.stderr
    assert "Traceback" not in result.stderr
