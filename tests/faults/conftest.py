"""Fault-injection fixtures: a slow SMTP server (the helpers are in `tests.support`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.smtp import HOST, free_port
from tests.support import SlowSmtpServer


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
