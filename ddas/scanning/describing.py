"""Which files a scan hashes only so that what they say about themselves can be searched.

A scan reads a file only when its size collides with another's: a lone size cannot be a duplicate
(:mod:`ddas.scanning.plan`), and reading every file would cost a full pass over the storage. But a
copy without a hash has no content row, so no metadata: a NetCDF file of a unique size — almost
every NetCDF file — would never be found by its variables, though the user who scanned ``/data``
expects ``t2m`` to find the files there. So a file of a format DDAS reads
(:func:`ddas.metadata.supported`) is hashed even when its size is unique, within a budget, because
that is a full read: at most ``describe_bytes`` (``DDAS_SCAN_DESCRIBE_BYTES``, default 16 GiB) and
:data:`ddas.metadata.QUEUE_SIZE` files a scan, smallest first (the most files described for the
bytes read). Files left over stay ``unhashed`` and the report counts them; the next scan takes the
next ones, since a file hashed once is never read again while it is unchanged. Only local files
(the extractor opens a path) no larger than the extractor's own size budget are chosen.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ddas import metadata
from ddas.scanning.walk import FileEntry

DEFAULT_BYTES = 16 << 30


@dataclass(frozen=True)
class DescribeBudget:
    """How many bytes and files a scan may read to describe lone-size files."""

    max_bytes: int
    max_files: int = metadata.QUEUE_SIZE

    @classmethod
    def of(cls, describe_bytes: int | None) -> DescribeBudget | None:
        """The budget for ``describe_bytes`` (None: the environment's or the default; 0: off)."""
        if describe_bytes is None:
            describe_bytes = int(os.environ.get("DDAS_SCAN_DESCRIBE_BYTES", DEFAULT_BYTES))
        return cls(int(describe_bytes)) if describe_bytes > 0 else None

    def wanted(self, entry: FileEntry) -> bool:
        """Whether describing ``entry`` would be worth a read (a local file DDAS can read)."""
        return (
            entry.fs is None
            and entry.size <= metadata.budget_bytes()
            and metadata.supported(os.path.basename(entry.location))
        )

    def choose(self, entries: list[FileEntry]) -> tuple[list[FileEntry], int]:
        """The entries to hash now, smallest first within the budget; and how many are left."""
        chosen: list[FileEntry] = []
        spent = 0
        for entry in sorted(entries, key=lambda e: (e.size, e.location)):
            if len(chosen) >= self.max_files or spent + entry.size > self.max_bytes:
                break
            chosen.append(entry)
            spent += entry.size
        return chosen, len(entries) - len(chosen)
