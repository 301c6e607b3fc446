"""The registry's tables, named for the domain: contents, their digests, sources, copies, events, leases.

* **Content** is the truth: (BLAKE3, size). Other digests are aliases in :class:`Digest`.
* **Source** is a normalized URL *at one version* (its validators); a URL has many versions over time,
  many URLs can give one content (mirrors).
* **Copy** is one place a content lives (host + local path, or an fsspec URL), with its owner and state.
* **Event** is the audit trail and the stats' raw material (download, reuse, alert, scan, ...).
* **Lease** is the cross-process, cross-machine "I am downloading this" flag with heartbeat and expiry:
  file locks are not trustworthy on NFS/Lustre/GPFS, a database row is.
* **TypeTally**, **UserTally**, **DayTally** are running totals (per file type, per user, per day
  and user) that ``stats`` and ``duplicates`` read instead of aggregating a million rows; with
  the per-content columns ``copy_count``, ``places`` and ``wasted_bytes`` they are kept exact by
  :mod:`ddas.registry.tallies` in the transaction of every copy change and every event.

Timestamps are stored as UTC epoch seconds (floats): comparable and indexable identically on SQLite and
PostgreSQL, and immune to time-zone handling differences between the two drivers.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ddas import vocabulary

# Deterministic constraint names keep Alembic migrations portable between SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

COPY_STATES, EVENT_KINDS = vocabulary.COPY_STATES, vocabulary.EVENT_KINDS  # the DB's words
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only auto-increments INTEGER keys


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Content(Base):
    __tablename__ = "contents"
    # The sidebar lists contents sorted by these (newest use first by default): with (key, id)
    # indexes, the first page of a million datasets is an index walk, not a sort (migration 0003).
    __table_args__ = (
        Index("ix_contents_last_used_at_id", "last_used_at", "id"),
        Index("ix_contents_name_id", "name", "id"),
        Index("ix_contents_size_id", "size", "id"),
        Index("ix_contents_created_at_id", "created_at", "id"),
        Index("ix_contents_copy_count_id", "copy_count", "id"),
        # "Largest waste first" walks this index backwards; it holds only the duplicates.
        Index(
            "ix_contents_duplicates",
            "wasted_bytes",
            "id",
            sqlite_where=text("places >= 2"),
            postgresql_where=text("places >= 2"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    blake3: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text, default="")
    ext: Mapped[str] = mapped_column(String(32), default="")  # file type, for stats by type
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Aggregates of the present copies, kept by ddas.registry.tallies (never written elsewhere).
    # Server defaults only: the scans' bulk upserts list their columns and leave these out.
    copy_count: Mapped[int] = mapped_column(Integer, server_default="0")
    places: Mapped[int] = mapped_column(Integer, server_default="0")  # distinct inodes
    wasted_bytes: Mapped[int] = mapped_column(BigInteger, server_default="0")
    tallied: Mapped[bool] = mapped_column(server_default=false())  # counted in TypeTally


class Digest(Base):
    """Another algorithm's digest of a content (md5, sha256, S3 checksum...): lookups by alias."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("algorithm", "value"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), index=True
    )
    algorithm: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(200))


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("url", "version_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    version_key: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_modified: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checksum: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_id: Mapped[int | None] = mapped_column(
        ForeignKey("contents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)


class Copy(Base):
    __tablename__ = "copies"
    __table_args__ = (
        UniqueConstraint("host", "location"),
        Index("ix_copies_content_id_state", "content_id", "state"),
        Index("ix_copies_device_inode", "host", "device", "inode"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    content_id: Mapped[int | None] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), nullable=True
    )
    host: Mapped[str] = mapped_column(String(255))  # "" for fsspec URLs reachable from anywhere
    location: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    state: Mapped[str] = mapped_column(String(16), default="present")
    in_store: Mapped[bool] = mapped_column(default=False)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    device: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    inode: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    verified_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Event(Base):
    __tablename__ = "events"
    # The sidebar polls "after id N" for one user, for some kinds, or both: each is a range walk.
    __table_args__ = (
        Index("ix_events_user_id", "user", "id"),
        Index("ix_events_kind_id", "kind", "id"),
        Index("ix_events_user_kind_id", "user", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user: Mapped[str] = mapped_column(String(255))
    at: Mapped[float] = mapped_column(Float, index=True)
    content_id: Mapped[int | None] = mapped_column(
        ForeignKey("contents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL"), nullable=True
    )
    copy_id: Mapped[int | None] = mapped_column(nullable=True)  # copies may be forgotten later
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON; never holds secrets


class Lease(Base):
    __tablename__ = "leases"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    user: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    progress_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    total_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ScanRun(Base):
    """One scan started by a server, from start to end: a server killed mid-scan leaves the row
    ``running``, and the next server start on that host (or any, once the heartbeat is stale)
    marks it ``interrupted`` with a ``scan`` event, so the audit trail says the scan never ended."""

    __tablename__ = "scan_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user: Mapped[str] = mapped_column(String(255))
    roots: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of paths
    state: Mapped[str] = mapped_column(String(16), index=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)


class TypeTally(Base):
    """Running totals per file type (``Content.ext``); ``stats`` sums them for the registry's totals.

    One row per type rather than one for the registry: concurrent writers of different types do
    not queue on one hot row (PostgreSQL holds a row lock until commit)."""

    __tablename__ = "type_tallies"

    ext: Mapped[str] = mapped_column(String(32), primary_key=True)
    contents: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # sizes of the contents
    copy_count: Mapped[int] = mapped_column(BigInteger, default=0)  # present copies
    present_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    wasted_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)  # contents with places >= 2
    reuses: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_saved: Mapped[int] = mapped_column(BigInteger, default=0)


class UserTally(Base):
    """Downloads and reuses per user (events of those kinds, counted as they are written)."""

    __tablename__ = "user_tallies"

    user: Mapped[str] = mapped_column(String(255), primary_key=True)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_downloaded: Mapped[int] = mapped_column(BigInteger, default=0)
    reuses: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_saved: Mapped[int] = mapped_column(BigInteger, default=0)


class DayTally(Base):
    """Reuses per UTC day (``YYYY-MM-DD``) and user: the Savings chart; per user so that today's
    row is not one hot row for everybody."""

    __tablename__ = "day_tallies"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    user: Mapped[str] = mapped_column(String(255), primary_key=True)
    reuses: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_saved: Mapped[int] = mapped_column(BigInteger, default=0)


# Lookups the hot path depends on: by URL (sources.url via the unique index's leading column),
# by digest (contents.blake3 unique, digests(algorithm, value) unique), copies by content.


class Collection(Base):
    """A folder-like dataset (prefix, listing, glob) at one version: its URL and the digest of its
    sorted member list. A changed member changes the digest, so it is a new row: a new version."""

    __tablename__ = "collections"
    __table_args__ = (
        UniqueConstraint("url", "digest"),
        Index("ix_collections_last_used_at_id", "last_used_at", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url: Mapped[str] = mapped_column(Text)  # normalized, secret-free
    digest: Mapped[str] = mapped_column(String(64))
    members: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class CollectionMember(Base):
    """One file of a collection version: where it sits in the tree and which content it is."""

    __tablename__ = "collection_members"

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(Text, primary_key=True)
    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), index=True
    )
    size: Mapped[int] = mapped_column(BigInteger)


class ContentMetadata(Base):
    """What a file says about itself (variables, dimensions, coverage, schema...), as JSON, plus
    the one-line summary alerts show and the signature that groups "same data, different files"."""

    __tablename__ = "content_metadata"

    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text, default="")
    doc: Mapped[str] = mapped_column(Text, default="{}")
    signature: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    extracted_at: Mapped[float] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


# Words are [0-9a-z_] only and compared by byte ranges (prefix search); the "C" collation on
# PostgreSQL makes its btree order the byte order, as SQLite's BINARY is.
Word = String(64).with_variant(String(64, collation="C"), "postgresql")


class MetadataWord(Base):
    """One searchable word of a content's metadata (a variable name, a word of its title)."""

    __tablename__ = "metadata_words"
    # (word, content) answers "which contents have this word"; (content, word) answers "does this
    # content have it" for a broad search's row-by-row filter, and deletes a content's words.
    __table_args__ = (Index("ix_metadata_words_content_id_word", "content_id", "word"),)

    word: Mapped[str] = mapped_column(Word, primary_key=True)
    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True
    )


class Annotation(Base):
    """People's metadata: tags, description, license, DOI. Keyed by the normalized URL, so it is
    kept across versions of that URL, or by the content for files that have no URL."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True, unique=True)
    content_id: Mapped[int | None] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    tags: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    description: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(String(255), default="")
    doi: Mapped[str] = mapped_column(String(255), default="")
    updated_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[float] = mapped_column(Float)


class AnnotationWord(Base):
    """One searchable word of an annotation (a tag, a word of the description)."""

    __tablename__ = "annotation_words"
    __table_args__ = (Index("ix_annotation_words_annotation_id_word", "annotation_id", "word"),)

    word: Mapped[str] = mapped_column(Word, primary_key=True)
    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True
    )
