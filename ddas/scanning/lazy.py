"""Hashing what scans registered ``unhashed``, lazily: only when, and only what, someone needs.

A scan does not read files whose size no other scanned file shares: they cannot be duplicates of
each other, and reading them all would cost a full pass over the storage. They are registered with
state ``unhashed`` (host, path, size, mtime, inode, owner). The moment they matter is when a fetch is
about to bring in a dataset *of the same size*: the fetch path calls ``hash_unhashed(registry,
size=n)``, which hashes just those copies (a handful, usually none) and registers their BLAKE3, after
which the ordinary lookup by digest finds them. An admin can also run it without ``size`` after a
scan to hash everything (the deep pass), e.g. in the scheduled notebook on quiet nights.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ddas import config
from ddas.records import CopyInfo
from ddas.scanning import hashing
from ddas.scanning.walk import FileEntry

if TYPE_CHECKING:  # pragma: no cover
    from ddas.registry import Registry


def _entry(copy: CopyInfo) -> FileEntry | None:
    """The copy as it is on storage now (None: it is gone)."""
    if copy.host == "":
        import fsspec

        fs, path = fsspec.core.url_to_fs(copy.location)
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return None
        from ddas.scanning.remote import _mtime_ns

        return FileEntry(
            copy.location, int(info["size"]), _mtime_ns(info), None, None, None, None, fs
        )
    try:
        st = os.stat(copy.location)
    except FileNotFoundError:
        return None
    return FileEntry(copy.location, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, st.st_uid)


def hash_unhashed(
    registry: Registry | str | None = None,
    size: int | None = None,
    *,
    limit: int | None = None,
    workers: int | None = None,
) -> list[CopyInfo]:
    """Hash this host's (and fsspec URLs') ``unhashed`` copies, optionally only those of ``size``.

    Returns the copies now hashed (state ``present``, with their ``blake3``). Copies that vanished
    are marked ``missing``; unreadable ones stay ``unhashed`` and are skipped.
    """
    from ddas.registry import Registry
    from ddas.registry.scans import ScannedCopy

    if not isinstance(registry, Registry):
        registry = Registry(registry)
    copies = registry.unhashed_copies(size=size, hosts=[config.hostname(), ""], limit=limit)
    if not copies:
        return []
    gone: list[int] = []

    def work(copy: CopyInfo) -> tuple[CopyInfo, FileEntry | None, str | None]:
        try:
            entry = _entry(copy)
            return copy, entry, None if entry is None else hashing.full(entry)[0]
        except OSError:
            return copy, None, ""

    from ddas.scanning.engine import default_workers

    scanned: list[ScannedCopy] = []
    with ThreadPoolExecutor(workers or default_workers()) as pool:
        for copy, entry, digest in pool.map(work, copies):
            if digest is None:
                gone.append(copy.id)
            elif entry is not None and digest:
                scanned.append(
                    ScannedCopy(
                        copy.location,
                        copy.host,
                        entry.size,
                        digest,
                        entry.mtime_ns,
                        entry.device,
                        entry.inode,
                        copy.owner,
                    )
                )
    if gone:
        registry.mark_missing(gone)
    if scanned:
        registry.register_scanned(scanned)
    done = {c.location for c in scanned}
    return [c for c in (registry.copy(x.id) for x in copies if x.location in done) if c]
