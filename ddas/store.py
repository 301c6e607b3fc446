"""The shared store: a content-addressed yet human-readable folder that a whole group can use.

Layout: ``<root>/<b3[:2]>/<b3>/<original-name>`` (a researcher browsing the store still sees
``era5_2020.nc``) plus ``<root>/.tmp/`` for downloads in flight. Directories are created ``2775``
(group-writable, setgid so the admin's group propagates) and finished files ``0444``, *whatever the
umask* — shared caches fail on permissions more than on anything else.

Every writer writes its own uniquely named temp file, fsyncs it, and links it into place atomically; a
crash leaves no final file (and, since registration comes after, no registry row). Temp files carry
the download's key so that the next holder of an expired lease can resume a dead holder's partial file;
:mod:`ddas.partials` keeps, next to each, the version its bytes belong to.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from ddas import config, partials
from ddas.hashes import file_blake3
from ddas.permissions import store_error
from ddas.records import CopyInfo

DIR_MODE = 0o2775
FILE_MODE = 0o444
TEMP_MODE = 0o664
_UNSAFE = re.compile(r"[\x00-\x1f/\\]")
_NAME_MAX = 200  # bytes; below the usual 255 so that tools may append a suffix


def shared_mkdir(path: Path, mode: int = DIR_MODE) -> Path:
    """Create ``path`` (and parents below an existing dir) group-writable with setgid, umask-proof
    (or with ``mode``: the JupyterHub service's store is writable by the service alone)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir()
            os.chmod(d, mode)
    return path


def safe_name(name: str) -> str:
    """A file name that is safe on disk and still recognisable (``../../etc/passwd`` -> ``passwd``).

    File systems limit names to 255 *bytes*: a long non-ASCII name is cut on a character boundary
    and keeps its extension, so ``.nc`` still tells what the file is.
    """
    base = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    base = "".join(c if _encodable(c) else "_" for c in base)  # lone surrogates from a URL
    if base in ("", ".", ".."):
        return "data"
    if len(os.fsencode(base)) <= _NAME_MAX:
        return base
    stem, dot, ext = base.rpartition(".")
    suffix = dot + ext if stem and len(os.fsencode(dot + ext)) <= 32 else ""
    head = (stem if suffix else base)[:_NAME_MAX]
    while len(os.fsencode(head + suffix)) > _NAME_MAX:
        head = head[:-1]
    return head + suffix


def _encodable(char: str) -> bool:
    try:
        os.fsencode(char)
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Verdict:
    """What verifying a copy found: ``ok``, or the state it must be marked with."""

    ok: bool
    state: str
    rehashed: bool = False


class Store:
    """A store rooted at ``root`` (default: ``DDAS_STORE``).

    ``dir_mode``/``temp_mode``: group-writable for a cooperative store shared by a group; a store
    owned by one writer (the JupyterHub service) overrides them so that users can only read.
    """

    dir_mode = DIR_MODE
    temp_mode = TEMP_MODE

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else config.store_root()
        try:
            shared_mkdir(self.root, self.dir_mode)
            self.tmp = shared_mkdir(self.root / ".tmp", self.dir_mode)
        except PermissionError:
            raise store_error(self.root, self.root / ".tmp") from None

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def content_dir(self, blake3: str) -> Path:
        return self.root / blake3[:2] / blake3

    def existing(self, blake3: str) -> Path | None:
        """The stored file of this content, whatever name it was stored under."""
        folder = self.content_dir(blake3)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.is_file(follow_symlinks=False):
                    return Path(entry.path)
        return None

    def contains(self, path: str | os.PathLike[str]) -> bool:
        try:
            Path(path).resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        return True

    # -- writing ---------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise :class:`ddas.errors.StorePermissionError` unless this user can create files in
        ``.tmp``: checked before a download starts, so that nothing is transferred in vain."""
        if not os.access(self.tmp, os.W_OK | os.X_OK):
            raise store_error(self.root, self.tmp)

    def temp_path(self, key: str) -> Path:
        """A new, uniquely named temp file path for the download identified by ``key``."""
        return self.tmp / f"{_key_tag(key)}.{uuid.uuid4().hex}.part"

    def open_temp(self, path: Path, *, append: bool = False):
        """Open a temp file group-writable regardless of umask."""
        try:
            fd = os.open(
                path,
                os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC),
                self.temp_mode,
            )
        except PermissionError:
            raise store_error(self.root, path.parent) from None
        with contextlib.suppress(OSError):
            os.fchmod(fd, self.temp_mode)
        return os.fdopen(fd, "ab" if append else "wb", buffering=0)

    def adopt_partial(self, key: str) -> Path | None:
        """Take over the largest partial file left for ``key`` by a dead holder (for resume).

        Only call this while holding the download lease for ``key``: the lease guarantees the
        partial's writer is gone. Renaming it to a fresh unique name makes the adoption atomic;
        its sidecar (the version it holds: :func:`ddas.partials.read_meta`) moves with it.
        """
        return partials.adopt(self.tmp, _key_tag(key), self.temp_path(key))

    def commit(self, temp: Path, blake3: str, name: str) -> Path:
        """Move a finished, fsynced temp file into place; if the content is stored already
        (another URL or user got there first), keep that one and drop ours."""
        existing = self.existing(blake3)
        if existing is not None:
            temp.unlink(missing_ok=True)
            return existing
        try:
            folder = shared_mkdir(self.content_dir(blake3), self.dir_mode)
        except PermissionError:
            temp.unlink(missing_ok=True)
            raise store_error(self.root, self.content_dir(blake3)) from None
        final = folder / safe_name(name)
        os.chmod(temp, FILE_MODE)
        try:
            os.link(temp, final)  # atomic and never overwrites; rename() would silently replace
        except FileExistsError:
            pass
        except PermissionError:
            temp.unlink(missing_ok=True)
            raise store_error(self.root, folder) from None
        except OSError:  # file systems without hard links
            if not final.exists():
                os.replace(temp, final)
        temp.unlink(missing_ok=True)
        _fsync_dir(folder)
        return self.existing(blake3) or final

    def quarantine(self, path: str | os.PathLike[str]) -> Path | None:
        """Move a corrupt stored file out of its content folder (kept for inspection in
        ``.corrupt/``), so that a fresh download of that content can take its place."""
        src = Path(path)
        if not self.contains(src) or not src.exists():
            return None
        dest_dir = shared_mkdir(self.root / ".corrupt", self.dir_mode)
        dest = dest_dir / f"{src.parent.name[:16]}-{uuid.uuid4().hex[:8]}-{src.name}"
        os.replace(src, dest)
        return dest

    def cleanup(self, max_age: float | None = None, need_bytes: int = 0) -> int:
        """Remove partial downloads older than ``max_age`` seconds (default ``DDAS_PARTIAL_DAYS``)
        and, when the store's disk cannot hold ``need_bytes`` more, the oldest idle ones."""
        age = max_age if max_age is not None else config.partial_days() * 86400.0
        return partials.cleanup(self.tmp, age, need_bytes)

    # -- verification ----------------------------------------------------------------------------

    def verify(self, copy: CopyInfo, *, rehash: bool = False) -> Verdict:
        """Check a local copy cheaply: unchanged (size, mtime_ns) means trusted; else re-hash.

        This is the (size, mtime)-keyed hash cache users of pooch asked for: no re-hash on every
        access, but a modified or truncated file is caught before anyone is handed it.
        """
        verdict = self._check(copy, rehash)
        if verdict.ok or copy.host in ("", config.hostname()) or self.contains(copy.location):
            return verdict
        # A path recorded on another machine, outside our shared store: what this machine sees
        # there (nothing, or some other file) says nothing about that copy. Never mark it.
        return Verdict(False, "unreachable")

    def _check(self, copy: CopyInfo, rehash: bool) -> Verdict:
        try:
            st = os.stat(copy.location)
        except FileNotFoundError:
            return Verdict(False, "missing")
        except OSError:
            return Verdict(False, "unreadable")
        if not os.access(copy.location, os.R_OK):
            return Verdict(False, "unreadable")
        # No recorded mtime means no fingerprint to trust: re-hash (the caller then records one).
        if not rehash and st.st_size == copy.size and st.st_mtime_ns == copy.mtime_ns:
            return Verdict(True, "present")
        if st.st_size != copy.size:
            return Verdict(False, "corrupt")
        matches = copy.blake3 is not None and file_blake3(copy.location) == copy.blake3
        return Verdict(matches, "present" if matches else "corrupt", rehashed=True)


def _key_tag(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
