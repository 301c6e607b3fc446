"""Deciding what a scan must read, and what it already knows (the incremental part).

Pure bookkeeping, no I/O. Files arrive from the walk a directory at a time; given the copies the
registry remembers under the same roots, the plan works out

* each file's status: ``new``, ``changed`` (its (device, inode, size, mtime_ns) fingerprint moved, or
  it was ``missing``/``corrupt``), or ``unchanged`` (never read again; a known hash is reused). A
  changed file that had a hash is hashed again, so lookups by digest stay true;
* its *identity*: paths on one inode are one copy (hard links are linked, never waste);
* what must be read: a file without a known hash whose size another identity shares. Small files
  (read whole in one ``pread``) are handed out *as soon as* their size collides, so hashing runs
  while the walk goes on; larger ones are grouped by size when the walk is over (:meth:`tasks`),
  because their cheap head+tail samples are compared within the group. A lone size cannot be a
  duplicate: it is registered ``unhashed`` without a read — unless it is a file of a format DDAS
  describes, which is hashed within the scan's budget so that its metadata can be extracted
  (:mod:`ddas.scanning.describing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ddas.scanning.hashing import WHOLE_BELOW
from ddas.scanning.walk import FileEntry

if TYPE_CHECKING:  # pragma: no cover - keeps `import ddas.scanning` free of SQLAlchemy
    from ddas.scanning.describing import DescribeBudget

NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"
#: A copy the registry knows: a ``ddas.registry.known.KnownCopy`` or the plain row it is made
#: of, read by position: (id, location, state, size, mtime_ns, device, inode, blake3)
KnownRow = tuple
_LIVE = frozenset(("present", "unhashed"))  #: states whose fingerprint a rescan can trust
Task = tuple[list[FileEntry], dict[tuple, str], set[tuple]]


class Plan:
    """What is known and what must be read; filled in as the walk, samples and hashes arrive."""

    def __init__(
        self, known: dict[str, KnownRow] | None = None, describe: DescribeBudget | None = None
    ) -> None:
        # The known copies the walk has not met yet: each leaves the dict when its path is
        # walked, so that a rescan of a million files holds their walked entries, not those and
        # a million known copies besides (a third of its peak memory). ``None``: they arrive
        # a slice at a time (:meth:`learn`) while the walk goes on, until :meth:`learned_all`.
        self.known, self.describe = {} if known is None else known, describe
        self.complete = known is not None  # every known copy is in ``known`` or was met
        self.waiting: dict[str, FileEntry] = {}  # walked; its known copy (if any) yet to come
        self.entries: list[FileEntry] = []
        self.status: list[str] = []
        # per entry, the content hash its registry row has (None: none, or not registered);
        # mostly the very string ``blake3`` holds for its identity, so 8 bytes an entry
        self.registered: list[str | None] = []
        self.blake3: dict[tuple, str] = {}  # identity -> content hash (known or computed)
        # identity -> index into entries, or a list of them (hard links: rare, so a million
        # files hold a million ints here, not a million one-element lists: 60 MB less)
        self.paths: dict[tuple, int | list[int]] = {}
        self.rep = _FirstPath(self.entries, self.paths)  # identity -> the path read for it
        self.failed: set[tuple] = set()  # identities whose read failed: not registered this time
        self.rehash: set[tuple] = set()  # changed files that had a hash: hash them again
        self.by_size: dict[int, list[tuple]] = {}
        # small files given to a reader during the walk, each identity mapped to itself: a
        # reader's result carries a new tuple for it (a copy, from a cluster), and
        # :meth:`hashed` keys the hash by this one instead (a million files: 56 MB less)
        self.handed_out: dict[tuple, tuple] = {}
        self.dirty: list[tuple] = []  # identities with a new or changed path: rows to write
        self.groups: list[list[tuple]] = []
        self.candidates = 0
        self.described: set[tuple] = set()  # lone sizes hashed so that they can be described
        self.describe_left = 0  # lone files DDAS could describe, left unhashed by the budget

    def add(self, batch: list[FileEntry]) -> list[FileEntry]:
        """Record walked files; return the small ones that can be hashed now (their size
        collides and their hash is unknown). Until every known copy has arrived, a file whose
        copy has not waits (its status, and so whether it must be read, depends on it)."""
        if self.complete:
            return self._add(batch)
        known, waiting = self.known, self.waiting
        met = [e for e in batch if e[0] in known]
        if len(met) < len(batch):
            waiting.update((e[0], e) for e in batch if e[0] not in known)
        return self._add(met)

    def learn(self, copies: Iterable[KnownRow]) -> list[FileEntry]:
        """Known copies from the registry, a slice of them: the walked files that waited for
        them are recorded now (what :meth:`add` returns), the others wait for their file."""
        known, waiting_pop, met = self.known, self.waiting.pop, []
        for k in copies:
            location = k[1]
            known[location] = k
            entry = waiting_pop(location, None)
            if entry is not None:
                met.append(entry)
        return self._add(met)

    def learned_all(self) -> list[FileEntry]:
        """Every known copy has arrived: the files still waiting are new."""
        self.complete = True
        waiting, self.waiting = self.waiting, {}
        return self._add(waiting.values())

    def _add(self, batch: Iterable[FileEntry]) -> list[FileEntry]:
        ready: list[FileEntry] = []
        entries, status_append, known_pop = self.entries, self.status.append, self.known.pop
        registered_append, paths_of, by_size = self.registered.append, self.paths, self.by_size
        for entry in batch:  # the hot loop of a rescan: kept flat on purpose
            i = len(entries)
            entries.append(entry)
            location, size, mtime_ns, device, inode = entry[:5]
            ident = (device, inode) if inode is not None else (None, location)
            k = known_pop(location, None)
            if k is None:
                status = NEW
            elif (  # a KnownRow, by position
                k[3] == size
                and k[4] == mtime_ns
                and k[6] == inode
                and k[5] == device
                and k[2] in _LIVE
            ):
                status = UNCHANGED
            else:
                status = CHANGED
            status_append(status)
            registered_append(None if k is None else k[7])
            if status is not UNCHANGED:
                self.dirty.append(ident)
            paths = paths_of.get(ident)
            if paths is not None:  # another path to a known inode: a hard link
                paths_of[ident] = [paths, i] if paths.__class__ is int else [*paths, i]
                continue
            paths_of[ident] = i
            if status is UNCHANGED:
                if k[7] and k[2] == "present":
                    self.blake3[ident] = k[7]
            elif k is not None and k[7]:
                self.rehash.add(ident)
            members = by_size.get(size)
            if members is None:
                by_size[size] = [ident]
                continue
            members.append(ident)
            if size <= WHOLE_BELOW:
                ready.extend(self._hand_out(members if len(members) == 2 else [ident]))
        return ready

    def _hand_out(self, idents: list[tuple]) -> list[FileEntry]:
        out = []
        for ident in idents:
            if ident not in self.blake3 and ident not in self.handed_out:
                self.handed_out[ident] = ident
                out.append(self.rep[ident])
        return out

    def hashed(self, digests: dict[tuple, str]) -> None:
        """Record content hashes a reader found, under the plan's own identity objects."""
        blake3, same = self.blake3, self.handed_out.get
        for ident, digest in digests.items():
            blake3[same(ident, ident)] = digest

    def finish(self) -> None:
        """The walk is over: settle the size groups of larger files, count candidates, and
        choose the lone files to hash for their metadata."""
        lone: list[tuple] = []
        for idents in self.by_size.values():
            if len(idents) < 2:
                lone.append(idents[0])
                continue
            self.candidates += len(idents)
            if self.rep[idents[0]].size <= WHOLE_BELOW:
                continue
            known, status, first = self.blake3, self.status, self.first
            fresh = any(status[first(i)] is not UNCHANGED for i in idents)
            if fresh and not all(i in known for i in idents):
                self.groups.append(idents)
        # a hard link of it is unchanged: its hash still holds (no set of every identity hashed
        # to subtract: a million files, 64 MB for a moment)
        blake3, handed_out = self.blake3, self.handed_out
        self.rehash = {i for i in self.rehash if i not in blake3 and i not in handed_out}
        self.known = dict(self.known)  # what is left, in a table sized for it (1M entries: 40 MB)
        if self.describe is not None:
            self._choose_described(lone)

    def _choose_described(self, lone: list[tuple]) -> None:
        """Lone-size files of a format DDAS reads, without a hash: hash what the budget allows."""
        todo = [
            self.rep[i]
            for i in lone
            if i not in self.blake3 and i not in self.rehash and self.describe.wanted(self.rep[i])
        ]
        chosen, self.describe_left = self.describe.choose(todo)
        self.described = {e.ident for e in chosen}

    # -- reading ---------------------------------------------------------------------------------

    def tasks(self) -> list[Task]:
        """One task per size group of larger files that needs reading, plus lone changed files
        to hash again or to describe: (one path per identity, hashes already known, identities that must be
        hashed). Largest groups first, so the last task to finish is a small one."""
        out = []
        for group in self.groups:
            known = {i: self.blake3[i] for i in group if i in self.blake3}
            out.append(([self.rep[i] for i in group], known, self.rehash.intersection(group)))
        grouped = {i for g in self.groups for i in g}
        out.extend(([self.rep[i]], {}, {i}) for i in (self.rehash | self.described) - grouped)
        out.sort(key=lambda t: -t[0][0].size * len(t[0]))
        return out

    def settled(self) -> set[tuple]:
        """Identities whose rows can be written once the walk is over: those with a new or
        changed path that no reader is busy with (unchanged files need no row)."""
        later, out = self.read_later, self.handed_out
        return {i for i in self.dirty if i not in later and i not in out}

    @property
    def read_later(self) -> set[tuple]:
        """Identities whose registration waits for :meth:`tasks` to be read."""
        return {i for g in self.groups for i in g} | self.rehash | self.described

    # -- what to write ---------------------------------------------------------------------------

    def writes(self, idents: Iterable[tuple]) -> list[tuple[FileEntry, str | None]]:
        """(file, content hash) of these identities' paths whose registry row must change."""
        out: list[tuple[FileEntry, str | None]] = []
        entries, status, registered, failed = (
            self.entries,
            self.status,
            self.registered,
            self.failed,
        )
        for ident in idents:
            if ident in failed:
                continue
            b3 = self.blake3.get(ident)
            for i in self.indexes(ident):
                if status[i] is not UNCHANGED or registered[i] != b3:
                    out.append((entries[i], b3))
        return out

    def indexes(self, ident: tuple) -> Sequence[int]:
        """The entries (walk order) of every path of an identity (none: it was not walked)."""
        paths = self.paths.get(ident, ())
        return (paths,) if paths.__class__ is int else paths  # type: ignore[return-value]

    def first(self, ident: tuple) -> int:
        """The entry of an identity's first path (the one read for it)."""
        paths = self.paths[ident]
        return paths if paths.__class__ is int else paths[0]  # type: ignore[return-value]

    def vanished(self) -> list[KnownRow]:
        """Known copies under the roots that the walk did not find (candidates for ``missing``):
        those left in ``known``, since every path walked took its own out (the usual rescan:
        none)."""
        return [k for k in self.known.values() if k[2] != "missing"]


class _FirstPath:
    """``rep[identity]``: the first path walked of an identity, the one that is read. A view on
    ``entries`` and ``paths`` rather than a third dictionary (a million files: 50 MB less)."""

    __slots__ = ("_entries", "_paths")

    def __init__(self, entries: list[FileEntry], paths: dict[tuple, int | list[int]]) -> None:
        self._entries, self._paths = entries, paths

    def __getitem__(self, ident: tuple) -> FileEntry:
        paths = self._paths[ident]
        return self._entries[paths if paths.__class__ is int else paths[0]]  # type: ignore[index]
