"""Deciding what a scan must read, and what it already knows (the incremental part).

Pure bookkeeping, no I/O: given the files a walk found and the copies the registry remembers under
the same roots, work out

* each file's status: ``new``, ``changed`` (its (device, inode, size, mtime_ns) fingerprint moved, or
  it was ``missing``/``corrupt``), or ``unchanged`` (never read again; a known hash is reused). A
  changed file that had a hash is hashed again, so lookups by digest stay true;
* its *identity*: paths on one inode are one copy (hard links are linked, never waste);
* the size groups that need reading: two or more identities of one size, at least one of them new or
  changed, and at least one without a known hash. A group of unchanged files was settled by an
  earlier scan; a lone size cannot be a duplicate, so it is registered ``unhashed`` without a read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ddas.scan.walk import FileEntry

if TYPE_CHECKING:  # pragma: no cover - keeps `import ddas.scan` free of SQLAlchemy
    from ddas.registry.scans import KnownCopy

NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"


class Plan:
    """What is known and what must be read; filled in further as samples and hashes arrive."""

    def __init__(self, entries: list[FileEntry], known: dict[str, KnownCopy]) -> None:
        self.entries = entries
        self.known = known
        self.status: list[str] = []
        self.blake3: dict[tuple, str] = {}  # identity -> content hash (known or computed)
        self.paths: dict[tuple, list[int]] = {}  # identity -> indexes into entries
        self.rep: dict[tuple, FileEntry] = {}  # identity -> the path read for it
        self.failed: set[tuple] = set()  # identities whose read failed: not registered this time
        self.rehash: set[tuple] = set()  # changed files that had a hash: hash them again
        fresh: set[tuple] = set()
        by_size: dict[int, list[tuple]] = defaultdict(list)
        status_append, known_get = self.status.append, known.get
        paths_of, rep, blake3 = self.paths, self.rep, self.blake3
        for i, entry in enumerate(entries):  # the hot loop of a rescan: kept flat on purpose
            location, size, mtime_ns, device, inode = entry[:5]
            ident = (device, inode) if inode is not None else (None, location)
            k = known_get(location)
            if k is None:
                status = NEW
            elif (
                k.size == size
                and k.mtime_ns == mtime_ns
                and k.inode == inode
                and k.device == device
                and k.state in ("present", "unhashed")
            ):
                status = UNCHANGED
            else:
                status = CHANGED
            status_append(status)
            paths = paths_of.get(ident)
            if paths is None:
                paths_of[ident] = [i]
                rep[ident] = entry
                by_size[size].append(ident)
            else:
                paths.append(i)
            if status is UNCHANGED:
                if k.blake3 and k.state == "present":
                    blake3[ident] = k.blake3
            else:
                fresh.add(ident)
                if k is not None and k.blake3:
                    self.rehash.add(ident)
        self.groups: list[list[tuple]] = []
        self.candidates = 0
        for idents in by_size.values():
            if len(idents) < 2:
                continue
            self.candidates += len(idents)
            if any(i in fresh for i in idents) and not all(i in self.blake3 for i in idents):
                self.groups.append(idents)
        self.rehash -= set(self.blake3)  # a hard link of it is unchanged: its hash still holds
        self.pending: set[tuple] = {i for g in self.groups for i in g} | self.rehash
        self.settled: set[tuple] = set(self.paths) - self.pending

    # -- reading ---------------------------------------------------------------------------------

    def tasks(self) -> list[tuple[list[FileEntry], dict[tuple, str], set[tuple]]]:
        """One task per size group that needs reading, plus lone changed files to hash again:
        (one path per identity, hashes already known, identities that must be hashed).
        Largest groups first, so the last task to finish is a small one."""
        out = []
        for group in self.groups:
            known = {i: self.blake3[i] for i in group if i in self.blake3}
            out.append(([self.rep[i] for i in group], known, self.rehash.intersection(group)))
        grouped = {i for g in self.groups for i in g}
        out.extend(([self.rep[i]], {}, {i}) for i in self.rehash - grouped)
        out.sort(key=lambda t: -t[0][0].size * len(t[0]))
        return out

    # -- what to write ---------------------------------------------------------------------------

    def writes(self, idents: Iterable[tuple]) -> list[tuple[FileEntry, str | None]]:
        """(file, content hash) of these identities' paths whose registry row must change."""
        out: list[tuple[FileEntry, str | None]] = []
        for ident in idents:
            if ident in self.failed:
                continue
            b3 = self.blake3.get(ident)
            for i in self.paths[ident]:
                k = self.known.get(self.entries[i].location)
                if self.status[i] is not UNCHANGED or (k is not None and k.blake3 != b3):
                    out.append((self.entries[i], b3))
        return out

    def vanished(self, seen: set[str]) -> list[KnownCopy]:
        """Known copies under the roots that the walk did not find (candidates for ``missing``)."""
        return [k for loc, k in self.known.items() if loc not in seen and k.state != "missing"]
