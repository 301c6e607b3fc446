"""The registry writes of a full scan, alone: a floor for ``ddas scan`` on many small files.

A scan that registers every file pays at least what writing those rows costs (the contents and
copies tables, their indexes, the trigram index of the names, the running tallies), however fast
it walks and hashes; jdupes registers nothing. This reads the rows a full scan registered from its
registry (untimed), then times ``Registry.register_scanned`` of the same rows, in the scan's own
batches (``ddas.scanning.registrar.BATCH``), into a fresh registry: one process, no walk, no
reads. ``benchmarks/scan.py`` runs it after each full scan and prints it as a row of its table.

    python benchmarks/scan_writes.py SOURCE_URL FRESH_URL   # prints {"wall": s, "cpu": s}
"""

from __future__ import annotations

import json
import sys
import time

from sqlalchemy import text

from ddas.registry import Registry
from ddas.registry.scans import ScannedCopy
from ddas.scanning.registrar import BATCH


def scanned_rows(url: str) -> list[ScannedCopy]:
    """Every copy the scan registered, as the scan handed it to the registry."""
    registry = Registry(url)
    sql = text(
        "SELECT c.location, c.host, c.size, t.blake3, c.mtime_ns, c.device, c.inode, c.owner"
        " FROM copies c LEFT JOIN contents t ON t.id = c.content_id ORDER BY c.id"
    )
    with registry.engine.connect() as conn:
        return [ScannedCopy(*row) for row in conn.execute(sql)]


def main() -> None:
    source, fresh = sys.argv[1:3]
    rows = scanned_rows(source)
    registry = Registry(fresh)  # migrated before the clock starts
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), BATCH):
        registry.register_scanned(rows[start : start + BATCH], batch_size=BATCH)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"rows": len(rows), "wall": wall, "cpu": cpu}))


if __name__ == "__main__":
    main()
