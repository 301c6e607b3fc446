"""Listing fsspec roots (``s3://bucket/prefix`` and any other protocol fsspec knows).

An object store's listing already carries each object's size, ETag and last-modified time, so a
remote scan lists once (``fs.find(detail=True)``) and reads nothing else until sizes collide. Objects
are registered with host ``""`` (reachable from anywhere) and their URL as location. Remote copies
have no inode: size and the listing's last-modified time are their change fingerprint. The ETag is
kept in the report but not trusted as a content hash: multipart uploads and SSE-KMS objects have
ETags that are not the MD5 of the bytes, so equal contents can carry different ETags.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ddas.scanning.walk import Excluder, FileEntry, ScanError


def is_remote(root: str) -> bool:
    """``proto://...`` other than ``file://`` is listed through fsspec."""
    proto, sep, _ = root.partition("://")
    return bool(sep) and proto.lower() not in ("file", "local")


def _mtime_ns(info: dict[str, Any]) -> int | None:
    value = info.get("LastModified") or info.get("last_modified") or info.get("mtime")
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp() * 1_000_000) * 1000
    try:
        return int(float(value) * 1e9)
    except (TypeError, ValueError):
        return None


def list_remote(
    root: str, *, min_size: int, exclude: Excluder, errors: list[ScanError]
) -> tuple[list[FileEntry], set[str]]:
    """Objects of at least ``min_size`` bytes under ``root``, and every location listed (any size),
    so that a vanished object can be told from one merely excluded."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(root)
    fs.invalidate_cache(path)  # fsspec instances are cached: never trust an old listing
    try:
        infos = fs.find(path, detail=True, withdirs=False)
    except (OSError, ValueError) as exc:  # missing bucket, denied listing
        errors.append(ScanError(root, "unreadable-directory", str(exc)))
        return [], set()
    entries: list[FileEntry] = []
    listed: set[str] = set()
    for key, info in sorted(infos.items()):
        if info.get("type", "file") != "file":
            continue
        location = fs.unstrip_protocol(key)
        listed.add(location)
        size = int(info.get("size") or 0)
        if size < min_size or (exclude.active and exclude(location)):
            continue
        etag = info.get("ETag") or info.get("etag")
        entries.append(
            FileEntry(
                location,
                size,
                _mtime_ns(info),
                None,
                None,
                None,
                str(etag).strip('"') if etag else None,
                fs,
            )
        )
    return entries, listed
