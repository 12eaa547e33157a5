"""`followup portal --workers N` as a process: each worker listens on a socket of its own (Linux)."""

from __future__ import annotations

import http.client
import pickle
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from tests import factories
from tests.smtp import free_port
from tests.support import start_followup

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a socket per worker is Linux's SO_REUSEPORT")

LISTEN = "0A"  # a TCP socket's state in /proc/net/tcp


def _env(sqlite_template: Path, home: Path) -> dict[str, str]:
    database = home / "followup.db"
    home.mkdir()
    shutil.copyfile(sqlite_template, database)
    return {
        "PATH": "/usr/bin:/bin",
        "FOLLOWUP_HOME": str(home),
        "FOLLOWUP_DATABASE_URL": f"sqlite:///{database}",
        "FOLLOWUP_SECRET_KEY": factories.SECRET_KEY,
    }


def _listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port`, as the kernel lists them."""
    found = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == LISTEN and local == f"0100007F:{port:04X}":
            found += 1
    return found


def _status_of_a_fresh_connection(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/r/no-such-link")
        return connection.getresponse().status
    finally:
        connection.close()


def _wait_until_served(port: int, log: Path, timeout: float = 60) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        try:
            _status_of_a_fresh_connection(port)
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the portal did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def test_each_portal_worker_listens_on_a_socket_of_its_own_and_every_connection_is_answered(
    sqlite_template: Path, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "portal.log"
    env = _env(sqlite_template, tmp_path / "home")
    portal = start_followup("portal", "--port", str(port), "--workers", "2", env=env, log=log)
    try:
        _wait_until_served(port, log)
        # Both workers' sockets are up once each has started; the first answer may come from one alone.
        give_up = time.monotonic() + 30
        while _listening_sockets(port) < 2 and time.monotonic() < give_up:
            time.sleep(0.2)
        assert _listening_sockets(port) == 2
        assert [_status_of_a_fresh_connection(port) for _ in range(12)] == [404] * 12
    finally:
        portal.send_signal(signal.SIGINT)
        portal.wait(timeout=30)
    assert portal.returncode == 0, log.read_text()[-3000:]
    assert f"Uvicorn running on http://127.0.0.1:{port}, 2 processes" in log.read_text()


def test_a_portal_whose_port_is_taken_says_so_and_exits_3(sqlite_template: Path, tmp_path: Path) -> None:
    log = tmp_path / "portal.log"
    env = _env(sqlite_template, tmp_path / "home")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        portal = start_followup("portal", "--port", str(port), "--workers", "2", env=env, log=log)
        assert portal.wait(timeout=60) == 3, log.read_text()[-3000:]
    said = log.read_text()
    assert f"The portal cannot listen on 127.0.0.1:{port}: Address already in use." in said
    assert "Traceback" not in said


def test_a_worker_receives_the_portals_address_as_a_tcp_socket_of_its_own_on_the_same_port() -> None:
    from multiprocessing.reduction import ForkingPickler

    from portal.listening import workers_address

    # Pickled as multiprocessing hands it to each worker process it starts.
    with (
        workers_address("127.0.0.1", 0) as address,
        pickle.loads(ForkingPickler.dumps(address)) as received,
    ):
        assert received.fileno() != address.fileno()
        assert received.getsockname() == address.getsockname()
        # Its protocol said, asyncio sets TCP_NODELAY on its connections (no 40 ms delayed ACKs).
        assert received.proto == socket.IPPROTO_TCP
        assert received.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
