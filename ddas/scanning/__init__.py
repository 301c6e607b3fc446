"""Scanning shared storage for datasets that arrived without ``ddas.fetch`` (wget, browsers, rsync).

The package behind ``ddas.scan(roots)``, as :mod:`ddas.fetching` is the one behind ``ddas.fetch``:
it registers what a scan finds and reports duplicates on disk; ``hash_unhashed`` hashes the files a
scan registered without reading them. See :mod:`ddas.scanning.engine` for how, ``docs/scanning.md``
for scheduling scans, and :mod:`ddas.scanning.lifecycle` for gc, verify and reclaim.
"""

from __future__ import annotations

from ddas.scanning.engine import scan
from ddas.scanning.lazy import hash_unhashed
from ddas.scanning.progress import ScanProgress
from ddas.scanning.report import ScanReport

__all__ = ["ScanProgress", "ScanReport", "hash_unhashed", "scan"]
