"""Partial downloads: the bytes of an interrupted transfer, and the version they belong to.

A partial ``<tag>.<uuid>.part`` in the store's ``.tmp`` has a sidecar ``<same>.part.json`` holding the
validators the bytes were fetched under (ETag, Last-Modified, size, redirect target, checksum). A
resume sends ``If-Range`` with *those* — never with what the remote says today — so a remote that
changed restarts from zero instead of splicing two versions (RFC 9110 §13.1.5).

Partials live for days (``DDAS_PARTIAL_DAYS``), so a retry the next morning still resumes, by any
user: they are group-writable like the rest of the store. They are cleaned by age, and oldest first
when the store's file system runs short of the space a new download needs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from ddas.identity import Validators

META_SUFFIX = ".json"
#: A partial touched this recently may have a live writer: free-space cleaning leaves it alone.
IN_FLIGHT_SECONDS = 600.0


@dataclass(frozen=True)
class PartialMeta:
    """What a partial's bytes are: the URL and the version they were fetched under."""

    url: str  # normalized, secret-free
    etag: str | None = None
    last_modified: str | None = None
    size: int | None = None
    location: str | None = None
    checksum: str | None = None
    started: float = 0.0

    @classmethod
    def of(cls, url: str, validators: Validators) -> PartialMeta:
        return cls(
            url,
            validators.etag,
            validators.last_modified,
            validators.size,
            validators.location,
            validators.checksum,
            time.time(),
        )

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified, self.size, self.checksum, self.location)

    @property
    def if_range(self) -> str | None:
        """The validator a resume may send: a strong ETag, else the Last-Modified date (a weak
        ETag never matches If-Range, RFC 9110 §13.1.5)."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified

    def same_version(self, current: Validators) -> bool:
        """Does what the remote announces now describe the version these bytes came from?"""
        pairs = [
            (self.etag, current.etag),
            (self.last_modified, current.last_modified),
            (self.size, current.size),
            (self.location, current.location),
        ]
        return all(a == b for a, b in pairs if a is not None or b is not None)


def meta_path(partial: Path) -> Path:
    return partial.with_name(partial.name + META_SUFFIX)


def write_meta(partial: Path, meta: PartialMeta) -> None:
    """Record (atomically) which version ``partial`` holds, before its first byte is written."""
    sidecar = meta_path(partial)
    temp = sidecar.with_name(f"{sidecar.name}.{uuid.uuid4().hex[:8]}.new")
    temp.write_text(json.dumps(asdict(meta)))
    with contextlib.suppress(OSError):
        os.chmod(temp, 0o664)
    os.replace(temp, sidecar)


def read_meta(partial: Path) -> PartialMeta | None:
    """The version a partial holds; None for a partial nobody can vouch for (never resumed)."""
    try:
        data = json.loads(meta_path(partial).read_text())
        return PartialMeta(**data)
    except (OSError, ValueError, TypeError):
        return None


def remove(partial: Path) -> None:
    """Delete a partial and its sidecar (not ours to delete, e.g. another user's in a store
    without group write: left for its owner or ``ddas gc``)."""
    for path in (partial, meta_path(partial)):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            path.unlink()


def adopt(tmp: Path, tag: str, fresh: Path) -> Path | None:
    """Take over the largest partial of download ``tag`` by renaming it (and its sidecar) to
    ``fresh``; the others of that download are removed. Call only while holding its lease."""
    candidates = sorted(
        tmp.glob(f"{tag}.*.part"), key=lambda p: p.stat().st_size if p.exists() else -1
    )
    for old in reversed(candidates):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.rename(meta_path(old), meta_path(fresh))
        try:
            os.rename(old, fresh)
        except (FileNotFoundError, PermissionError):  # gone, or not ours to take
            remove(fresh)
            continue
        for other in candidates:
            if other != old:
                remove(other)
        return fresh
    return None


def _age_ordered(tmp: Path) -> list[tuple[float, Path]]:
    found = []
    for path in tmp.glob("*.part"):
        with contextlib.suppress(FileNotFoundError):
            found.append((path.stat().st_mtime, path))
    return sorted(found)


def cleanup(tmp: Path, max_age: float, need_bytes: int = 0, reserve: float = 0.02) -> int:
    """Remove partials older than ``max_age`` seconds, then — oldest first, sparing any touched in
    the last ``IN_FLIGHT_SECONDS`` — as many as it takes to leave ``need_bytes`` plus ``reserve``
    (a fraction of the file system) free. Returns how many were removed."""
    now = time.time()
    removed = 0
    kept: list[tuple[float, Path]] = []
    for mtime, path in _age_ordered(tmp):
        if mtime < now - max_age:
            remove(path)
            removed += 1
        else:
            kept.append((mtime, path))
    for stray in tmp.glob(f"*.part{META_SUFFIX}"):  # sidecars whose partial is gone
        if not stray.with_name(stray.name[: -len(META_SUFFIX)]).exists():
            with contextlib.suppress(FileNotFoundError, PermissionError):
                stray.unlink()
    if need_bytes <= 0:
        return removed
    usage = shutil.disk_usage(tmp)
    wanted = need_bytes + int(reserve * usage.total)
    free = usage.free
    for mtime, path in kept:
        if free >= wanted:
            break
        if mtime > now - IN_FLIGHT_SECONDS:
            continue
        with contextlib.suppress(FileNotFoundError):
            free += path.stat().st_size
            remove(path)
            removed += 1
    return removed
