"""Conditional GETs and a short response cache for the report routes, keyed by the registry generation.

The sidebars of a whole institution poll ``events`` and reopen ``duplicates`` and ``stats``; between
two changes of what a report shows every one of its answers is the same. The registry keeps a
generation per report (``duplicates``, ``stats``, ``events``) that every committed write changing
that report moves on (``ddas.registry.tallies``), read with one primary-key lookup; a fetch's event
moves the feed's, not the duplicates'. So a report route:

1. reads its generation (on the ``query`` lane: it never waits behind a heavy call);
2. answers ``304 Not Modified`` when the client's ``If-None-Match`` holds the ETag of that
   generation for this request (RFC 9110 section 13.1.2);
3. else answers from :class:`ReportCache` when it computed this request at this generation;
4. else computes the body on the route's lane and keeps it under the generation read in step 1.

A body computed after reading generation N is at least as new as N (its reads start later), so
keeping it under N never serves an older answer than the registry had at N; a newer generation
misses. The ETag names the acting user too: ``events?user=me`` is a different answer per user.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict


def request_key(route: str, query: str, user: str) -> str:
    """What makes two requests the same answer: route, query string, acting user."""
    return hashlib.blake2b(f"{route}\0{query}\0{user}".encode(), digest_size=8).hexdigest()


def etag(generation: int, key: str) -> str:
    """A strong ETag for the answer to request ``key`` at ``generation``."""
    return f'"g{generation}-{key}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an ``If-None-Match`` header holds ``tag`` (or ``*``), weak or strong (RFC 9110
    compares weakly for If-None-Match)."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == tag for t in tags)


class ReportCache:
    """The last few hundred report bodies, each with the generation it was computed at.

    Entries of an older generation are never served (and are dropped when met); the cache is
    bounded by entries, least recently used first out.
    """

    def __init__(self, entries: int = 512) -> None:
        self._entries = entries
        self._bodies: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, generation: int) -> str | None:
        """The body of request ``key`` if it was computed at ``generation``."""
        with self._lock:
            hit = self._bodies.get(key)
            if hit is None:
                return None
            if hit[0] != generation:
                del self._bodies[key]
                return None
            self._bodies.move_to_end(key)
            return hit[1]

    def put(self, key: str, generation: int, body: str) -> None:
        with self._lock:
            old = self._bodies.get(key)
            if old is not None and old[0] > generation:
                return  # a slower computation of an older generation: keep the newer body
            self._bodies[key] = (generation, body)
            self._bodies.move_to_end(key)
            while len(self._bodies) > self._entries:
                self._bodies.popitem(last=False)
