"""Scanning shared storage for datasets that arrived without ``ddas.fetch`` (wget, browsers, rsync).

``ddas.scan(roots)`` registers what it finds and reports duplicates on disk; ``hash_unhashed`` hashes
the files a scan registered without reading them. See :mod:`ddas.scan.engine` for how, and
``docs/scanning.md`` for scheduling scans.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from ddas.scan.engine import scan
from ddas.scan.lazy import hash_unhashed
from ddas.scan.progress import ScanProgress
from ddas.scan.report import ScanReport

__all__ = ["ScanProgress", "ScanReport", "hash_unhashed", "scan"]


class _CallableModule(types.ModuleType):
    """``ddas.scan`` names both this package and its main function. ``ddas`` resolves the name
    lazily to the function, but importing any submodule (``ddas.scan.cli``) makes Python bind the
    *package* to ``ddas.scan`` again; calling the package forwards to :func:`scan`, so
    ``ddas.scan(...)`` works whichever object the name holds."""

    def __call__(self, *args: Any, **kwargs: Any) -> ScanReport:
        return scan(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
