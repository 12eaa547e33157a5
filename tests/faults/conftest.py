"""Fault-injection helpers: a slow SMTP server, a small generated catalogue, `followup` as a process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from benchmarks import generate
from db.engine import make_engine
from tests.factories import SECRET_KEY
from tests.smtp import HOST, SmtpServer, free_port

FOLLOWUP = str(Path(sys.executable).parent / "followup")


@dataclass
class SlowSmtpServer(SmtpServer):
    """An SMTP server that keeps each message, then waits `delay` seconds before saying it accepted it.

    The wait puts the sender in the worst place to die: its message has arrived, the reply has not.
    """

    delay: float = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return reply

    def count_by_recipient(self) -> Counter[str]:
        """How many messages each envelope recipient received."""
        with self._lock:
            return Counter(address for _, recipients in self.envelopes for address in recipients)


@pytest.fixture
def slow_smtp() -> Iterator[SlowSmtpServer]:
    """A loopback SMTP server whose answers are delayed (set `.delay`)."""
    server = SlowSmtpServer(HOST, free_port())
    controller = Controller(server, hostname=HOST, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass(frozen=True)
class Catalogue:
    """A small generated catalogue: its agencies and how many (item, owner) pairs it has."""

    agencies: list[str]
    owner_pairs: int

    def focal_point(self, agency: str) -> str:
        return f"focal.point@{agency.lower()}.example.org"


def make_catalogue(database_url: str, *, agencies: int = 8, recommendations: int = 40) -> Catalogue:
    """Agencies with contacts, recommendations with 1-3 owners each and milestones (the bench generator)."""
    engine = make_engine(database_url)
    try:
        population = generate.populate(
            engine, recommendations=recommendations, agencies=agencies, previous_cycles=0
        )
    finally:
        engine.dispose()
    return Catalogue(population.agencies, len(population.owners))


def process_env(database_url: str, mail_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a `followup` process on this database, mail server and running Prefect server."""
    from prefect.settings import PREFECT_API_URL  # the test harness's server, set by `prefect_harness`

    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update(
        {
            "FOLLOWUP_HOME": str(home),
            "FOLLOWUP_DATABASE_URL": database_url,
            "FOLLOWUP_MAIL_URL": mail_url,
            "FOLLOWUP_SECRET_KEY": SECRET_KEY,
            "FOLLOWUP_TASK_RETRY_DELAY_SECONDS": "[0]",
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "PREFECT_HOME": str(home / "prefect"),
            **extra,
        }
    )
    return env


def start_followup(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `followup ARGS...` in a process group of its own (so it can be killed whole)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [FOLLOWUP, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def run_followup(*args: str, env: dict[str, str], log: Path, timeout: float = 180) -> None:
    """Run `followup ARGS...` to completion; fail the test with its output if it fails."""
    process = start_followup(*args, env=env, log=log)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert code == 0, f"followup {' '.join(args)} exited {code}:\n{log.read_text()[-4000:]}"
