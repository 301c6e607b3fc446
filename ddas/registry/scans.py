"""Registry methods for scans of shared storage: bulk registration and incremental bookkeeping.

A scan registers tens of thousands of files at once; one transaction per file would spend its time in
fsync and round trips. These methods write a *batch* in one transaction (one multi-row upsert for the
contents, one for the copies), read back what a previous scan knew under a root (so an unchanged
file is never re-read), and mark vanished files ``missing`` in bulk. Like every write of the
registry they are idempotent upserts on the natural keys, so two scans of one tree can overlap.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from ddas.records import CopyInfo
from ddas.registry import bulk, tallies
from ddas.registry.database import RegistryPart
from ddas.registry.known import KnownCopy, known_copies, under
from ddas.registry.models import Annotation, CollectionMember, Content, Copy
from ddas.registry.rows import copy_info, file_type
from ddas.registry.writes import COPY_UPDATES

__all__ = ["BATCH_SIZE", "KnownCopy", "LeftContent", "ScannedCopy", "Scans"]

#: Rows written per transaction: large enough to amortise the commit, small enough that an
#: interrupted scan loses little and a concurrent writer on SQLite never waits long.
BATCH_SIZE = 4000
_IN_CHUNK = bulk.IN_CHUNK
#: SQLite page cache of a connection writing scan batches (KiB; the default is 2 MiB). A batch of
#: 10^4 copies and contents dirties more index pages than 2 MiB hold, and SQLite then spills
#: them to the WAL mid-transaction and writes them again at commit. Durability is unchanged
#: (same journal, same synchronous setting); it costs memory only while pages are cached.
SQLITE_SCAN_CACHE_KIB = 32 << 10


class ScannedCopy(NamedTuple):
    """One file found by a scan, as it will be registered (``blake3=None``: state ``unhashed``)."""

    location: str
    host: str
    size: int
    blake3: str | None
    mtime_ns: int | None
    device: int | None
    inode: int | None
    owner: str


class LeftContent(NamedTuple):
    """A content no present copy is left of (what ``ddas gc`` reports)."""

    id: int
    blake3: str
    size: int
    name: str


_COPY_COLUMNS = [
    "content_id",
    "host",
    "location",
    "owner",
    "state",
    "in_store",
    "size",
    "mtime_ns",
    "device",
    "inode",
    "created_at",
    "verified_at",
]
#: A rescan changes what a download's re-registration does, but it re-assigns the owner (whoever
#: owns the file now) and leaves ``in_store`` alone (scanning the store itself is harmless).
_COPY_UPDATES = ["owner", *(c for c in COPY_UPDATES if c != "in_store")]
_COPIES = Copy.__table__
_CONTENTS = Content.__table__
_LEFT = select(Content.id, Content.blake3, Content.size, Content.name).where(
    ~select(Copy.id).where(Copy.content_id == Content.id, Copy.state == "present").exists(),
    ~select(CollectionMember.content_id).where(CollectionMember.content_id == Content.id).exists(),
    ~select(Annotation.id).where(Annotation.content_id == Content.id).exists(),
)
_UPDATE_KNOWN = (
    update(_COPIES)
    .where(_COPIES.c.id == bindparam("b_id"))
    .values({c: bindparam(f"b_{c}") for c in _COPY_UPDATES})
)
_CONTENT_COLUMNS = [
    *("blake3", "size", "name", "ext", "created_at", "last_used_at"),
    *("copy_count", "places", "wasted_bytes", "tallied"),
]
#: (natural key, what the insert returns of the rows it added)
_COPY_KEYS = (["host", "location"], ["host", "location"])
_B3 = (["blake3"], ["blake3", "id"])


class Scans(RegistryPart):
    """Bulk writes and reads for :func:`ddas.scan`; see :mod:`ddas.registry.scans`."""

    def _under(self, prefix: str) -> list:
        """SQL conditions selecting locations equal to ``prefix`` or below ``prefix/``."""
        return under(self.engine.dialect.name, Copy.location, prefix)

    def known_copies_under(self, host: str, prefix: str) -> list[KnownCopy]:
        """Copies on ``host`` whose location is ``prefix`` or below it, any state."""
        return known_copies(self.engine, host, prefix)

    def locations_under(self, prefix: str) -> set[str]:
        """Every registered location at or below ``prefix``, on any host and in any state: what
        ``ddas gc`` must not call an orphan (a shared store is seen from many hosts)."""
        stmt = select(Copy.location).where(*self._under(prefix))
        with self.engine.connect() as conn:
            return set(conn.execute(stmt).scalars())

    def register_scanned(
        self, files: Sequence[ScannedCopy], *, batch_size: int = BATCH_SIZE
    ) -> int:
        """Register ``files`` (one transaction per ``batch_size``); returns how many were written.

        A copy already registered at the same (host, location) is updated (only where something
        differs): a changed file loses its old content (``blake3=None`` makes it ``unhashed`` again). ``in_store`` and
        ``created_at`` of existing rows are left alone, so scanning the store itself is harmless.
        """
        written = 0
        for batch in bulk.chunks(files, batch_size):
            now = time.time()
            with self._write() as s:
                conn = s.connection()
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_SCAN_CACHE_KIB}")
                ids, fresh, counted = self._content_ids(conn, batch, now)
                rows = [  # unpacked, not by attribute: a namedtuple's field is a call
                    (
                        ids.get(b3) if b3 else None,
                        host,
                        location,
                        owner,
                        "present" if b3 else "unhashed",
                        False,
                        size,
                        mtime_ns,
                        device,
                        inode,
                        now,
                        now if b3 else None,
                    )
                    for location, host, size, b3, mtime_ns, device, inode, owner in batch
                ]
                # New places first (existing rows untouched, the new ones come back), then
                # the known ones, under their row locks, so that the contents they leave are
                # known exactly. A first scan of a tree has no known ones: nothing is read back.
                inserted = bulk.insert_new(conn, _COPIES, _COPY_COLUMNS, rows, *_COPY_KEYS)
                if len(inserted) < len(rows):
                    new = set(inserted)
                    rest = [r for r in rows if (r[1], r[2]) not in new]
                    left = self._update_known(conn, rest)
                else:
                    left = set()
                tallies.refresh(conn, left | (set(ids.values()) - fresh), counted)
            written += len(batch)
        return written

    def _update_known(self, conn: Connection, rows: list[tuple]) -> set[int]:
        """Lock the batch's rows, update those that differ from the scan, and return the contents
        they held before (rows this batch just inserted hold the new content: harmless)."""
        wanted = {(r[1], r[2]): dict(zip(_COPY_COLUMNS, r, strict=True)) for r in rows}
        by_host: dict[str, list[str]] = {}
        for host, location in wanted:
            by_host.setdefault(host, []).append(location)
        held: set[int] = set()
        changes: list[dict] = []
        for host, locations in by_host.items():
            for chunk in bulk.chunks(sorted(locations), _IN_CHUNK):
                stmt = (
                    select(Copy.id, Copy.location, *(_COPIES.c[c] for c in _COPY_UPDATES))
                    .where(Copy.host == host, Copy.location.in_(chunk))
                    .order_by(Copy.id)
                    .with_for_update(key_share=True)
                )
                for copy_id, location, *current in conn.execute(stmt):
                    want = wanted[(host, location)]
                    if (held_by := current[_COPY_UPDATES.index("content_id")]) is not None:
                        held.add(held_by)
                    if current != [want[c] for c in _COPY_UPDATES]:
                        changes.append(
                            {"b_id": copy_id, **{f"b_{c}": want[c] for c in _COPY_UPDATES}}
                        )
        if changes:
            conn.execute(_UPDATE_KNOWN, changes)
        return held

    def _content_ids(
        self, conn: Connection, batch: Sequence[ScannedCopy], now: float
    ) -> tuple[dict[str, int], set[int], list[tuple]]:
        """Insert the batch's new contents (first name seen wins); map BLAKE3 -> content id, and
        say which ids were inserted now. Those are inserted *tallied*: their only copies are this
        batch's (no other transaction can see them before it commits), so their aggregates are
        counted here from the batch instead of recounted from the table afterwards."""
        contents: dict[str, list] = {}
        places: dict[str, set] = {}  # a place is an inode, or the copy itself (no inode)
        for location, host, size, b3, _, device, inode, _ in batch:
            if not b3:
                continue
            row = contents.get(b3)
            if row is None:
                name = location.rstrip("/").rsplit("/", 1)[-1]
                row = contents[b3] = [b3, size, name, file_type(name), now, None, 0]
                places[b3] = set()
            row[6] += 1  # present copies
            places[b3].add((host, device, inode) if inode is not None else location)
        if not contents:
            return {}, set(), []
        for b3, row in contents.items():
            p = len(places[b3])
            row += [p, row[1] * (p - 1), True]
        new = bulk.insert_new(conn, _CONTENTS, _CONTENT_COLUMNS, list(contents.values()), *_B3)
        ids: dict[str, int] = dict(new)
        known = [b3 for b3 in contents if b3 not in ids]  # registered before this batch
        for chunk in bulk.chunks(known, _IN_CHUNK):
            rows = conn.execute(select(Content.blake3, Content.id).where(Content.blake3.in_(chunk)))
            ids.update(rows.all())  # one fetch, not one per row
        rows = [contents[b3] for b3, _ in new]  # (ext, size, present copies, places) of each
        return ids, {cid for _, cid in new}, [(r[3], r[1], r[6], r[7]) for r in rows]

    def mark_missing(self, copy_ids: Sequence[int]) -> int:
        """Mark copies a scan no longer finds as ``missing`` (rows are kept: history, stats)."""
        done = 0
        for batch in bulk.chunks(list(copy_ids), _IN_CHUNK):
            with self._write() as s:
                conn = s.connection()
                touched = conn.execute(
                    update(Copy)
                    .where(Copy.id.in_(batch))
                    .values(state="missing")
                    .returning(Copy.content_id)
                ).scalars()
                tallies.refresh(conn, set(touched))
            done += len(batch)
        return done

    def unhashed_copies(
        self,
        *,
        size: int | None = None,
        hosts: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[CopyInfo]:
        """Copies a scan registered without hashing (unique sizes), optionally of one size."""
        stmt = select(Copy).where(Copy.state == "unhashed").order_by(Copy.size.desc(), Copy.id)
        if size is not None:
            stmt = stmt.where(Copy.size == size)
        if hosts is not None:
            stmt = stmt.where(Copy.host.in_(list(hosts)))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read() as s:
            return [copy_info(row) for row in s.scalars(stmt)]

    # -- the store's lifecycle: contents no copy is left of -------------------------------------

    def contents_without_copies(self) -> list[LeftContent]:
        """Contents with no present copy anywhere (every copy forgotten, missing or corrupt):
        the registry remembers bytes nobody has. Contents in a collection or annotated are not
        listed: a user curated them, and says what is missing by keeping them."""
        with self.engine.connect() as conn:
            return [LeftContent(*row) for row in conn.execute(_LEFT.order_by(Content.id))]

    def forget_contents(self, content_ids: Sequence[int]) -> list[LeftContent]:
        """Delete these contents if they still have no present copy (checked again under the
        locks, so a copy registered meanwhile keeps its content); returns those deleted.

        Their digests and metadata go with them, as do their copy rows (missing or corrupt:
        history of nothing); sources and events are kept and no longer name a content, so a
        fetch of such a URL downloads again. The type tallies lose them."""
        gone: list[LeftContent] = []
        for batch in bulk.chunks(sorted(set(content_ids)), _IN_CHUNK):
            with self._write() as s:
                conn = s.connection()
                # lock order: the copy rows, then the contents, then the tallies
                conn.execute(
                    select(Copy.id).where(Copy.content_id.in_(batch)).with_for_update()
                ).all()
                rows = conn.execute(
                    _LEFT.where(Content.id.in_(batch)).order_by(Content.id).with_for_update()
                ).all()
                if not rows:
                    continue
                ids = [r[0] for r in rows]
                tallies.refresh(conn, ids)  # exact aggregates (0 copies) before they go
                tallies.forget(conn, ids)
                gone.extend(LeftContent(*r) for r in rows)
        return gone
