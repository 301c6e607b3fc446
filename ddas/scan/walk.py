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
from collections.abc import Callable, Iterable
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


def walk_local(
    root: str,
    *,
    min_size: int,
    exclude: Excluder,
    follow_symlinks: bool,
    errors: list[ScanError],
    on_dir: Callable[[int], None] | None = None,
) -> tuple[list[FileEntry], int]:
    """Regular files of at least ``min_size`` bytes under ``root``; also how many were skipped as
    symbolic links (not followed). ``on_dir(n_files_so_far)`` is called after each directory."""
    out: list[FileEntry] = []
    append = out.append
    skipped_links = 0
    seen_dirs: set[tuple[int, int]] = set()
    try:
        st = os.stat(root)
    except OSError as exc:
        errors.append(ScanError(root, "unreadable-directory", exc.strerror or str(exc)))
        return out, 0
    if stat.S_ISREG(st.st_mode):
        if st.st_size >= min_size:
            append(FileEntry(root, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, st.st_uid))
        return out, 0
    seen_dirs.add((st.st_dev, st.st_ino))
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            it = os.scandir(directory)
        except OSError as exc:
            errors.append(ScanError(directory, "unreadable-directory", exc.strerror or str(exc)))
            continue
        with it:
            for entry in it:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not (exclude.active and exclude(entry.path, entry.name)) and (
                            not follow_symlinks or _first_visit(entry.stat(), seen_dirs)
                        ):
                            stack.append(entry.path)
                        continue
                    if entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                    elif entry.is_symlink():
                        st = _symlink_target(entry.path, errors)
                        if st is None:
                            continue
                        if not follow_symlinks:
                            skipped_links += 1
                            continue
                        if stat.S_ISDIR(st.st_mode):
                            if not (exclude.active and exclude(entry.path, entry.name)) and (
                                _first_visit(st, seen_dirs)
                            ):
                                stack.append(entry.path)
                            continue
                        if not stat.S_ISREG(st.st_mode):
                            errors.append(
                                ScanError(entry.path, "special-file", "not a regular file")
                            )
                            continue
                    else:
                        errors.append(
                            ScanError(
                                entry.path, "special-file", "FIFO, socket or device: not scanned"
                            )
                        )
                        continue
                except OSError as exc:  # vanished between readdir and lstat, or EACCES
                    errors.append(ScanError(entry.path, "unreadable", exc.strerror or str(exc)))
                    continue
                if st.st_size < min_size or (exclude.active and exclude(entry.path, entry.name)):
                    continue
                if not entry.path.isascii() and not _encodable(entry.path):
                    errors.append(
                        ScanError(
                            shown_path(entry.path),
                            "undecodable-name",
                            "file name is not valid UTF-8; rename it to register it",
                        )
                    )
                    continue
                append(
                    FileEntry(
                        entry.path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, st.st_uid
                    )
                )
        if on_dir is not None:
            on_dir(len(out))
    return out, skipped_links


def _symlink_target(path: str, errors: list[ScanError]) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        errors.append(ScanError(path, "broken-symlink", f"points to missing {os.readlink(path)}"))
    except OSError as exc:  # ELOOP, EACCES
        errors.append(ScanError(path, "broken-symlink", exc.strerror or str(exc)))
    return None


def _first_visit(st: os.stat_result, seen: set[tuple[int, int]]) -> bool:
    """When links are followed a directory can be reached twice, or forever (a link to an
    ancestor): enter each (device, inode) once."""
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


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
