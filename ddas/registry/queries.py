"""Read side of the registry: lookups on the fetch hot path, listings, duplicates, stats, events.

The two hot lookups (by URL, by digest) are each a single indexed query through SQLAlchemy Core, so the
cost stays flat from a thousand to a million copies. Listing and aggregation queries return the plain
records of :mod:`ddas.records`.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ddas.records import (
    CopyInfo,
    DatasetDetail,
    DatasetSummary,
    DuplicateGroup,
    EventInfo,
    Page,
)
from ddas.registry import search as _search
from ddas.registry.lookups import RegistryLookups
from ddas.registry.models import Content, Copy, Digest, Event, Source
from ddas.registry.rows import copy_info, source_info

SORTS = {
    "name": Content.name,
    "size": Content.size,
    "last_used": Content.last_used_at,
    "created": Content.created_at,
    "id": Content.id,
}
MAX_LIMIT = 500
#: Rows of the sort order a broad search reads for its page: at least WINDOW, WINDOW_PER_ROW per row
#: up to the page's end, at most WINDOW_MAX (see ``RegistryQueries._window_page``).
WINDOW, WINDOW_PER_ROW, WINDOW_MAX = 2_000, 40, 50_000


def event_info(row: Event, name: str | None = None) -> EventInfo:
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


class RegistryQueries(RegistryLookups):
    """Listings and reports; every method opens and closes its own short read transaction.

    The hot-path lookups (by URL, by digest) live in :mod:`ddas.registry.lookups`.
    """

    # -- listings ------------------------------------------------------------------------------

    def search(
        self,
        q: str = "",
        *,
        owner: str | None = None,
        sort: str = "-last_used",
        offset: int = 0,
        limit: int = 50,
    ) -> Page:
        """Contents whose name, URL or digest matches ``q`` (substring), one page at a time.

        The match is a UNION of index-driven branches (``ddas.registry.search``), so a selective
        text costs milliseconds at a million copies instead of two table scans.
        """
        key = sort.removeprefix("-")
        if key not in (*SORTS, "copies"):
            raise ValueError(
                f"sort must be one of {sorted((*SORTS, 'copies'))}, optionally with '-'"
            )
        if not (offset >= 0 and 1 <= limit <= MAX_LIMIT):
            raise ValueError(f"need offset >= 0 and 1 <= limit <= {MAX_LIMIT}")
        present = (
            select(func.count(Copy.id))
            .where(Copy.content_id == Content.id, Copy.state == "present")
            .correlate(Content)
            .scalar_subquery()
        )
        column = present if key == "copies" else SORTS[key]
        descending = sort.startswith("-")
        # The id breaks ties in the key's direction, so that (key, id) indexes serve both ways.
        order = [column.desc(), Content.id.desc()] if descending else [column, Content.id]
        text = q.replace("\x00", "").strip().lower()
        with self._read() as s:
            cond: list[Any] = []
            matched = None  # the whole match as a subquery, for a broad text only
            if text:
                # A selective text (the usual case) becomes a short id list for the count and
                # the page. A broad one is paged from the sort order (``_window_page``), or,
                # when that cannot serve the page, matched as a subquery.
                parts = _search.branches(s.connection(), text)
                ids = _search.ids_upto(s.connection(), parts, _search.MATERIALIZE)
                if ids is None and key != "copies":
                    page = self._window_page(s, text, owner, order, present, offset, limit)
                    if page is not None:
                        return page
                if ids is None:
                    matched = _search.union_of(parts)
                cond.append(Content.id.in_(sorted(ids) if ids is not None else matched))
            if owner:
                cond.append(
                    select(Copy.id)
                    .where(Copy.content_id == Content.id, Copy.owner == owner)
                    .exists()
                )
            if matched is not None and not owner:  # the union's ids are distinct content ids
                total = s.scalar(select(func.count()).select_from(matched.subquery())) or 0
            else:
                total = s.scalar(select(func.count(Content.id)).where(*cond)) or 0
            rows = s.execute(
                select(Content, present).where(*cond).order_by(*order).offset(offset).limit(limit)
            ).all()
            items = self._summaries(s, [(c, n) for c, n in rows])
        return Page(total=total, offset=offset, limit=limit, items=items)

    def _window_page(
        self,
        s: Session,
        text: str,
        owner: str | None,
        order: list,
        present: Any,
        offset: int,
        limit: int,
    ) -> Page | None:
        """The page of a *broad* text, from the first rows in sort order alone; None if the text
        is too selective for that (then the index-driven match set is small and cheap).

        The hits among the first W rows of the sort order are exactly the first hits overall, so
        pages are the ones the full match would give. W grows with the page's depth. The total is
        exact when W covers the table, else estimated from the share of hits in the window
        (``total_exact=False``): counting 50,000 matches would cost more than the page itself.
        """
        window = min(WINDOW_MAX, max(WINDOW, WINDOW_PER_ROW * (offset + limit)))
        rows = s.scalar(select(func.max(Content.id))) or 0  # ids are dense enough for an estimate
        first = select(Content.id).order_by(*order).limit(window).scalar_subquery()
        preds = [Content.id.in_(first), _search.row_predicate(text)]
        if owner:
            preds.append(
                select(Copy.id).where(Copy.content_id == Content.id, Copy.owner == owner).exists()
            )
        hits = s.scalars(select(Content.id).where(*preds).order_by(*order)).all()
        covered = rows <= window
        if not covered and len(hits) < offset + limit:
            return None
        ids = hits[offset : offset + limit]
        by_id = {
            c.id: (c, n)
            for c, n in s.execute(select(Content, present).where(Content.id.in_(ids))).all()
        }
        items = self._summaries(s, [by_id[i] for i in ids if i in by_id])
        if covered:
            return Page(total=len(hits), offset=offset, limit=limit, items=items)
        estimate = max(len(hits) + 1, round(len(hits) * rows / window))
        return Page(total=estimate, offset=offset, limit=limit, items=items, total_exact=False)

    def _summaries(self, s: Session, rows: list[tuple[Content, int]]) -> list[DatasetSummary]:
        ids = [c.id for c, _ in rows]
        owners: dict[int, set[str]] = defaultdict(set)
        urls: dict[int, list[str]] = defaultdict(list)
        if ids:
            for cid, who in s.execute(
                select(Copy.content_id, Copy.owner)
                .where(Copy.content_id.in_(ids), Copy.state == "present")
                .distinct()
            ):
                owners[cid].add(who)
            for cid, url in s.execute(
                select(Source.content_id, Source.url).where(Source.content_id.in_(ids)).distinct()
            ):
                if url not in urls[cid]:
                    urls[cid].append(url)
        return [
            DatasetSummary(
                id=c.id,
                blake3=c.blake3,
                size=c.size,
                name=c.name,
                copies=int(n or 0),
                owners=sorted(owners[c.id]),
                last_used=c.last_used_at,
                urls=urls[c.id][:10],
            )
            for c, n in rows
        ]

    def dataset(self, content_id: int, *, events: int = 50) -> DatasetDetail | None:
        """One content with every copy (any state), every source version and recent events."""
        with self._read() as s:
            content = s.get(Content, content_id)
            if content is None:
                return None
            copies = [
                copy_info(r, content.blake3)
                for r in s.scalars(
                    select(Copy).where(Copy.content_id == content_id).order_by(Copy.id)
                )
            ]
            sources = [
                source_info(r)
                for r in s.scalars(
                    select(Source)
                    .where(Source.content_id == content_id)
                    .order_by(Source.first_seen)
                )
            ]
            digests = {
                d.algorithm: d.value
                for d in s.scalars(select(Digest).where(Digest.content_id == content_id))
            }
            evts = [
                event_info(r, content.name)
                for r in s.scalars(
                    select(Event)
                    .where(Event.content_id == content_id)
                    .order_by(Event.id.desc())
                    .limit(events)
                )
            ]
            present = [c for c in copies if c.state == "present"]
            return DatasetDetail(
                id=content.id,
                blake3=content.blake3,
                size=content.size,
                name=content.name,
                copies=len(present),
                owners=sorted({c.owner for c in present}),
                last_used=content.last_used_at,
                urls=list(dict.fromkeys(x.url for x in sources)),
                digests={"blake3": content.blake3, **digests},
                copy_list=copies,
                sources=sources,
                events=evts,
            )

    # -- reports -------------------------------------------------------------------------------

    def duplicates(self, *, offset: int = 0, limit: int | None = None) -> Page:
        """Contents with two or more present copies on distinct inodes, largest waste first.

        Hardlinks (same host, device and inode) are one copy: linking is the cure, not the waste.
        """
        multi = (
            select(Copy.content_id)
            .where(Copy.state == "present", Copy.content_id.is_not(None))
            .group_by(Copy.content_id)
            .having(func.count(Copy.id) >= 2)
        )
        stmt = (
            select(Copy, Content)
            .join(Content, Content.id == Copy.content_id)
            .where(Copy.content_id.in_(multi), Copy.state == "present")
        )
        groups: dict[int, tuple[Content, list[CopyInfo]]] = {}
        with self._read() as s:
            for row, content in s.execute(stmt):
                groups.setdefault(content.id, (content, []))[1].append(
                    copy_info(row, content.blake3)
                )
        out = []
        for content, copies in groups.values():
            inodes = {
                (c.host, c.device, c.inode) if c.inode is not None else ("id", c.id, None)
                for c in copies
            }
            if len(inodes) >= 2:
                out.append(
                    DuplicateGroup(
                        id=content.id,
                        blake3=content.blake3,
                        size=content.size,
                        name=content.name,
                        copy_list=copies,
                        wasted_bytes=content.size * (len(inodes) - 1),
                    )
                )
        out.sort(key=lambda g: (-g.wasted_bytes, g.id))
        end = None if limit is None else offset + limit
        return Page(total=len(out), offset=offset, limit=limit or len(out), items=out[offset:end])

    def events(
        self,
        *,
        since: int = 0,
        user: str | None = None,
        kinds: tuple[str, ...] | None = None,
        limit: int = 100,
    ) -> list[EventInfo]:
        """Events after id ``since`` (oldest first), for live notifications and audit."""
        cond: list[Any] = [Event.id > since]
        if user:
            cond.append(Event.user == user)
        if kinds:
            cond.append(Event.kind.in_(kinds))
        stmt = (
            select(Event, Content.name)
            .outerjoin(Content, Content.id == Event.content_id)
            .where(*cond)
            .order_by(Event.id)
            .limit(min(limit, 1000))
        )
        with self._read() as s:
            return [event_info(row, name) for row, name in s.execute(stmt)]

    def last_download(self, content_id: int) -> EventInfo | None:
        """The most recent download of a content: how long it took tells what a reuse saves."""
        stmt = (
            select(Event)
            .where(Event.content_id == content_id, Event.kind == "download")
            .order_by(Event.id.desc())
            .limit(1)
        )
        with self._read() as s:
            row = s.scalar(stmt)
            return event_info(row) if row is not None else None

    def last_event_id(self) -> int:
        with self._read() as s:
            return int(s.scalar(select(func.max(Event.id))) or 0)

    def stats(self, *, days: int = 90) -> dict[str, Any]:
        """Totals, savings by user, by file type and per day (the sidebar's Savings view)."""
        dup = self.duplicates()
        with self._read() as s:
            contents = s.scalar(select(func.count(Content.id))) or 0
            copies, present_bytes = s.execute(
                select(func.count(Copy.id), func.sum(Copy.size)).where(Copy.state == "present")
            ).one()
            by_user: dict[str, dict[str, Any]] = {}
            for user, kind, n, nbytes in s.execute(
                select(Event.user, Event.kind, func.count(Event.id), func.sum(Event.bytes))
                .where(Event.kind.in_(("download", "reuse")))
                .group_by(Event.user, Event.kind)
            ):
                row = by_user.setdefault(
                    user,
                    {
                        "user": user,
                        "reuses": 0,
                        "bytes_saved": 0,
                        "downloads": 0,
                        "bytes_downloaded": 0,
                    },
                )
                if kind == "reuse":
                    row["reuses"], row["bytes_saved"] = int(n), int(nbytes or 0)
                else:
                    row["downloads"], row["bytes_downloaded"] = int(n), int(nbytes or 0)
            saved_by_ext = {
                ext: (int(n), int(b or 0))
                for ext, n, b in s.execute(
                    select(Content.ext, func.count(Event.id), func.sum(Event.bytes))
                    .join(Content, Content.id == Event.content_id)
                    .where(Event.kind == "reuse")
                    .group_by(Content.ext)
                )
            }
            by_type = [
                {
                    "ext": ext or "(none)",
                    "contents": int(n),
                    "bytes": int(b or 0),
                    "reuses": saved_by_ext.get(ext, (0, 0))[0],
                    "bytes_saved": saved_by_ext.get(ext, (0, 0))[1],
                }
                for ext, n, b in s.execute(
                    select(Content.ext, func.count(Content.id), func.sum(Content.size))
                    .group_by(Content.ext)
                    .order_by(func.sum(Content.size).desc(), Content.ext)
                )
            ]
            per_day: dict[str, dict[str, Any]] = {}
            since = time.time() - days * 86400
            for at, nbytes in s.execute(
                select(Event.at, Event.bytes).where(and_(Event.kind == "reuse", Event.at >= since))
            ):
                day = time.strftime("%Y-%m-%d", time.gmtime(at))
                entry = per_day.setdefault(day, {"day": day, "reuses": 0, "bytes_saved": 0})
                entry["reuses"] += 1
                entry["bytes_saved"] += int(nbytes or 0)
        users = sorted(by_user.values(), key=lambda r: (-r["bytes_saved"], r["user"]))
        return {
            "contents": int(contents),
            "copies": int(copies or 0),
            "present_bytes": int(present_bytes or 0),
            "wasted_bytes": sum(g.wasted_bytes for g in dup.items),
            "duplicate_groups": dup.total,
            "downloads": sum(u["downloads"] for u in users),
            "reuses": sum(u["reuses"] for u in users),
            "bytes_saved": sum(u["bytes_saved"] for u in users),
            "downloads_saved": sum(u["reuses"] for u in users),
            "by_user": users,
            "by_type": by_type,
            "over_time": [per_day[d] for d in sorted(per_day)],
        }
