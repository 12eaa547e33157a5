"""A loopback TCP proxy that can cut every connection and refuse new ones for a while (a database outage)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class OutageProxy:
    """Forwards 127.0.0.1:<port> to an upstream server.

    When the client side sends bytes containing `trigger` (e.g. a table name in a query), every open
    connection is cut and new ones are closed on arrival for `outage_s` seconds, once.
    """

    def __init__(self, upstream: tuple[str, int], *, trigger: bytes, outage_s: float) -> None:
        self.upstream, self.trigger, self.outage_s = upstream, trigger, outage_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.outages = 0
        self.refused = 0
        self.triggers_seen = 0
        self._down_until = 0.0
        self._armed = True
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False

    def serve(self) -> None:
        """Accept connections until closed (run in a thread)."""
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self._down_until:
                self.refused += 1
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and self.trigger in data:
                    self.triggers_seen += 1
                    if self._armed:
                        self._cut()
                        return
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.close()

    def _cut(self) -> None:
        """The outage: drop every connection mid-conversation and refuse new ones for a while."""
        with self._lock:
            self._armed = False
            self.outages += 1
            self._down_until = time.monotonic() + self.outage_s
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self._sockets.clear()

    def close(self) -> None:
        """Stop accepting and cut what is left."""
        self._closed = True
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()


@contextmanager
def outage_proxy(upstream: tuple[str, int], *, trigger: bytes, outage_s: float) -> Iterator[OutageProxy]:
    """An OutageProxy serving in a background thread for the duration of the block."""
    proxy = OutageProxy(upstream, trigger=trigger, outage_s=outage_s)
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
        thread.join(timeout=5)
