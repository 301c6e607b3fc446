"""The registry's core writes: downloads, mirrors, scanned files, copy states and events.

Writes are idempotent upserts (``INSERT ... ON CONFLICT``) keyed by the domain's natural keys
(content by BLAKE3, source by URL + version, copy by host + location), so 16 processes registering the
same download at once end with one row each and nothing lost. Each public write is one transaction:
content, digests, source, copy and event appear together or not at all. The bulk writes of a scan
are in :mod:`ddas.registry.scans`; collections, metadata and annotations write their own rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ddas import config
from ddas.identity import NormalizedURL, Validators
from ddas.records import CopyInfo, SourceInfo
from ddas.registry import tallies
from ddas.registry.database import RegistryPart, as_normalized
from ddas.registry.models import COPY_STATES, EVENT_KINDS, Content, Copy, Digest, Event, Source
from ddas.registry.rows import copy_info, file_type, source_info
from ddas.vocabulary import CopyState, EventKind

#: What registering a known place again changes; not the owner (a second user downloading a mirror
#: whose bytes are in the store must not take over the first user's copy).
COPY_UPDATES = (
    "content_id",
    "state",
    "size",
    "mtime_ns",
    "device",
    "inode",
    "verified_at",
    "in_store",
)


def add_event(
    session: Session,
    kind: EventKind,
    *,
    user: str | None = None,
    content_id: int | None = None,
    source_id: int | None = None,
    copy_id: int | None = None,
    nbytes: int = 0,
    seconds: float = 0.0,
    detail: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> int:
    """Append an event inside the caller's transaction, counted in the running tallies."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    user, now = user or config.current_user(), now or time.time()
    event = Event(
        kind=kind,
        user=user,
        at=now,
        content_id=content_id,
        source_id=source_id,
        copy_id=copy_id,
        bytes=int(nbytes),
        seconds=float(seconds),
        detail=json.dumps(dict(detail or {}), default=str),
    )
    session.add(event)
    session.flush()
    tallies.count_event(session.connection(), kind, user, content_id, int(nbytes), now)
    return event.id


