"""ORM rows to the plain records the rest of DDAS sees (copies, sources, events, leases), and the file type
users think in.

Kept apart so that the query modules and the write core share one conversion (a new column is added
in one place) without the readers importing the writer.
"""

from __future__ import annotations

import json

from sqlalchemy import Row

from ddas.records import CopyInfo, EventInfo, LeaseInfo, SourceInfo
from ddas.registry.models import Content, Copy, Event, Lease, Source

#: Exactly CopyInfo's fields, in order (joined with ``contents`` for the BLAKE3): a Core row of
#: these *is* a record, ``CopyInfo(*row)``, with no ORM object built on the way (hot paths).
COPY_COLUMNS = (
    Copy.id,
    Copy.content_id,
    Copy.host,
    Copy.location,
    Copy.owner,
    Copy.state,
    Copy.size,
    Copy.in_store,
    Copy.created_at,
    Copy.verified_at,
    Copy.mtime_ns,
    Copy.device,
    Copy.inode,
    Content.blake3,
)
_COMPOUND = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".nii.gz", ".fastq.gz", ".vcf.gz")


def file_type(name: str) -> str:
    """The extension users think in (``.tar.gz``, ``.nc``), for savings by file type."""
    lowered = name.lower()
    for ext in _COMPOUND:
        if lowered.endswith(ext):
            return ext
    stem, dot, ext = lowered.rpartition(".")
    return f".{ext}"[:32] if dot and stem and "/" not in ext else ""


def copy_info(row: Copy, blake3: str | None = None) -> CopyInfo:
    """A detached record of a copy row (``blake3`` when the caller joined it in)."""
    return CopyInfo(
        id=row.id,
        content_id=row.content_id,
        host=row.host,
        location=row.location,
        owner=row.owner,
        state=row.state,
        size=row.size,
        in_store=row.in_store,
        created=row.created_at,
        verified_at=row.verified_at,
        mtime_ns=row.mtime_ns,
        device=row.device,
        inode=row.inode,
        blake3=blake3,
    )


def source_info(row: Source) -> SourceInfo:
    """A detached record of a source row."""
    return SourceInfo(
        id=row.id,
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        size=row.size,
        content_id=row.content_id,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        checksum=row.checksum,
    )


def event_info(row: Event | Row, name: str | None = None) -> EventInfo:
    """A detached record of an event row (``name``: its content's, when the caller joined it in);
    a ``detail`` that is not JSON reads as empty rather than failing a whole listing."""
    try:
        detail = json.loads(row.detail or "{}")
    except ValueError:
        detail = {}
    return EventInfo(
        id=row.id,
        kind=row.kind,
        user=row.user,
        at=row.at,
        content_id=row.content_id,
        source_id=row.source_id,
        copy_id=row.copy_id,
        bytes=row.bytes,
        seconds=row.seconds,
        name=name,
        detail=detail,
    )


def lease_info(row: Lease) -> LeaseInfo:
    """A detached record of a lease row."""
    return LeaseInfo(
        key=row.key,
        holder=row.holder,
        user=row.user,
        acquired_at=row.acquired_at,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.expires_at,
        progress_bytes=row.progress_bytes,
        total_bytes=row.total_bytes,
    )
