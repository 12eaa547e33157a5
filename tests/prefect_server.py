"""A real `prefect server` on a free loopback port, for tests that talk to Prefect over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.smtp import free_port

BIN = Path(sys.executable).parent


def prefect_server_start(port: int) -> list[str]:
    """The command line of a Prefect server on a loopback port."""
    return [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]


@contextmanager
def running_prefect_server(
    home: Path, command: Callable[[int], list[str]] = prefect_server_start
) -> Iterator[str]:
    """Start a Prefect server (`command` on a free port) with its own PREFECT_HOME; its API URL till exit."""
    from workflows.prefect_env import DEFAULTS

    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **DEFAULTS, "PREFECT_HOME": str(home / "prefect-server")}
    env.pop("PREFECT_API_URL", None)
    log = (home / "prefect-server.log").open("wb")
    server = subprocess.Popen(
        command(port),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_until_healthy(url, server, timeout=120)
        yield url
    finally:
        stop_process_group(server)
        log.close()


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's group (started with start_new_session), SIGKILL after 20 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes], *, timeout: float) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if server.poll() is not None:
            pytest.fail(f"prefect server exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {timeout} s")
