"""Plain, immutable records the registry hands out (never live ORM objects).

Callers across the code base (fetch, scans, the REST handlers) get these frozen dataclasses so that no
database session leaks out of :mod:`ddas.registry`, and so they serialise to JSON with ``to_dict``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any

from ddas.vocabulary import CopyState, EventKind


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> ISO-8601 UTC, the wire format of the REST API."""
    if ts is None:
        return None
    if ts >= 0:  # time.gmtime at half datetime's cost, rounding microseconds as datetime does
        frac, whole = math.modf(ts)
        return time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(whole + (round(frac * 1e6) >= 10**6))
        )
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """(name, is a timestamp) of a record class's fields, once per class: ``dataclasses.fields``
    on every call was a third of a report's CPU (a duplicates page converts 150 records)."""
    stamps = cls._timestamps  # type: ignore[attr-defined]
    return tuple((f.name, f.name in stamps) for f in dataclasses.fields(cls))


_PLAIN = (int, float, str, bool, type(None))  # most values: no isinstance chain for them


class Record:
    """Mixin: JSON-ready dict with timestamps as ISO strings."""

    _timestamps: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, stamp in _fields(type(self)):
            value = getattr(self, name)
            if stamp:
                value = iso(value)
            elif type(value) in _PLAIN:
                pass
            elif isinstance(value, Record):
                value = value.to_dict()
            elif isinstance(value, list | tuple):
                value = [v.to_dict() if isinstance(v, Record) else v for v in value]
            out[name] = value
        return out


@dataclass(frozen=True)
class CopyInfo(Record):
    """One place a content lives."""

    id: int
    content_id: int | None
    host: str
    location: str
    owner: str
    state: CopyState
    size: int
    in_store: bool
    created: float
    verified_at: float | None
    mtime_ns: int | None = None
    device: int | None = None
    inode: int | None = None
    blake3: str | None = None
    _timestamps = ("created", "verified_at")


