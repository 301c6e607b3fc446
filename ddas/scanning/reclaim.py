"""``ddas reclaim``: give duplicate copies on one file system back their space, as ``jdupes -L`` does.

For each duplicate group the registry knows on this host, the oldest copy is kept and every other
copy *on the same file system* is replaced by a link to it: a reflink (a copy-on-write clone, the
files stay independent) where the file system offers one, else a hard link (one inode: a later
edit through either name changes both, which is why it is offered only where owner and mode agree).
Before a copy is replaced its bytes are compared with the kept copy's, so a file changed since the
scan is never lost; the new link is made beside it under a temp name and renamed over it, so there
is no moment without the file.

Nothing is replaced across owners unless ``force_owner`` is given by an admin (root): the kept copy's
owner would own the other user's file. Copies whose mode differs from the kept one's (a read-only
copy beside a writable one) are skipped: the link would change what its owner may do with it.
It is a dry run unless ``apply``.
"""

from __future__ import annotations

import errno
import fcntl
import filecmp
import os
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ddas import config
from ddas.errors import DDASError

if TYPE_CHECKING:  # pragma: no cover
    from ddas.records import CopyInfo
    from ddas.registry import Registry

FICLONE = 0x40049409  #: Linux ioctl: clone ``src`` into ``dst`` (Btrfs, XFS, bcachefs, ...)


@dataclass
class ReclaimReport:
    """Copies replaced (or, in a dry run, replaceable) by links, and those skipped with why."""

    linked: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    reclaimed_bytes: int = 0
    applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def reclaim(
    registry: Registry | str | None = None,
    *,
    apply: bool = False,
    mode: str = "auto",
    force_owner: bool = False,
) -> ReclaimReport:
    """Replace duplicate copies by links to one kept copy (``mode``: auto, reflink, hardlink)."""
    from ddas.registry import Registry

    if mode not in ("auto", "reflink", "hardlink"):
        raise ValueError(f"mode must be auto, reflink or hardlink, not {mode!r}")
    if force_owner and os.geteuid() != 0:
        raise DDASError("--force-owner replaces other users' files: only an admin (root) may")
    reg = registry if isinstance(registry, Registry) else Registry(registry)
    report = ReclaimReport(applied=apply)
    host = config.hostname()
    for group in reg.duplicates().items:
        local = [c for c in group.copy_list if c.host == host and c.state == "present"]
        for keep, copies in _by_file_system(local):
            for copy in copies:
                _one(reg, keep, copy, report, apply=apply, mode=mode, force_owner=force_owner)
    return report


def _by_file_system(copies: list[CopyInfo]) -> list[tuple[CopyInfo, list[CopyInfo]]]:
    """Per device: the oldest copy to keep, and the others on other inodes."""
    out = []
    by_dev: dict[int, list[CopyInfo]] = {}
    for c in copies:
        try:
            st = os.lstat(c.location)
        except OSError:
            continue
        by_dev.setdefault(st.st_dev, []).append(c)
    for group in by_dev.values():
        group.sort(key=lambda c: (c.created, c.id))
        keep = group[0]
        inode = os.lstat(keep.location).st_ino
        rest = [c for c in group[1:] if os.lstat(c.location).st_ino != inode]
        if rest:
            out.append((keep, rest))
    return out


def _refusal(keep: CopyInfo, copy: CopyInfo, force_owner: bool) -> str | None:
    """Why ``copy`` must not become a link to ``keep`` (None: it may)."""
    a, b = os.lstat(keep.location), os.lstat(copy.location)
    if a.st_uid != b.st_uid and not force_owner:
        return "another owner (an admin may use --force-owner)"
    if (a.st_mode & 0o7777) != (b.st_mode & 0o7777):
        return f"mode {b.st_mode & 0o7777:o} differs from the kept copy's {a.st_mode & 0o7777:o}"
    if not os.access(os.path.dirname(copy.location), os.W_OK | os.X_OK):
        return "its folder is not writable"
    if a.st_size != b.st_size or not filecmp.cmp(keep.location, copy.location, shallow=False):
        return "its bytes differ from the kept copy's (changed since the scan): rescan first"
    return None


def _one(
    reg: Registry,
    keep: CopyInfo,
    copy: CopyInfo,
    report: ReclaimReport,
    *,
    apply: bool,
    mode: str,
    force_owner: bool,
) -> None:
    try:
        why = _refusal(keep, copy, force_owner)
    except OSError as exc:
        why = exc.strerror or str(exc)
    if why is not None:
        report.skipped.append({"path": copy.location, "keep": keep.location, "reason": why})
        return
    how = "reflink" if mode == "reflink" else "hardlink"
    if apply:
        try:
            how = _replace(keep.location, copy.location, mode)
        except OSError as exc:
            report.skipped.append(
                {"path": copy.location, "keep": keep.location, "reason": exc.strerror or str(exc)}
            )
            return
        _register(reg, copy)
    report.linked.append({"path": copy.location, "keep": keep.location, "how": how})
    report.reclaimed_bytes += copy.size


def _replace(keep: str, path: str, mode: str) -> str:
    """Put a link to ``keep`` in ``path``'s place atomically; returns how (reflink, hardlink)."""
    temp = os.path.join(os.path.dirname(path), f".ddas-reclaim-{uuid.uuid4().hex}")
    how = "hardlink"
    try:
        if mode in ("auto", "reflink") and _reflink(keep, temp, path):
            how = "reflink"
        elif mode == "reflink":
            raise OSError(errno.EOPNOTSUPP, "this file system offers no reflinks")
        else:
            os.link(keep, temp)
        os.replace(temp, path)
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)
    return how


def _reflink(keep: str, temp: str, like: str) -> bool:
    """Clone ``keep`` into a new ``temp`` with ``like``'s owner and mode; False if unsupported."""
    st = os.lstat(like)
    src = os.open(keep, os.O_RDONLY)
    try:
        dst = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.ioctl(dst, FICLONE, src)
            os.fchown(dst, st.st_uid, st.st_gid)
            os.fchmod(dst, st.st_mode & 0o7777)
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=True)
        except OSError as exc:
            os.close(dst)
            os.unlink(temp)
            if exc.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL):
                return False
            raise
        os.close(dst)
    finally:
        os.close(src)
    return True


def _register(reg: Registry, copy: CopyInfo) -> None:
    """The replaced path's new fingerprint, so a rescan sees it unchanged (a hard link now)."""
    from ddas.registry.scans import ScannedCopy

    st = os.lstat(copy.location)
    reg.register_scanned(
        [
            ScannedCopy(
                copy.location,
                copy.host,
                st.st_size,
                copy.blake3,
                st.st_mtime_ns,
                st.st_dev,
                st.st_ino,
                copy.owner,
            )
        ]
    )
