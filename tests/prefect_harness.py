"""Prefect's test harness, started once per test session (it takes ~15 s to start on these machines).

Registered in tests/conftest.py through `pytest_plugins`; flow tests ask for `prefect_harness`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Flows run against a throw-away Prefect server and database for the whole session."""
    from workflows.prefect_env import without_heartbeats  # Follow-up's Prefect defaults first

    # isort: split
    from prefect.testing.utilities import prefect_test_harness

    # None: use PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (120 s, see workflows/prefect_env.py).
    with prefect_test_harness(server_startup_timeout=None), without_heartbeats():
        yield
