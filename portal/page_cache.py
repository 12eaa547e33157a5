"""Rendered reply pages kept in memory, each valid only while its stamp (a fingerprint of its data) holds.

Each server process keeps its own pages in memory and shares them, gzipped, with the other processes
through a directory; least recently used pages go first once the byte budget is spent. Pages are keyed
by the token's hash, never the token itself.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Fast to compress and still about a tenth of the HTML: the page goes out gzipped to most clients.
GZIP_LEVEL = 5
log = logging.getLogger("followup.portal.cache")
# Writes between two prunings of the shared directory (sooner when they may exceed the byte budget),
# and the share of the budget a pruning leaves when it has to drop pages.
PRUNE_EVERY = 64
PRUNE_TO = 0.8


@dataclass(frozen=True)
class CachedPage:
    """A rendered page with its stamp and entity tag, kept gzipped only (a tenth of the HTML)."""

    stamp: tuple[Any, ...]
    etag: str
    gzipped: bytes

    @property
    def body(self) -> bytes:
        """The HTML, for the rare client that does not take gzip."""
        return gzip.decompress(self.gzipped)

    @property
    def size(self) -> int:
        """Bytes the entry holds."""
        return len(self.gzipped)


class PageCache:
    """Pages by key, least recently used dropped first, within `max_bytes` (thread-safe).

    With a `directory`, the gzipped pages are also shared there between the server's processes: a
    page one worker rendered is served by the others without rendering it again. Files are named by
    key and stamp, written atomically, and pruned oldest first beyond `max_bytes`.
    """

    def __init__(self, max_bytes: int, directory: Path | None = None) -> None:
        self.max_bytes = max_bytes
        self.directory = directory
        self._pages: OrderedDict[Hashable, CachedPage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        # This process's file of each page it shared, and the bytes it may still write before the
        # directory may be past its budget (other processes write too: it is listed every so often).
        self._shared: dict[Hashable, Path] = {}
        self._room = max_bytes
        self._puts = 0
        if directory is not None:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def get(self, key: Hashable, stamp: tuple[Any, ...]) -> CachedPage | None:
        """The page stored under `key` if it was rendered under this same stamp."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None and page.stamp == stamp:
                self._pages.move_to_end(key)
                return page
        try:
            gzipped = self._file(key, stamp).read_bytes() if self.directory else None
        except FileNotFoundError:  # never written, or replaced by a newer version meanwhile
            gzipped = None
        return self._keep(key, _page(key, stamp, gzipped)) if gzipped else None

    def put(self, key: Hashable, stamp: tuple[Any, ...], body: bytes) -> CachedPage:
        """Store a freshly rendered page (replacing the key's older one) and return it."""
        page = _page(key, stamp, gzip.compress(body, GZIP_LEVEL, mtime=0))
        if self.directory is not None:
            try:
                self._share(key, stamp, page.gzipped)
            except OSError as exc:  # disk full, or the directory removed by a newer portal: serve from memory
                log.warning("rendered page kept in memory only, not shared: %s", exc)
        return self._keep(key, page)

    def _keep(self, key: Hashable, page: CachedPage) -> CachedPage:
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if page.size <= self.max_bytes:
                self._pages[key] = page
                self._bytes += page.size
            while self._bytes > self.max_bytes:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= dropped.size
        return page

    def _file(self, key: Hashable, stamp: tuple[Any, ...]) -> Path:
        assert self.directory is not None
        return self.directory / f"{_digest(key)}.{_digest(stamp)}.gz"

    def _share(self, key: Hashable, stamp: tuple[Any, ...], gzipped: bytes) -> None:
        """Write the page for the other processes, replacing this process's older version of it."""
        assert self.directory is not None
        target = self._file(key, stamp)
        partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            partial.write_bytes(gzipped)
            os.replace(partial, target)  # atomic: readers see the whole page or none
        except OSError:
            _remove(str(partial))  # a disk that filled up mid-write leaves no half page behind
            raise
        with self._lock:
            previous = self._shared.get(key)
            self._shared[key] = target
            self._room -= len(gzipped)
            self._puts += 1
            # Listing the directory on every write made a pass over N pages cost N² file reads.
            prune = self._room < 0 or self._puts % PRUNE_EVERY == 0
        if previous is not None and previous != target:
            _remove(str(previous))
        if prune:
            self._prune()

    def _prune(self) -> None:
        """Drop older versions of pages (other processes' too), then the oldest pages past the low mark."""
        assert self.directory is not None
        files, newest = [], {}
        for entry in os.scandir(self.directory):
            if entry.name.startswith("."):
                continue
            with contextlib.suppress(FileNotFoundError):
                stat = entry.stat()
                files.append((stat.st_mtime, stat.st_size, entry.path))
        for mtime, size, path in sorted(files):
            newest[os.path.basename(path).split(".", 1)[0]] = (mtime, size, path)  # the key's latest
        kept = set(newest.values())
        for _, _, path in set(files) - kept:
            _remove(path)
        # Down to a low mark, not just under the budget: otherwise every later write would prune again.
        low_mark = int(self.max_bytes * PRUNE_TO)
        total = sum(size for _, size, _ in kept)
        for oldest in sorted(kept) if total > self.max_bytes else ():
            if total <= low_mark:
                break
            _remove(oldest[2])
            kept.discard(oldest)
            total -= oldest[1]
        paths = {path for _, _, path in kept}
        with self._lock:
            self._room = self.max_bytes - total
            self._shared = {k: p for k, p in self._shared.items() if str(p) in paths}

    def __len__(self) -> int:
        return len(self._pages)


def _page(key: Hashable, stamp: tuple[Any, ...], gzipped: bytes) -> CachedPage:
    """A cache entry; its entity tag is the same in every process that holds this page."""
    etag = hashlib.sha256(repr((key, stamp)).encode() + gzipped).hexdigest()[:32]
    return CachedPage(stamp, f'"{etag}"', gzipped)


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:32]


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):  # another process pruned it first
        os.remove(path)
