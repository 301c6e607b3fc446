"""Reading an SQLite registry's file into the page cache when a server starts.

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
"""

from __future__ import annotations

import os
from pathlib import Path

CHUNK = 1 << 20  #: bytes per read
SHARE = 4  #: read at most 1/SHARE of the available memory


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


def prefetch(path: str | os.PathLike[str], limit: int | None = None) -> int:
    """Read ``path`` (up to ``limit`` bytes; default a quarter of the available memory) so that
    its pages are in the page cache; returns the bytes read. A file that is not there (an
    in-memory database, a path the server cannot read) reads nothing: warming is best effort."""
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
        view = memoryview(buffer)
        while done < size:
            n = os.preadv(fd, [view[: min(CHUNK, size - done)]], done)
            if n <= 0:
                break
            done += n
        return done
    finally:
        os.close(fd)
