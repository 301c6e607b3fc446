"""The registry's reports: duplicates (largest waste first), stats, and the event feed.

Each answers from an index walk and the running totals of :mod:`ddas.registry.tallies`, never from an
aggregate over all copies or events, so it costs the same at a thousand copies and at a million:

* ``duplicates`` walks ``ix_contents_duplicates`` (a partial index on ``(wasted_bytes, id)`` holding
  only contents with two or more places) backwards for its page, then reads that page's copies and
  URLs in one statement each; the total and the total waste are sums of the type tallies;
* ``stats`` reads the tally tables, a few rows per file type, user and day;
* ``events`` reads "after id N" as a range of the primary key, of ``(user, id)``, or one range per
  asked kind of ``(kind, id)`` / ``(user, kind, id)``, merged.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, union_all
from sqlalchemy.orm import Session

from ddas.records import (
    CopyInfo,
    DayStats,
    DuplicateGroup,
    DuplicatePage,
    EventInfo,
    RegistryStats,
    TypeStats,
    UserStats,
)
from ddas.registry import tallies
from ddas.registry.database import RegistryPart
from ddas.registry.models import Content, Copy, DayTally, Event, Source, TypeTally, UserTally
from ddas.registry.rows import COPY_COLUMNS, event_info
from ddas.registry.tallies import day_of

URLS_SHOWN = 10  # URLs per dataset in listings; the dataset's details have all of them
MAX_EVENTS = 1000
_IN_CHUNK = 900  # ids per IN (...): below SQLite's bound-parameter limit


def urls_by_content(s: Session | Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    """The first :data:`URLS_SHOWN` distinct source URLs of each content, in one statement per
    chunk of ids (never one per content)."""
    urls: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        for cid, url in s.execute(
            select(Source.content_id, Source.url)
            .where(Source.content_id.in_(chunk))
            .order_by(Source.content_id, Source.id)
        ):
            if url not in urls[cid] and len(urls[cid]) < URLS_SHOWN:
                urls[cid].append(url)
    return urls


def _present_copies(conn: Connection, ids: Sequence[int]) -> dict[int, list[CopyInfo]]:
    """The present copies of these contents, as Core rows straight into records."""
    out: dict[int, list[CopyInfo]] = defaultdict(list)
    for start in range(0, len(ids), _IN_CHUNK):
        for row in conn.execute(
            select(*COPY_COLUMNS)
            .join(Content, Content.id == Copy.content_id)
            .where(Copy.content_id.in_(ids[start : start + _IN_CHUNK]), Copy.state == "present")
            .order_by(Copy.content_id, Copy.id)
        ):
            out[row.content_id].append(CopyInfo(*row))
    return out


class Reports(RegistryPart):
    """Duplicates, stats and events; see the module notes for why each is cheap."""

    def duplicates(self, *, offset: int = 0, limit: int | None = None) -> DuplicatePage:
        """Contents with present copies on two or more distinct inodes, largest waste first
        (equal waste: newest content first). ``limit=None``: every group from ``offset`` on.

        Hardlinks (same host, device and inode) are one copy: linking is the cure, not the waste.
        """
        if offset < 0 or (limit is not None and limit < 1):
            raise ValueError("need offset >= 0 and limit >= 1 (or None for all)")
        page = (
            select(
                Content.id,
                Content.blake3,
                Content.size,
                Content.name,
                Content.last_used_at,
                Content.wasted_bytes,
            )
            .where(Content.places >= 2)
            .order_by(Content.wasted_bytes.desc(), Content.id.desc())
            .offset(offset)
            .limit(limit)
        )
        totals = select(
            func.coalesce(func.sum(TypeTally.duplicates), 0),
            func.coalesce(func.sum(TypeTally.wasted_bytes), 0),
        )
        with self.engine.connect() as conn:  # Core rows: a page is 150 rows, no ORM objects
            total, wasted = conn.execute(totals).one()
            contents = conn.execute(page).all()
            copies = _present_copies(conn, [c.id for c in contents])
            urls = urls_by_content(conn, [c.id for c in contents])
        items = [
            DuplicateGroup(
                id=c.id,
                blake3=c.blake3,
                size=c.size,
                name=c.name,
                copy_count=len(copies[c.id]),
                owners=sorted({x.owner for x in copies[c.id]}),
                last_used=c.last_used_at,
                urls=urls[c.id],
                wasted_bytes=c.wasted_bytes,
                copy_list=copies[c.id],
            )
            for c in contents
        ]
        return DuplicatePage(
            total=int(total),
            offset=offset,
            limit=limit or len(items),
            items=items,
            wasted_bytes=int(wasted),
        )

    def stats(self, *, days: int = 90) -> RegistryStats:
        """Totals, savings by user, by file type, and per UTC day over the last ``days`` days
        (whole days: the first is the day ``days`` x 24 h ago)."""
        first_day = day_of(time.time() - days * 86400)
        with self._read() as s:
            types = s.scalars(select(TypeTally).order_by(TypeTally.ext)).all()
            users = s.scalars(
                select(UserTally).order_by(UserTally.bytes_saved.desc(), UserTally.user)
            ).all()
            over_time = s.execute(
                select(DayTally.day, func.sum(DayTally.reuses), func.sum(DayTally.bytes_saved))
                .where(DayTally.day >= first_day)
                .group_by(DayTally.day)
                .order_by(DayTally.day)
            ).all()
        by_type = sorted(
            (
                TypeStats(t.ext or "(none)", t.contents, t.bytes, t.reuses, t.bytes_saved)
                for t in types
                if t.contents > 0
            ),
            key=lambda t: (-t.bytes, t.ext),
        )
        return RegistryStats(
            contents=sum(t.contents for t in types),
            copy_count=sum(t.copy_count for t in types),
            present_bytes=sum(t.present_bytes for t in types),
            wasted_bytes=sum(t.wasted_bytes for t in types),
            duplicate_groups=sum(t.duplicates for t in types),
            downloads=sum(u.downloads for u in users),
            reuses=sum(u.reuses for u in users),
            bytes_saved=sum(u.bytes_saved for u in users),
            by_user=[
                UserStats(u.user, u.downloads, u.bytes_downloaded, u.reuses, u.bytes_saved)
                for u in users
            ],
            by_type=by_type,
            over_time=[DayStats(day, int(n), int(b or 0)) for day, n, b in over_time],
        )

    def events(
        self,
        *,
        since: int = 0,
        user: str | None = None,
        kinds: tuple[str, ...] | None = None,
        limit: int = 100,
    ) -> list[EventInfo]:
        """Events after id ``since`` (oldest first), for live notifications and audit."""
        limit = max(1, min(limit, MAX_EVENTS))
        cond: list[Any] = [Event.id > since]
        if user:
            cond.append(Event.user == user)
        if kinds:
            # One index range per kind, each cut at ``limit``: a rare kind is not searched for
            # by reading every event after ``since``.
            arms = [
                select(Event.id).where(*cond, Event.kind == k).order_by(Event.id).limit(limit)
                for k in sorted(set(kinds))
            ]
            ids = union_all(*(select(a.subquery().c.id) for a in arms)).subquery()
            cond = [Event.id.in_(select(ids.c.id))]
        stmt = (
            select(Event.__table__, Content.name.label("content_name"))
            .outerjoin(Content, Content.id == Event.content_id)
            .where(*cond)
            .order_by(Event.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:  # Core rows carry the columns event_info reads
            return [event_info(row, row.content_name) for row in conn.execute(stmt)]

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

    def rebuild_tallies(self) -> None:
        """Recount every aggregate from the rows (after loading rows around the API, or to check
        the running totals: they must not change)."""
        with self._write() as s:
            tallies.rebuild(s.connection())
