"""Where `followup portal` listens when it runs several processes: on a socket of each worker's own.

uvicorn's workers share one listening socket. The first of them to wake accepts every connection
waiting (asyncio takes them in a burst) and keeps each for as long as its browser keeps it alive,
so the other workers can stay idle: measured, one worker served every page of a five-client run
while the other did nothing (`docs/performance.md`). On Linux each worker listens on a socket of its
own bound to the same address (SO_REUSEPORT), and the kernel spreads new connections over them.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from typing import Any

from uvicorn import Config
from uvicorn.supervisors import Multiprocess

# Elsewhere SO_REUSEPORT is missing (Windows) or hands every connection to one socket (macOS, BSD).
SPREADS_CONNECTIONS = sys.platform == "linux"


class CannotListen(Exception):
    """The portal's address cannot be had (e.g. its port is taken); says why."""


def serve_in_processes(config: Config) -> None:
    """Run `config.workers` server processes until Ctrl-C; CannotListen when the address cannot be had."""
    if SPREADS_CONNECTIONS:
        try:
            address: socket.socket = workers_address(config.host, config.port)
        except OSError as exc:
            raise CannotListen(exc.strerror or str(exc)) from exc
        host = f"[{config.host}]" if ":" in config.host else config.host
        logging.getLogger("uvicorn.error").info(
            "Uvicorn running on http://%s:%d, %d processes (Press CTRL+C to quit)",
            host,
            config.port,
            config.workers,
        )
    else:
        # uvicorn's shared socket says protocol 0, so asyncio leaves Nagle on in the workers and every
        # small (gzipped) page waits ~40 ms for a delayed ACK; re-wrapped, it reports TCP: NODELAY.
        address = socket.socket(fileno=config.bind_socket().detach())
        address.set_inheritable(True)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[address]).run()


class WorkersAddress(socket.socket):
    """The portal's address, bound but never listening: each worker process receives it as a
    listening socket of its own (see `worker_socket`), so it can be handed to uvicorn's supervisor.

    Bound in the parent, a port already taken is said before any worker starts, and the port stays
    the portal's while workers come and go.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # multiprocessing pickles the supervisor's sockets into each worker it starts or restarts.
        return worker_socket, (self.family, self.getsockname())


def workers_address(host: str, port: int) -> WorkersAddress:
    """Reserve `host:port` for the portal's workers; OSError when it cannot be had (e.g. taken)."""
    address = WorkersAddress(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        _share_port(address)
        address.bind((host, port))
    except OSError:
        address.close()
        raise
    return address


def worker_socket(family: int, address: tuple[Any, ...]) -> socket.socket:
    """A worker's socket on the portal's address (uvicorn makes it listen)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    _share_port(sock)
    sock.bind(address)
    # Re-wrapped, the socket reports TCP as its protocol, so asyncio sets TCP_NODELAY on connections:
    # with Nagle on, a small gzipped page waits ~40 ms for the browser's delayed ACK.
    return socket.socket(fileno=sock.detach())


def _share_port(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
