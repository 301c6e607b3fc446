"""Every conversion of a database row to the plain record the rest of DDAS sees, and the file type
users think in.

Copies, sources, events and leases (with :data:`COPY_COLUMNS` / :data:`SOURCE_COLUMNS`, the column
lists whose Core rows *are* records), collections, metadata, annotations and scan runs: one place,
so that a new column is added once and the query modules share one conversion without importing
each other or the writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row

from ddas.records import (
    AnnotationInfo,
    CollectionDetail,
    CollectionSummary,
    CopyInfo,
    EventInfo,
    LeaseInfo,
    MemberInfo,
    MetadataInfo,
    ScanRunInfo,
    SourceInfo,
)
from ddas.registry.models import (
    Annotation,
    Collection,
    CollectionMember,
    Content,
    ContentMetadata,
    Copy,
    Event,
    Lease,
    ScanRun,
    Source,
)

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
#: Exactly SourceInfo's fields, in order: ``SourceInfo(*row)`` (see :data:`COPY_COLUMNS`).
SOURCE_COLUMNS = (
    Source.id,
    Source.url,
    Source.etag,
    Source.last_modified,
    Source.size,
    Source.content_id,
    Source.first_seen,
    Source.last_seen,
    Source.checksum,
)
_COMPOUND = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".nii.gz", ".fastq.gz", ".vcf.gz")


def file_type(name: str) -> str:
    """The extension users think in (``.tar.gz``, ``.nc``), for savings by file type."""
    lowered = name.lower()
    if lowered.endswith(_COMPOUND):  # rare: one call answers for all of them
        return next(ext for ext in _COMPOUND if lowered.endswith(ext))
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


def _collection_fields(row: Collection, owners: list[str], versions: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "digest": row.digest,
        "members": row.members,
        "size": row.size,
        "owners": owners,
        "created": row.created_at,
        "last_used": row.last_used_at,
        "versions": versions,
    }


def collection_summary(row: Collection, owners: list[str], versions: int = 1) -> CollectionSummary:
    """A collection version's record (``owners``: of its members' present copies)."""
    return CollectionSummary(**_collection_fields(row, owners, versions))


def collection_detail(
    row: Collection,
    owners: list[str],
    members: list[MemberInfo],
    versions: list[CollectionSummary],
) -> CollectionDetail:
    """A collection version with its members and every version of its URL."""
    return CollectionDetail(
        **_collection_fields(row, owners, len(versions)), member_list=members, version_list=versions
    )


def member_info(
    row: CollectionMember, blake3: str, copy_count: int, owners: Iterable[str]
) -> MemberInfo:
    """A collection member's record (``copy_count``, ``owners``: of its content's present
    copies)."""
    return MemberInfo(row.path, row.content_id, blake3, row.size, copy_count, sorted(owners))


def metadata_info(row: ContentMetadata) -> MetadataInfo:
    """A content's extracted metadata; a document that is not JSON reads as empty."""
    try:
        doc = json.loads(row.doc or "{}")
    except ValueError:
        doc = {}
    return MetadataInfo(
        row.content_id, row.format, row.summary, row.signature, row.extracted_at, row.seconds, doc
    )


def annotation_info(row: Annotation) -> AnnotationInfo:
    """An annotation's record; tags that are not JSON read as none."""
    try:
        tags = [str(t) for t in json.loads(row.tags or "[]")]
    except ValueError:
        tags = []
    return AnnotationInfo(
        row.id,
        row.url,
        row.content_id,
        tags,
        row.description,
        row.license,
        row.doi,
        row.updated_by,
        row.updated_at,
    )


def scan_run_info(row: ScanRun) -> ScanRunInfo:
    """A scan run's record."""
    return ScanRunInfo(
        row.id,
        row.user,
        json.loads(row.roots or "[]"),
        row.state,
        row.host,
        row.pid,
        row.started_at,
        row.heartbeat_at,
        row.finished_at,
        row.message,
    )
