"""The registry's reports: duplicates (largest waste first), stats, and the event feed.

Each answers from an index walk and the running totals of :mod:`ddas.registry.tallies`, never from an
aggregate over all copies or events, so it costs the same at a thousand copies and at a million:

* ``duplicates`` walks ``ix_contents_duplicates`` (a partial index on ``(wasted_bytes, id)`` holding
  only contents with two or more places) backwards for its page, from the start or from where the
  last page ended (a keyset ``cursor``), then reads that page's copies and URLs in one statement
  each; the total and the total waste are sums of the type tallies;
* ``stats`` reads the tally tables, a few rows per file type, user and day;
* ``events`` reads "after id N" as a range of the primary key, of ``(user, id)``, or one range per
  asked kind of ``(kind, id)`` / ``(user, kind, id)``, merged.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, or_, select, union_all
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


_GROUP_COLUMNS = (
    Content.id,
    Content.blake3,
    Content.size,
    Content.name,
    Content.last_used_at,
    Content.wasted_bytes,
)
_DUPLICATE_TOTALS = select(
    func.coalesce(func.sum(TypeTally.duplicates), 0),
    func.coalesce(func.sum(TypeTally.wasted_bytes), 0),
)


def make_cursor(wasted_bytes: int, content_id: int) -> str:
    """Where a duplicates page ended, as an opaque token (clients pass it back, never parse it)."""
    raw = f"{int(wasted_bytes)}.{int(content_id)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(cursor: str) -> tuple[int, int]:
    """(wasted_bytes, content id) of a :func:`make_cursor` token; ValueError for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        waste, cid = text.split(".")
        if not (waste.isdigit() and cid.isdigit()):
            raise ValueError(text)
        return int(waste), int(cid)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ValueError(
            "cursor is not one this server gave out: pass a page's next_cursor unchanged, "
            "or leave it out to start from the first page"
        ) from None


def _groups(conn: Connection, contents: Sequence[Any]) -> list[DuplicateGroup]:
    """The page's contents as groups, with their copies and URLs (one statement each)."""
    copies = _present_copies(conn, [c.id for c in contents])
    urls = urls_by_content(conn, [c.id for c in contents])
    return [
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


class Reports(RegistryPart):
    """Duplicates, stats and events; see the module notes for why each is cheap."""

    def duplicates(
        self, *, offset: int = 0, limit: int | None = None, cursor: str | None = None
    ) -> DuplicatePage:
        """Contents with present copies on two or more distinct inodes, largest waste first
        (equal waste: newest content first). ``limit=None``: every group from there on.

        ``cursor`` (a page's ``next_cursor``) starts after that page's last group: a range of
        the index from where the last page ended, so page 2,000 costs what the first one does;
        ``offset`` walks and skips that many entries (kept for clients that page by number).
        Hardlinks (same host, device and inode) are one copy: linking is the cure, not the waste.
        """
        if offset < 0 or (limit is not None and limit < 1):
            raise ValueError("need offset >= 0 and limit >= 1 (or None for all)")
        where = [Content.places >= 2]
        if cursor is not None:
            waste, last_id = parse_cursor(cursor)
            # The bound on wasted_bytes is the index range; the id breaks ties within it.
            where += [
                Content.wasted_bytes <= waste,
                or_(Content.wasted_bytes < waste, Content.id < last_id),
            ]
        page = (
            select(*_GROUP_COLUMNS)
            .where(*where)
            .order_by(Content.wasted_bytes.desc(), Content.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.engine.connect() as conn:  # Core rows: a page is 150 rows, no ORM objects
            total, wasted = conn.execute(_DUPLICATE_TOTALS).one()
            contents = conn.execute(page).all()
            items = _groups(conn, contents)
        last = contents[-1] if contents else None
        more = last is not None and limit is not None and len(contents) == limit
        return DuplicatePage(
            total=int(total),
            offset=offset,
            limit=limit or len(items),
            items=items,
            wasted_bytes=int(wasted),
            next_cursor=make_cursor(last.wasted_bytes, last.id) if more and last else None,
        )

    def stats(self, *, days: int = 90) -> RegistryStats:
        """Totals, savings by user, by file type, and per UTC day over the last ``days`` days
        (whole days: the first is the day ``days`` x 24 h ago)."""
        first_day = day_of(time.time() - days * 86400)
        with self.engine.connect() as s:  # Core rows: ~200 users, no ORM objects
            types = s.execute(select(*TypeTally.__table__.c).order_by(TypeTally.ext)).all()
            users = s.execute(
                select(*UserTally.__table__.c).order_by(
                    UserTally.bytes_saved.desc(), UserTally.user
                )
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
            # every report's generation (not in rebuild: migration 0004 predates the counters)
            tallies.mark_changed(s.connection())

    def generation(self, concern: str | None = None) -> int:
        """A report's generation (``"duplicates"``, ``"stats"``, ``"events"``; ``None``: any
        change), see :mod:`ddas.registry.tallies`: read it *before* the report, and the report is
        at least as new as it; equal generations, equal reports."""
        with self.engine.connect() as conn:
            return tallies.generation(conn, concern)
