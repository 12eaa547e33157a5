"""The wait for a starting local Prefect server is never silent for more than a few seconds."""

from __future__ import annotations

import re

import pytest

from workflows import local_server
from workflows.local_server import LocalServer, LocalServerError


class _VirtualTime:
    """`time.monotonic` and `time.sleep` on a clock the test moves, so a minute's wait takes none."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class _StillRunning:
    """A server process that has not exited."""

    returncode = None

    def poll(self) -> None:
        return None


SERVER = LocalServer(api_url="http://127.0.0.1:1/api", pid=1, log="/tmp/server.log", started_at="")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _VirtualTime:
    virtual = _VirtualTime()
    monkeypatch.setattr(local_server.time, "monotonic", virtual.monotonic)
    monkeypatch.setattr(local_server.time, "sleep", virtual.sleep)
    return virtual


def test_a_start_that_takes_a_minute_says_it_is_still_starting_every_few_seconds(
    clock: _VirtualTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    began = clock.now
    monkeypatch.setattr(local_server, "_healthy", lambda url: clock.now - began >= 60)
    said: list[float] = []

    local_server._wait_until_healthy(SERVER, _StillRunning(), lambda line: said.append(clock.now - began))  # type: ignore[arg-type]

    silences = [later - earlier for earlier, later in zip([0.0, *said], [*said, 60.0], strict=True)]
    assert len(said) >= 11 and max(silences) <= 5.5, said


def test_a_start_that_never_answers_fails_naming_the_servers_log(
    clock: _VirtualTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_server, "_healthy", lambda url: False)

    with pytest.raises(LocalServerError, match=re.escape(SERVER.log)):
        local_server._wait_until_healthy(SERVER, _StillRunning(), lambda line: None)  # type: ignore[arg-type]
