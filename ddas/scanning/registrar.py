"""Registering what a scan found, in batches, on a thread of its own.

The database works while the readers hash: rows are buffered and each full batch becomes one
transaction (``Registry.register_scanned``) on a single background thread, in order. The drivers
release the GIL while the database works. Workers of a cluster scan never touch the registry: they
return what they found and this is the one place it is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ddas import config
from ddas.scanning.progress import Reporter
from ddas.scanning.walk import FileEntry

if TYPE_CHECKING:  # pragma: no cover
    from ddas.registry import Registry
    from ddas.registry.scanview import ScanView

#: Rows a transaction: large enough to amortise the commit, the index pages it touches and the
#: recount of contents an earlier batch registered (100,000 small files: 25,000 a batch cost
#: 10-14 % less registration CPU than 10,000). On SQLite such a transaction holds the write
#: lock for about a second, far below the busy timeout a concurrent writer waits (60 s).
BATCH = 25_000


@lru_cache(maxsize=4096)
def owner_name(uid: int | None) -> str:
    """A file's owner as a user name (``uid1234`` when the uid has no passwd entry)."""
    if uid is None:
        return config.current_user()
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def open_view(registry: Registry | str | None) -> ScanView:
    """The registry a scan reads and writes: SQLAlchemy Core and the schema check (a fraction
    of a second, before any file is looked at); the ORM only once something must be written."""
    from ddas.registry.scanview import ScanView

    return ScanView(registry)


class Registrar:
    """Buffers registrations and writes them in batches (one transaction each), in order.

    Its thread also *opens* the registry, so that importing SQLAlchemy and checking the schema
    (a third of a second, before any file is looked at) overlaps the walk; then it loads what
    the registry knows of the roots; then it writes, one batch after the other. A rescan that
    finds nothing changed never opens the full ``Registry`` (nor imports the ORM).
    """

    def __init__(
        self, registry: Registry | str | None, reporter: Reporter, batch: int = BATCH
    ) -> None:
        self.reporter, self.batch = reporter, batch
        self.pending: list[tuple[FileEntry, str | None]] = []
        self.written = 0
        self._host = config.hostname()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ddas-register")
        self._view = self._writer.submit(open_view, registry)
        self._writes: list[Future] = []
        self._described = 0

    @property
    def view(self) -> ScanView:
        return self._view.result()

    @property
    def registry(self) -> Registry:
        """The full registry (opened on first use: writes need it, a quiet rescan does not)."""
        return self._view.result().registry()

    def submit(self, fn: Any, *args: Any) -> Future:
        """Run ``fn(view, *args)`` on the writer thread, after what was submitted before."""
        return self._writer.submit(lambda: fn(self._view.result(), *args))

    def add(self, items: Iterable[tuple[FileEntry, str | None]]) -> None:
        pending = self.pending
        pending.extend(items)
        if len(pending) >= self.batch:
            self._send()
        self._collect()

    def _send(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self._writes.append(self._writer.submit(self._write, batch))

    def _write(self, batch: list[tuple[FileEntry, str | None]]) -> int:
        from ddas.registry.scans import ScannedCopy

        host, owner = self._host, owner_name
        rows = [  # FileEntry unpacked, not read by attribute: a namedtuple's field is a call
            ScannedCopy(
                location, host if fs is None else "", size, b3, mtime_ns, device, inode, owner(uid)
            )
            for (location, size, mtime_ns, device, inode, uid, _, fs), b3 in batch
        ]
        written = self.registry.register_scanned(rows, batch_size=len(rows))
        self._describe(batch)
        return written

    def _describe(self, batch: list[tuple[FileEntry, str | None]]) -> None:
        """Queue the batch's hashed local files for metadata extraction (registered by now, so
        extraction can look them up), at most a queue's worth a scan: a huge scan must not keep
        a background thread reading for hours; ``ddas.metadata`` fills in the rest later."""
        from ddas import metadata

        for entry, b3 in batch:
            if self._described >= metadata.QUEUE_SIZE:
                return
            name = os.path.basename(entry.location)
            if b3 and entry.fs is None and metadata.supported(name):
                metadata.schedule(self.view.url, b3, entry.location, name)
                self._described += 1

    def _collect(self) -> None:
        """Count the writes already done (a failed one raises here, early)."""
        while self._writes and self._writes[0].done():
            self.written += self._writes.pop(0).result()
        self.reporter.update(registered=self.written)

    def flush(self) -> None:
        """Write what is buffered and wait for every write; a failed write raises here."""
        self._send()
        try:
            for fut in self._writes:
                self.written += fut.result()
                self.reporter.update(registered=self.written)
        finally:
            self._writes = []

    def close(self) -> None:
        self._writer.shutdown(wait=True)

    def close_view(self) -> None:
        """Close the view's own connections (after the scan's event is written)."""
        if self._view.done() and self._view.exception() is None:
            self._view.result().close()
