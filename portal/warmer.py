"""Reply pages rendered ahead: an agency's first view of its page comes from the page cache too.

A first view costs a render (a dozen queries, then the template: tens of milliseconds); twenty agencies
opening their links at once would queue behind each other. So one process of the portal at a time,
the holder of a lock file beside the shared page directory, goes over the open requests every
`FOLLOWUP_PORTAL_WARM_SECONDS` and renders each part that is missing from the cache or stale. A
submission makes only its own agency's pages stale, so after the first pass each pass renders little.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

log = logging.getLogger("followup.portal.warmer")
STOP_WAIT_SECONDS = 10


class PageWarmer:
    """Runs `warm_pass` every `interval` seconds on a thread, in the one process holding `lock_path`."""

    def __init__(self, lock_path: Path, interval: float, warm_pass: Callable[[threading.Event], int]) -> None:
        self.lock_path = lock_path
        self.interval = interval
        self.warm_pass = warm_pass
        self.stopping = threading.Event()
        self._lock_file: IO[bytes] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start warming in the background (returns at once)."""
        self._thread = threading.Thread(target=self._run, name="page-warmer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop between two pages, wait a little for the thread, and let another process take over."""
        self.stopping.set()
        if self._thread is not None:
            # A pass stuck on an unreachable database must not hold the shutdown: the thread is a daemon.
            self._thread.join(timeout=STOP_WAIT_SECONDS)
            if self._thread.is_alive():
                return  # still in a pass: the lock goes with the process, so no one else warms meanwhile
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def holds_lock(self) -> bool:
        """Take the warming lock if no other process holds it; True while this process holds it."""
        if self._lock_file is not None:
            return True
        handle = self.lock_path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def run_once(self) -> int | None:
        """One pass if this process is the warmer: pages rendered, or None when another process warms."""
        if not self.holds_lock():
            return None
        started = time.monotonic()
        rendered = self.warm_pass(self.stopping)
        if rendered:
            log.info("rendered %d reply pages ahead in %.1f s", rendered, time.monotonic() - started)
        return rendered

    def _run(self) -> None:
        failing = False
        while not self.stopping.is_set():
            try:
                self.run_once()
                failing = False
            except Exception as exc:  # the database restarting, say: tried again at the next pass
                if failing:  # the traceback once, then a line per pass while it lasts
                    log.warning("warming reply pages still failing: %s", exc)
                else:
                    log.exception("warming reply pages failed; trying again every %.0f s", self.interval)
                failing = True
            self.stopping.wait(self.interval)
