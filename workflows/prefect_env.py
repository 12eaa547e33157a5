"""Prefect defaults for Follow-up, applied before Prefect is first imported.

Import this module instead of `prefect` (flows.py and deployments.py do): Prefect reads its
settings from the environment once, at import. Each default yields to a value the operator set.

Why each one (measured on the 2-core target machines with Prefect 3.9):
- the local ephemeral server needs ~21 s to start on a fresh PREFECT_HOME, past Prefect's 20 s default;
- the SQLite-backed server records task runs and events one by one unless the batches are raised;
- offline machines: no telemetry;
- PREFECT_HOME next to Follow-up's own data, so `make clean` or a fresh FOLLOWUP_HOME starts over.

Importing this module does not import Prefect (`followup server status` must stay fast).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workflows.settings import get_settings

DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_READ_BATCH_SIZE": "200",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def apply_defaults() -> None:
    """Set Follow-up's Prefect defaults in the environment, leaving any value already set alone."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    # Prefect creates its home without parents; a fresh FOLLOWUP_HOME has none yet.
    prefect_home().mkdir(parents=True, exist_ok=True)


def prefect_home() -> Path:
    """Prefect's home: $PREFECT_HOME, by default $FOLLOWUP_HOME/prefect."""
    if not os.environ.get("PREFECT_HOME"):
        # Only then: the command server imports this module and must not read (and cache) the settings.
        os.environ["PREFECT_HOME"] = str((get_settings().home / "prefect").resolve())
    return Path(os.environ["PREFECT_HOME"])


apply_defaults()


@contextmanager
def without_heartbeats() -> Iterator[None]:
    """Run flows from the command line without flow-run heartbeats.

    Heartbeats let a worker notice a crashed run; a flow run in the operator's own process has no
    such watcher, and joining the heartbeat thread costs ~1 s per flow call. Prefect's setting can
    only be switched off in code (the environment cannot express "None").
    """
    from prefect.settings import temporary_settings  # here: importing this module stays Prefect-free

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield
