"""Reading a registry's search relations into the cache when a server starts.

A server's warm-up compiles every statement and runs each kind of search once, but a search for a
*different* text reads other pages of the trigram index. When the operating system has dropped the
file from its page cache (a reboot, a night of other jobs, the kernel's reclaim), those reads go to
the disk: the first URL-part search of a fresh server on a 1M-copy registry took 154 ms with a cold
cache against 22-40 ms warm (``benchmarks/api.py``). Reading the file once, sequentially, at
start-up is what ``pg_prewarm``'s autoprewarm does for PostgreSQL (whose buffers the warm-up's
samples already fill): one pass at disk speed in the warm-up thread, before the server says it is
warm, instead of random reads on the first users' requests.

It is bounded: at most a quarter of the memory the kernel says is available, so that a registry
larger than the machine's spare memory is read in part (its first pages, the tables created
first) and never pushes out what everything else needs.

On PostgreSQL the database host's cache is the one to fill, which this process cannot read from
outside: with the page cache dropped, a 1M-copy registry's URL-part searches took 97 ms at p99
for their first 40 requests against 27 ms warm. ``pg_prewarm`` (created by migration 0009 where
the role may) reads the relations the searches use, trigram indexes first, into the operating
system's cache (mode ``read``: shared buffers stay as they are), up to half of
``effective_cache_size``, the DBA's own statement of that cache.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from ddas.registry.engine import sqlite_file

CHUNK = 1 << 20  #: bytes per read
SHARE = 4  #: read at most 1/SHARE of the available memory
SECONDS = 30.0  #: and for at most this long: a stopping server waits for its warm-up


def available_memory() -> int:
    """Bytes the kernel could give without swapping (``MemAvailable``); free pages elsewhere."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def prefetch(
    path: str | os.PathLike[str], limit: int | None = None, seconds: float = SECONDS
) -> int:
    """Read ``path`` (up to ``limit`` bytes, default a quarter of the available memory, for at
    most ``seconds``) so that its pages are in the page cache; returns the bytes read. A file
    that is not there (an in-memory database, a path the server cannot read) reads nothing:
    warming is best effort."""
    cap = available_memory() // SHARE if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return 0
    try:
        size = min(os.fstat(fd).st_size, max(0, cap))
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, size, os.POSIX_FADV_SEQUENTIAL)  # large readahead
        buffer, done = bytearray(CHUNK), 0
        view, deadline = memoryview(buffer), time.monotonic() + seconds
        while done < size and time.monotonic() < deadline:
            n = os.preadv(fd, [view[: min(CHUNK, size - done)]], done)
            if n <= 0:
                break
            done += n
        return done
    finally:
        os.close(fd)


#: Relations of the schema read first (the trigram indexes every text search probes, then the
#: tables a page of results reads); the schema's other relations follow, largest last.
PG_FIRST = ("ix_sources_url_trgm", "ix_contents_name_trgm", "sources", "contents", "copies")

_PG_RELATIONS = """
SELECT c.oid::regclass::text, c.relname, pg_relation_size(c.oid)
FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'i')
"""
_PG_PREWARM = """
SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = 'pg_prewarm' LIMIT 1
"""


def prewarm_postgresql(conn: Any) -> list[tuple[str, int]]:
    """``pg_prewarm`` the schema's relations (``PG_FIRST`` first, then smallest first) up to half
    of ``effective_cache_size``; returns (relation, bytes) read. Nothing without pg_prewarm."""
    schema = conn.exec_driver_sql(_PG_PREWARM).scalar()
    if schema is None:
        return []
    cap = conn.exec_driver_sql(
        "SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'effective_cache_size'"
    ).scalar()
    rank = {name: i for i, name in enumerate(PG_FIRST)}
    relations = sorted(
        conn.exec_driver_sql(_PG_RELATIONS).all(),
        key=lambda r: (rank.get(r[1], len(PG_FIRST)), r[2]),
    )
    left, done = int(cap or 0) // 2, []
    try:
        for regclass, _name, size in relations:
            if size <= 0 or size > left:
                continue
            conn.exec_driver_sql(
                f"SELECT \"{schema}\".pg_prewarm(%(rel)s::regclass, 'read')", {"rel": regclass}
            )
            done.append((regclass, int(size)))
            left -= size
    except DBAPIError:  # e.g. a role without EXECUTE on it: the rest of the warm-up goes on
        conn.rollback()
    return done


def warm(conn: Any) -> None:
    """Fill the cache the registry behind ``conn`` reads from: its SQLite file, or PostgreSQL's
    search relations (best effort: a registry too large, or without pg_prewarm, reads less)."""
    if (database := sqlite_file(conn.engine.url)) is not None:
        prefetch(database)
    elif conn.dialect.name == "postgresql":
        prewarm_postgresql(conn)