class Writes(RegistryPart):
    """Every write of a download, a mirror, a scanned file, a copy's state and an event."""

    def _content(self, session: Session, blake3: str, size: int, name: str, now: float) -> int:
        """Insert a content if it is new; its id either way. No lock here: ``_copy`` locks the
        contents a write changes all at once, in id order (see ``ddas.registry.tallies``)."""
        stmt = (
            self._insert(Content)
            .values(
                blake3=blake3,
                size=size,
                name=name,
                ext=file_type(name),
                created_at=now,
                last_used_at=None,
            )
            .on_conflict_do_nothing(index_elements=["blake3"])
            .returning(Content.id)
        )
        found = session.execute(stmt).scalar()
        if found is None:
            found = session.scalar(select(Content.id).where(Content.blake3 == blake3))
        return int(found)

    def _used(self, session: Session, content_id: int, now: float) -> None:
        """Somebody fetched it (finding a file on disk is not a use)."""
        session.execute(update(Content).where(Content.id == content_id).values(last_used_at=now))

    def _digests(self, session: Session, content_id: int, digests: Mapping[str, str]) -> None:
        for algorithm, value in digests.items():
            if algorithm == "blake3" or not value:
                continue
            stmt = self._insert(Digest).values(
                content_id=content_id, algorithm=algorithm, value=value.lower()
            )
            session.execute(stmt.on_conflict_do_nothing(index_elements=["algorithm", "value"]))

    def _source(
        self,
        session: Session,
        url: NormalizedURL,
        validators: Validators,
        content_id: int | None,
        now: float,
    ) -> int:
        values = {
            "url": url.url,
            "version_key": validators.key,
            "etag": validators.etag,
            "last_modified": validators.last_modified,
            "size": validators.size,
            "checksum": validators.checksum,
            "content_id": content_id,
            "first_seen": now,
            "last_seen": now,
        }
        update_cols = ["last_seen"] + (["content_id"] if content_id is not None else [])
        stmt = self._insert(Source).values(**values)
        stmt = stmt.on_conflict_do_update(  # RETURNING the id in one round trip
            index_elements=["url", "version_key"], set_={c: stmt.excluded[c] for c in update_cols}
        ).returning(Source.id)
        return int(session.execute(stmt).scalar_one())

    def _copy(self, session: Session, values: Mapping[str, Any]) -> int:
        """Register a place (insert, or update the row already there) and recount the contents
        it left and joined, exactly: the old content is read under the row's lock."""
        conn = session.connection()
        stmt = (
            self._insert(Copy)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["host", "location"])
            .returning(Copy.id)
        )
        copy_id, before = conn.execute(stmt).scalar(), None
        if copy_id is None:  # the place is known (perhaps just committed by another writer)
            copy_id, before = conn.execute(
                select(Copy.id, Copy.content_id)
                .where(Copy.host == values["host"], Copy.location == values["location"])
                .with_for_update(key_share=True)
            ).one()
            conn.execute(
                update(Copy).where(Copy.id == copy_id).values({c: values[c] for c in COPY_UPDATES})
            )
        tallies.refresh(conn, (before, values["content_id"]))
        return int(copy_id)

    def record_download(
        self,
        *,
        url: str | NormalizedURL,
        validators: Validators,
        blake3: str,
        size: int,
        location: str,
        name: str | None = None,
        digests: Mapping[str, str] | None = None,
        host: str | None = None,
        owner: str | None = None,
        in_store: bool = True,
        mtime_ns: int | None = None,
        device: int | None = None,
        inode: int | None = None,
        seconds: float = 0.0,
        kind: str = "download",
        detail: Mapping[str, Any] | None = None,
    ) -> CopyInfo:
        """Register a finished download (content, digests, source, copy, event) atomically."""
        nurl = as_normalized(url)
        now = time.time()
        owner = owner or config.current_user()
        with self._write() as s:
            content_id = self._content(s, blake3, size, name or nurl.name, now)
            copy_id = self._copy(
                s,
                {
                    "content_id": content_id,
                    "host": config.hostname() if host is None else host,
                    "location": location,
                    "owner": owner,
                    "state": "present",
                    "in_store": in_store,
                    "size": size,
                    "mtime_ns": mtime_ns,
                    "device": device,
                    "inode": inode,
                    "created_at": now,
                    "verified_at": now,
                },
            )
            self._used(s, content_id, now)  # locked by _copy: rows, then contents, then the rest
            self._digests(s, content_id, digests or {})
            source_id = self._source(s, nurl, validators, content_id, now)
            add_event(
                s,
                kind,
                user=owner,
                content_id=content_id,
                source_id=source_id,
                copy_id=copy_id,
                nbytes=size,
                seconds=seconds,
                detail={"url": nurl.url, **(detail or {})},
                now=now,
            )
            return copy_info(s.get_one(Copy, copy_id), blake3)

    def add_source(
        self, content_id: int, url: str | NormalizedURL, validators: Validators
    ) -> SourceInfo:
        """Record that ``url`` (at these validators) gives an already known content (a mirror)."""
        nurl = as_normalized(url)
        with self._write() as s:
            tallies.touch_content(s.connection(), content_id)  # a group's URLs may change
            source_id = self._source(s, nurl, validators, content_id, time.time())
            return source_info(s.get_one(Source, source_id))

    def register_file(
        self,
        location: str,
        *,
        size: int,
        blake3: str | None,
        mtime_ns: int | None = None,
        device: int | None = None,
        inode: int | None = None,
        owner: str | None = None,
        host: str | None = None,
        name: str | None = None,
    ) -> CopyInfo:
        """Register a file found by a scan. ``blake3=None`` registers it as ``unhashed``."""
        now = time.time()
        owner = owner or config.current_user()
        with self._write() as s:
            content_id = None
            if blake3 is not None:
                base = name or location.rstrip("/").rsplit("/", 1)[-1]
                content_id = self._content(s, blake3, size, base, now)
            copy_id = self._copy(
                s,
                {
                    "content_id": content_id,
                    "host": config.hostname() if host is None else host,
                    "location": location,
                    "owner": owner,
                    "state": "present" if blake3 else "unhashed",
                    "in_store": False,
                    "size": size,
                    "mtime_ns": mtime_ns,
                    "device": device,
                    "inode": inode,
                    "created_at": now,
                    "verified_at": now if blake3 else None,
                },
            )
            return copy_info(s.get_one(Copy, copy_id), blake3)

    def mark_copy(
        self, copy_id: int, state: CopyState, *, detail: Mapping[str, Any] | None = None
    ) -> None:
        """Set a copy's state (``missing`` when a scan no longer finds it, ``corrupt`` on mismatch)."""
        if state not in COPY_STATES:
            raise ValueError(f"copy state must be one of {COPY_STATES}, not {state!r}")
        with self._write() as s:
            row = s.get(
                Copy, copy_id, with_for_update={"key_share": True}
            )  # its content cannot change now
            if row is None:
                raise KeyError(copy_id)
            row.state = state
            s.flush()
            tallies.refresh(s.connection(), (row.content_id,))
            add_event(
                s,
                "verify",
                content_id=row.content_id,
                copy_id=copy_id,
                detail={"state": state, **(detail or {})},
            )

    def mark_verified(self, copy_id: int, *, size: int, mtime_ns: int | None) -> None:
        """A copy was re-hashed and still matches: remember its new (size, mtime) fingerprint."""
        with self._write() as s:
            content_id = s.scalar(
                update(Copy)
                .where(Copy.id == copy_id)
                .values(size=size, mtime_ns=mtime_ns, verified_at=time.time(), state="present")
                .returning(Copy.content_id)
            )
            tallies.refresh(s.connection(), (content_id,))

    def record_event(self, kind: EventKind, **kwargs: Any) -> int:
        """Append an event (``reuse``, ``alert``, ``verify``...) in its own transaction."""
        with self._write() as s:
            if kwargs.get("content_id") is not None and kind == "reuse":
                places = s.execute(
                    update(Content)
                    .where(Content.id == kwargs["content_id"])
                    .values(last_used_at=time.time())
                    .returning(Content.places)
                ).scalar()
                if places is not None and places >= 2:  # a group's "last used" changed
                    tallies.mark_changed(s.connection(), "duplicates")
            return add_event(s, kind, **kwargs)

    def forget_copy(self, copy_id: int, *, user: str | None = None) -> CopyInfo:
        """Remove a copy's row (the file is untouched): for copies that were moved or deleted."""
        with self._write() as s:
            row = s.get(Copy, copy_id, with_for_update={"key_share": True})
            if row is None:
                raise KeyError(copy_id)
            info = copy_info(row)
            s.delete(row)
            s.flush()
            tallies.refresh(s.connection(), (info.content_id,))
            add_event(
                s,
                "forget",
                user=user,
                content_id=info.content_id,
                copy_id=copy_id,
                detail={"location": info.location},
            )
            return info