@dataclass(frozen=True)
class SourceInfo(Record):
    """A normalized URL at one version."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    size: int | None
    content_id: int | None
    first_seen: float
    last_seen: float
    checksum: str | None = None
    _timestamps = ("first_seen", "last_seen")


@dataclass(frozen=True)
class EventInfo(Record):
    id: int
    kind: EventKind
    user: str
    at: float
    content_id: int | None
    source_id: int | None
    copy_id: int | None
    bytes: int
    seconds: float
    name: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    _timestamps = ("at",)


@dataclass(frozen=True)
class DatasetSummary(Record):
    """A content as the sidebar lists it."""

    id: int
    blake3: str
    size: int
    name: str
    copy_count: int  # present copies
    owners: list[str]
    last_used: float | None
    urls: list[str]
    _timestamps = ("last_used",)


@dataclass(frozen=True)
class DatasetDetail(Record):
    id: int
    blake3: str
    size: int
    name: str
    copy_count: int
    owners: list[str]
    last_used: float | None
    urls: list[str]
    digests: dict[str, str]
    copy_list: list[CopyInfo]
    sources: list[SourceInfo]
    events: list[EventInfo]
    _timestamps = ("last_used",)


@dataclass(frozen=True)
class DuplicateGroup(Record):
    """A content with two or more present copies on distinct inodes: a dataset summary plus its
    present copies and the bytes all but one place of them waste."""

    id: int
    blake3: str
    size: int
    name: str
    copy_count: int
    owners: list[str]
    last_used: float | None
    urls: list[str]
    wasted_bytes: int
    copy_list: list[CopyInfo]
    _timestamps = ("last_used",)

    @property
    def paths(self) -> list[str]:
        return [c.location for c in self.copy_list]


#: The most items one page holds: the registry's listings, the REST ``limit``, ``ddas find --limit``.
MAX_PAGE = 500


@dataclass(frozen=True)
class Page(Record):
    """One page of a listing. ``total_exact`` is False when ``total`` is an estimate: a search
    matching a large share of a big registry is paged without counting every match."""

    total: int
    offset: int
    limit: int
    items: list[Any]
    total_exact: bool = True


@dataclass(frozen=True)
class DuplicatePage(Page):
    """A page of duplicate groups, with the waste of *all* of them (not only this page's), and
    the cursor of the next page (None on the last one)."""

    wasted_bytes: int = 0
    next_cursor: str | None = None


@dataclass(frozen=True)
class UserStats(Record):
    """One user's downloads and reuses. A reuse is a download avoided: ``reuses`` counts them and
    ``bytes_saved`` is what they would have transferred."""

    user: str
    downloads: int
    bytes_downloaded: int
    reuses: int
    bytes_saved: int


@dataclass(frozen=True)
class TypeStats(Record):
    """One file type (``.nc``, ``.tar.gz``; "(none)" without one): its contents, their bytes,
    and the reuses of them."""

    ext: str
    contents: int
    bytes: int
    reuses: int
    bytes_saved: int


@dataclass(frozen=True)
class DayStats(Record):
    """Reuses on one UTC day (``YYYY-MM-DD``)."""

    day: str
    reuses: int
    bytes_saved: int


@dataclass(frozen=True)
class RegistryStats(Record):
    """The sidebar's Savings view. Each number appears once: ``reuses`` is the count of
    downloads avoided (the old ``downloads_saved`` was the same number under a second name)."""

    contents: int  # distinct datasets (BLAKE3, size)
    copy_count: int  # present copies of them
    present_bytes: int  # what those copies hold (content size x present copies)
    wasted_bytes: int  # size x (places - 1) over the duplicates
    duplicate_groups: int  # contents with present copies on two or more distinct inodes
    downloads: int
    reuses: int
    bytes_saved: int
    by_user: list[UserStats]
    by_type: list[TypeStats]
    over_time: list[DayStats]


@dataclass(frozen=True)
class LeaseInfo(Record):
    key: str
    holder: str
    user: str
    acquired_at: float
    heartbeat_at: float
    expires_at: float
    progress_bytes: int
    total_bytes: int | None
    _timestamps = ("acquired_at", "heartbeat_at", "expires_at")


@dataclass(frozen=True)
class CollectionSummary(Record):
    """A collection version as the sidebar lists it: one row for many files."""

    id: int
    url: str
    digest: str
    members: int
    size: int
    owners: list[str]
    created: float
    last_used: float | None
    versions: int = 1
    _timestamps = ("created", "last_used")


@dataclass(frozen=True)
class MemberInfo(Record):
    path: str
    content_id: int
    blake3: str
    size: int
    copy_count: int  #: present copies of this member's content (anyone's, in or out of the store)
    owners: list[str]


@dataclass(frozen=True)
class CollectionDetail(CollectionSummary):
    """One version with its members, and every version of the same URL (newest first)."""

    member_list: list[MemberInfo] = field(default_factory=list)
    version_list: list[CollectionSummary] = field(default_factory=list)


@dataclass(frozen=True)
class MetadataInfo(Record):
    content_id: int
    format: str
    summary: str
    signature: str | None
    extracted: float
    seconds: float
    doc: dict[str, Any]
    _timestamps = ("extracted",)


@dataclass(frozen=True)
class SameDataGroup(Record):
    """Contents whose bytes differ but whose metadata says they hold the same data."""

    signature: str
    summary: str
    format: str
    contents: list[dict[str, Any]]
    bytes: int
    label: str = "same data, different files"


@dataclass(frozen=True)
class AnnotationInfo(Record):
    id: int
    url: str | None
    content_id: int | None
    tags: list[str] = field(default_factory=list)
    description: str = ""
    license: str = ""
    doi: str = ""
    updated_by: str = ""
    updated: float = 0.0
    _timestamps = ("updated",)


@dataclass(frozen=True)
class ScanRunInfo:
    """One scan a server ran (see :mod:`ddas.registry.scanruns`)."""

    id: int
    user: str
    roots: list[str]
    state: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    finished_at: float | None
    message: str | None
