"""What the registry knows under a folder of one host, read with SQLAlchemy Core alone.

A rescan compares the walk with these rows (:class:`ddas.registry.scanview.ScanView`), and the
registry's own scan writes (:mod:`ddas.registry.scans`) find the copies they replace with the same
query and the same "at or below this folder" condition. Both sides import it from here, below
both: the full registry need not import the scan's view, nor the view the full registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Engine, column, select, table


class KnownCopy(NamedTuple):
    """What the registry remembers of a copy, enough to decide whether a rescan must re-read it."""

    id: int
    location: str
    state: str
    size: int
    mtime_ns: int | None
    device: int | None
    inode: int | None
    blake3: str | None


_KNOWN = ("id", "location", "state", "size", "mtime_ns", "device", "inode")
_COPIES = table("copies", column("content_id"), column("host"), *map(column, _KNOWN))
_CONTENTS = table("contents", column("id"), column("blake3"))


def under(dialect: str, location: ColumnElement[str], prefix: str) -> list[ColumnElement[bool]]:
    """SQL conditions selecting locations equal to ``prefix`` or below ``prefix/``."""
    base = prefix.rstrip("/")
    if not base:
        return [location.startswith("/")]
    below = base + "/"
    if dialect == "sqlite":
        # SQLite's LIKE ignores ASCII case; a range on the binary-collated index is exact and
        # uses the (host, location) unique index. '0' is the character after '/'.
        inside = (location >= below) & (location < base + "0")
    else:  # PostgreSQL: LIKE is case-sensitive; a range would follow the locale's collation
        inside = location.startswith(below, autoescape=True)
    return [inside | (location == base)]


#: Rows fetched at a time: a million known copies arrive a slice at a time, so the raw rows
#: the driver hands over never sit beside the whole of what a rescan keeps of them.
FETCH = 10_000


def known_copies(engine: Engine, host: str, prefix: str) -> list[KnownCopy]:
    """Copies on ``host`` whose location is ``prefix`` or below it, any state, in one query."""
    states: dict[str, str] = {}  # one str per state, not per row (10^6 rows: 50 MB)
    return [
        KnownCopy(i, loc, states.setdefault(st, st), *rest)
        for part in known_copy_slices(engine, host, prefix)
        for i, loc, st, *rest in part
    ]


def known_copy_slices(engine: Engine, host: str, prefix: str) -> Iterator[list[tuple]]:
    """:func:`known_copies` as the driver's plain rows in :class:`KnownCopy`'s field order, a
    slice (:data:`FETCH` rows, one round trip) at a time: a rescan compares each slice with the
    walk as it comes and keeps only the copies not walked yet (the whole list, and on
    PostgreSQL the whole result in the driver's buffer, beside the walked files was a third of
    a million-file rescan's peak memory). Plain tuples, because a ``KnownCopy`` per row cost
    that rescan 1.4 s of Python on the loading thread, against the walk for the GIL."""
    c = _COPIES.c
    stmt = (
        select(*(c[k] for k in _KNOWN), _CONTENTS.c.blake3)
        .select_from(_COPIES.outerjoin(_CONTENTS, _CONTENTS.c.id == c.content_id))
        .where(c.host == host, *under(engine.dialect.name, c.location, prefix))
    )
    with engine.connect() as conn:
        # SQLAlchemy renders the query; the driver's cursor hands over plain tuples (a Row
        # object per copy would be most of a rescan's registry time)
        compiled = stmt.compile(dialect=conn.dialect)
        params = compiled.construct_params()
        args = tuple(params[p] for p in compiled.positiontup or ()) or params
        cursor = _streaming_cursor(conn.connection.dbapi_connection, conn.dialect.name)
        try:
            cursor.execute(str(compiled), args)
            while rows := cursor.fetchmany(FETCH):
                yield rows
        finally:
            cursor.close()  # the pool's reset on return ends a server cursor's transaction


def _streaming_cursor(dbapi: Any, dialect: str) -> Any:
    """A cursor that fetches as it is read: SQLite's always does; PostgreSQL's plain cursor
    receives the whole result at ``execute``, a named (server-side) one a slice per fetch."""
    if dialect == "postgresql":
        return dbapi.cursor(name="ddas_known_copies")
    return dbapi.cursor()
