"""Rendered reply pages kept in memory, each valid only while its stamp (a fingerprint of its data) holds.

One cache per process (each uvicorn worker has its own); least recently used pages go first once the
byte budget is spent. Pages are keyed by the token's hash, never the token itself.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

# Fast to compress and still about a tenth of the HTML: the page goes out gzipped to most clients.
GZIP_LEVEL = 5


@dataclass(frozen=True)
class CachedPage:
    """A rendered page with its stamp, entity tag, and gzipped body."""

    stamp: tuple[Any, ...]
    etag: str
    body: bytes
    gzipped: bytes

    @property
    def size(self) -> int:
        """Bytes the entry holds."""
        return len(self.body) + len(self.gzipped)


class PageCache:
    """Pages by key, least recently used dropped first, within `max_bytes` (thread-safe)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, CachedPage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, stamp: tuple[Any, ...]) -> CachedPage | None:
        """The page stored under `key` if it was rendered under this same stamp."""
        with self._lock:
            page = self._pages.get(key)
            if page is None or page.stamp != stamp:
                return None
            self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, stamp: tuple[Any, ...], body: bytes) -> CachedPage:
        """Store a freshly rendered page (replacing the key's older one) and return it."""
        digest = hashlib.sha256(repr((key, stamp)).encode() + body).hexdigest()[:32]
        page = CachedPage(stamp, f'"{digest}"', body, gzip.compress(body, GZIP_LEVEL, mtime=0))
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

    def __len__(self) -> int:
        return len(self._pages)
