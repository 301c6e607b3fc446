"""Walking local storage: ``os.scandir``, one ``lstat`` per regular file, nothing opened.

The walk is the floor of every scan's cost (a rescan of unchanged storage does nothing else), so it
uses the directory entry's type (no syscall) to tell files, directories and links apart and calls
``lstat`` only for regular files. What cannot be scanned is *reported*, never fatal: unreadable
directories, dangling symbolic links, FIFOs/sockets/devices (opening a FIFO would block the scan).
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple


class FileEntry(NamedTuple):
    """A regular file found by a scan; ``fs`` is the fsspec filesystem for remote roots."""

    location: str
    size: int
    mtime_ns: int | None
    device: int | None
    inode: int | None
    uid: int | None
    etag: str | None = None
    fs: Any = None

    @property
    def ident(self) -> tuple:
        """What makes two paths one copy: the inode locally (hard links), the URL remotely."""
        return (self.device, self.inode) if self.inode is not None else (None, self.location)


class ScanError(NamedTuple):
    path: str
    kind: str  # unreadable-directory | broken-symlink | special-file | unreadable | changed
    message: str


class Excluder:
    """Glob patterns a user excludes: ``*.tmp`` matches names, ``/shared/scratch/*`` full paths.

    Patterns without a ``/`` are matched against each file or directory *name* (like rsync and
    .gitignore); patterns with one against the whole path. Excluded directories are not entered.
    """

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        names = [p for p in patterns if "/" not in p]
        paths = [p.rstrip("/") for p in patterns if "/" in p]
        self._name = re.compile("|".join(fnmatch.translate(p) for p in names)) if names else None
        self._path = re.compile("|".join(fnmatch.translate(p) for p in paths)) if paths else None
        self.active = bool(names or paths)

    def __call__(self, path: str, name: str | None = None) -> bool:
        if self._name is not None and self._name.match(name or path.rsplit("/", 1)[-1]):
            return True
        return self._path is not None and self._path.match(path) is not None


class WalkCounts(NamedTuple):
    """What a walk passed over on purpose (not errors): links not followed, links out of bounds."""

    skipped_symlinks: int = 0
    outside_roots: int = 0


def inside(real: str, bounds: Sequence[str]) -> bool:
    """Whether the resolved path ``real`` is one of ``bounds`` (resolved roots) or below one."""
    return any(real == b or real.startswith(b if b.endswith("/") else b + "/") for b in bounds)


class LocalWalk:
    """One walk of one local root: ``os.scandir``, one ``lstat`` per regular file.

    A directory is entered by its resolved path (``real``, computed without a syscall for plain
    subdirectories, with ``realpath`` for followed links), and a followed link whose target
    resolves outside ``bounds`` is skipped and counted: a link to ``/etc`` inside a scan root
    must not take the scan there. Iterating yields the files of one directory at a time, so the
    caller can hash while the walk goes on. Subfolders are entered in name order, close to
    the order of the registry's (host, location) index, in which a rescan reads what it knows
    of them (:mod:`ddas.scanning.known`): the known copies the walk has not reached yet, and
    the walked files whose copy has not arrived yet, stay few.
    """

    def __init__(
        self,
        *,
        min_size: int,
        exclude: Excluder,
        follow_symlinks: bool,
        errors: list[ScanError],
        bounds: Sequence[str] = (),
    ) -> None:
        self.min_size, self.exclude, self.follow = min_size, exclude, follow_symlinks
        self.errors, self.bounds = errors, list(bounds)
        self.skipped_links = 0
        self.outside = 0
        self._seen_dirs: set[tuple[int, int]] = set()
        # One int object per device and per owner, not one per file: every file's stat gives
        # fresh ones (28 bytes each above 256), and a million entries keep theirs to the end.
        self._shared: dict[int, int] = {}
        self._stack: list[tuple[str, str]] = []  # (path as walked, resolved path)

    @property
    def counts(self) -> WalkCounts:
        return WalkCounts(self.skipped_links, self.outside)

    def walk(self, root: str, *, recurse: bool = True) -> Iterator[list[FileEntry]]:
        """Files under ``root`` (already resolved), one list per directory; ``recurse=False``
        lists ``root``'s own files and leaves its subdirectories to other walks."""
        try:
            st = os.stat(root)
        except OSError as exc:
            self._error(root, "unreadable-directory", exc)
            return
        if stat.S_ISREG(st.st_mode):
            if st.st_size >= self.min_size:
                yield [FileEntry(root, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, st.st_uid)]
            return
        self._seen_dirs.add((st.st_dev, st.st_ino))
        self._stack.append((root, root))
        first = True
        while self._stack:
            path, real = self._stack.pop()
            found = self._directory(path, real)
            if first and not recurse:  # plain subfolders are other walks'; followed links ours
                self._stack = [(p, r) for p, r in self._stack if p != r]
            first = False
            if found:
                yield found

    def _directory(self, path: str, real: str) -> list[FileEntry]:
        out: list[FileEntry] = []
        try:
            it = os.scandir(path)
        except OSError as exc:
            self._error(path, "unreadable-directory", exc)
            return out
        plain = not self.exclude.active  # no pattern to test: the common file needs no call
        min_size, append, shared = self.min_size, out.append, self._shared.setdefault
        stack, pushed = self._stack, len(self._stack)
        with it:
            for entry in it:
                try:
                    if plain and entry.is_file(follow_symlinks=False):  # the hot path, flat
                        st = entry.stat(follow_symlinks=False)
                        if st.st_size < min_size:
                            continue
                        if entry.path.isascii():
                            append(
                                FileEntry(
                                    entry.path,
                                    st.st_size,
                                    st.st_mtime_ns,
                                    shared(st.st_dev, st.st_dev),
                                    st.st_ino,
                                    shared(st.st_uid, st.st_uid),
                                )
                            )
                            continue
                    found = self._entry(entry, real)
                except OSError as exc:  # vanished between readdir and lstat, or EACCES
                    self._error(entry.path, "unreadable", exc)
                    continue
                if found is not None:
                    append(found)
        if len(stack) - pushed > 1:  # subfolders in name order (the stack pops the last first)
            stack[pushed:] = sorted(stack[pushed:], reverse=True)
        return out

    def _entry(self, entry: os.DirEntry[str], real: str) -> FileEntry | None:
        """The file ``entry`` is, if it is one to register; directories go on the stack."""
        if entry.is_dir(follow_symlinks=False):
            if self._wanted(entry) and (not self.follow or self._first_visit(entry.stat())):
                self._stack.append((entry.path, f"{real}/{entry.name}"))
            return None
        if entry.is_file(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
        elif entry.is_symlink():
            st = self._through_link(entry)
            if st is None:
                return None
        else:
            self.errors.append(
                ScanError(entry.path, "special-file", "FIFO, socket or device: not scanned")
            )
            return None
        return self._file(entry, st)

    def _through_link(self, entry: os.DirEntry[str]) -> os.stat_result | None:
        """The regular file a symbolic link leads to, when links are followed and it stays in
        bounds; a linked directory is put on the stack instead (once per inode)."""
        st = _symlink_target(entry.path, self.errors)
        if st is None:
            return None
        if not self.follow:
            self.skipped_links += 1
            return None
        target = os.path.realpath(entry.path)
        if self.bounds and not inside(target, self.bounds):
            self.outside += 1
            return None
        if stat.S_ISDIR(st.st_mode):
            if self._wanted(entry) and self._first_visit(st):
                self._stack.append((entry.path, target))
            return None
        if not stat.S_ISREG(st.st_mode):
            self.errors.append(ScanError(entry.path, "special-file", "not a regular file"))
            return None
        return st

    def _file(self, entry: os.DirEntry[str], st: os.stat_result) -> FileEntry | None:
        if st.st_size < self.min_size or not self._wanted(entry):
            return None
        path = entry.path
        if not path.isascii() and not _encodable(path):
            self.errors.append(
                ScanError(
                    shown_path(path),
                    "undecodable-name",
                    "file name is not valid UTF-8; rename it to register it",
                )
            )
            return None
        return FileEntry(path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, st.st_uid)

    def _wanted(self, entry: os.DirEntry[str]) -> bool:
        return not (self.exclude.active and self.exclude(entry.path, entry.name))

    def _first_visit(self, st: os.stat_result) -> bool:
        """When links are followed a directory can be reached twice, or forever (a link to an
        ancestor): enter each (device, inode) once."""
        key = (st.st_dev, st.st_ino)
        if key in self._seen_dirs:
            return False
        self._seen_dirs.add(key)
        return True

    def _error(self, path: str, kind: str, exc: OSError) -> None:
        self.errors.append(ScanError(path, kind, exc.strerror or str(exc)))


def _symlink_target(path: str, errors: list[ScanError]) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        errors.append(ScanError(path, "broken-symlink", f"points to missing {os.readlink(path)}"))
    except OSError as exc:  # ELOOP, EACCES
        errors.append(ScanError(path, "broken-symlink", exc.strerror or str(exc)))
    return None


def _encodable(path: str) -> bool:
    """Names that are not UTF-8 reach Python as surrogate escapes, which no database accepts."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_path(path: str) -> str:
    """A path safe to print and store: undecodable bytes become U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
