"""Running totals kept exact in the transaction of every write, so reports never aggregate 10^6 rows.

``duplicates`` and ``stats`` used to read every copy and every event (10-14 s at 200,000 copies).
Now each content carries the aggregates of its present copies (``copy_count``; ``places``, the
distinct inodes among them, since hardlinks are one copy; ``wasted_bytes`` = size x (places - 1)),
and the tally tables hold sums of those per file type, plus downloads and reuses per user and per
day. The rules that keep them exact:

* every write that adds, moves, re-states or removes a copy calls :func:`refresh` with the ids of
  the contents it touched (the old content of a moved copy too), *after* its copy writes and in the
  same transaction. :func:`refresh` recounts those contents from their copies (a few indexed rows
  each) and adds the difference to the type tallies: a recount, not an increment, so a write that
  touched a content without changing it costs a comparison and writes nothing;
* it locks those content rows first (``SELECT ... FOR NO KEY UPDATE``, in id order) and reads their
  stored aggregates only then: on PostgreSQL two writers of one content queue there, and the second
  one recounts with the first one's copies committed, so no difference is added twice. SQLite runs
  one writer at a time (``BEGIN IMMEDIATE``) and needs no lock;
* a write takes its locks in one order: the copy rows it changes (read with their old content
  under the lock), then the contents (all at once, here), then sources, events and tallies (in key
  order). ``NO KEY UPDATE``, not ``UPDATE``: the foreign-key checks of inserted copies and events
  take ``KEY SHARE`` locks on contents, which ``FOR UPDATE`` would wait on, in a cycle;
* every event goes through :func:`count_event` in the transaction that writes it;
* a transaction adds one to the generation of each report it changed (``registry_generation``,
  one row per :data:`CONCERNS` entry, migrations 0006 and 0007) as its last statements before
  COMMIT (:func:`_bump_generation`, in row order): the last locks it takes, held only while it
  commits, so writers never wait on them in a cycle. A reader that reads a generation and *then*
  its report has a report at least as new as that generation: the server's ETags and response
  cache rest on that. Per report, because every fetch writes an event: with one counter, the
  feed's 16 events a second made ``duplicates`` uncacheable although no fetch changed it.
  What moves which (:func:`mark_changed`):

  - ``events``: every event (:func:`count_event`);
  - ``stats``: a change of a content's aggregates, a new or forgotten content (the type tallies),
    a download or a reuse (the user, day and type tallies);
  - ``duplicates``: any write that touches a content that is a duplicate group (two places or
    more) before or after it (:func:`_refresh` sees ``places`` under the content's
    lock; writes of a content's last use or sources ask :func:`touch_content`): the page shows
    its copies, URLs and last use, not only its waste.

:func:`rebuild` recounts everything from scratch: migration 0004 uses it for existing registries,
and bulk loads that write rows directly (benchmarks) call it through ``Registry.rebuild_tallies``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    bindparam,
    case,
    cast,
    delete,
    distinct,
    event,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ddas.registry.models import Content, Copy, DayTally, Event, Generation, TypeTally, UserTally

_CHUNK = 900  # ids per statement: below SQLite's bound-parameter limit
#: The counters of a TypeTally row (migration 0004 creates them from this list).
TYPE_COLUMNS = (
    "contents",
    "bytes",
    "copy_count",
    "present_bytes",
    "wasted_bytes",
    "duplicates",
    "reuses",
    "bytes_saved",
)
_CONTENTS = Content.__table__
_SET_AGGREGATES = (
    update(_CONTENTS)
    .where(_CONTENTS.c.id == bindparam("cid"))
    .values(
        copy_count=bindparam("n"), places=bindparam("p"), wasted_bytes=bindparam("w"), tallied=True
    )
)


#: The reports with a generation of their own, and their rows in ``registry_generation`` (row 1
#: was the single counter of migration 0006; it counts the event feed now).
CONCERNS = {"events": 1, "duplicates": 2, "stats": 3}
_CHANGED = "ddas_generation_changed"  # in Connection.info: the rows this transaction moves on
_BUMP = "UPDATE registry_generation SET generation = generation + 1 WHERE id = %d"


def mark_changed(conn: Connection, *concerns: str) -> None:
    """Mark this transaction as one that moves these reports' generations (none named: every
    report's) on when it commits."""
    rows = conn.info.setdefault(_CHANGED, set())
    rows.update(CONCERNS[c] for c in concerns or CONCERNS)


@event.listens_for(Engine, "commit")
def _bump_generation(conn: Connection) -> None:
    """Right before COMMIT (SQLAlchemy's ``commit`` event precedes the DB-API commit): the bumps,
    on the DB-API cursor, inside the transaction they count, one row at a time in id order (one
    statement over several rows would lock them in whatever order its plan reads them)."""
    rows = conn.info.pop(_CHANGED, None)
    if rows:
        cursor = conn.connection.cursor()
        try:
            for row in sorted(rows):
                cursor.execute(_BUMP % row)
        finally:
            cursor.close()


@event.listens_for(Engine, "rollback")
def _forget_change(conn: Connection) -> None:
    conn.info.pop(_CHANGED, None)


def generation(conn: Connection, concern: str | None = None) -> int:
    """A report's generation (``concern``, one of :data:`CONCERNS`): it changes whenever a
    committed write changed that report. ``None``: the sum of all, which changes whenever any
    of them does."""
    if concern is None:
        return int(conn.execute(select(func.sum(Generation.generation))).scalar() or 0)
    row = CONCERNS[concern]
    return int(
        conn.execute(select(Generation.generation).where(Generation.id == row)).scalar() or 0
    )


def touch_content(conn: Connection, content_id: int) -> None:
    """A write changes what a content's duplicate group shows (its last use, its URLs): move the
    ``duplicates`` generation on if the content is a group. Locks the content row ``FOR SHARE``
    (after the copy rows, before sources and events: the lock order of the module notes), so a
    concurrent write that makes it a group commits first and is seen, or waits for this one."""
    places = conn.execute(
        select(Content.places).where(Content.id == content_id).with_for_update(read=True)
    ).scalar()
    if places is not None and places >= 2:
        mark_changed(conn, "duplicates")


def day_of(at: float) -> str:
    """The UTC day of an epoch timestamp, as the Savings chart labels it."""
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def place() -> ColumnElement[str]:
    """What makes two present copies two places: (host, device, inode), or the copy itself when
    its inode is unknown (an fsspec URL). Hardlinks are one place: linking is the cure, not waste."""
    inode = (
        Copy.host
        + "|"
        + cast(func.coalesce(Copy.device, -1), String)
        + "|"
        + cast(Copy.inode, String)
    )
    return case((Copy.inode.is_(None), literal("c") + cast(Copy.id, String)), else_=inode)


def aggregates(where: ColumnElement[bool]) -> Select:
    """(content_id, present copies, places) of the contents ``where`` selects copies of."""
    return (
        select(Copy.content_id, func.count(Copy.id), func.count(distinct(place())))
        .where(Copy.state == "present", Copy.content_id.is_not(None), where)
        .group_by(Copy.content_id)
    )


def _add(conn: Connection, model: type, keys: Sequence[str], rows: Mapping[tuple, dict]) -> None:
    """Add ``rows`` (key -> {column: delta}) to ``model``'s counters, inserting missing rows, in
    key order (a fixed lock order: concurrent writers never wait on each other in a cycle)."""
    rows = {k: v for k, v in rows.items() if any(v.values())}
    if not rows:
        return
    columns = sorted({c for v in rows.values() for c in v})
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    table = model.__table__
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: table.c[c] + stmt.excluded[c] for c in columns}
    )
    params = [
        {**dict(zip(keys, key, strict=True)), **{c: values.get(c, 0) for c in columns}}
        for key, values in sorted(rows.items())
    ]
    conn.execute(stmt, params)


def refresh(
    conn: Connection, content_ids: Iterable[int | None], new: Iterable[Sequence] = ()
) -> None:
    """Recount the present copies of these contents and carry the change into the type tallies.

    Call it after the copy writes of a transaction, with every content they touched. ``new``
    are contents a bulk writer inserted already tallied, as ``(ext, size, present copies,
    places)``: it knows all their copies (its own transaction's), so they are not recounted,
    only added to the type tallies (in the same statement, so the lock order holds)."""
    ids = sorted({i for i in content_ids if i is not None})
    deltas: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TYPE_COLUMNS, 0))
    _count_new(conn, deltas, new)
    for start in range(0, len(ids), _CHUNK):
        _refresh(conn, ids[start : start + _CHUNK], deltas)
    _add(conn, TypeTally, ("ext",), deltas)


def _count_new(
    conn: Connection, deltas: dict[tuple, dict[str, int]], new: Iterable[Sequence]
) -> None:
    """:func:`_count` of contents inserted tallied (from nothing to ``n`` copies in ``p``
    places). A scan batch brings 10^4 of them: the reports they change are marked once for the
    batch, not once per content."""
    some = dup = False
    for ext, size, n, p in new:
        _count(deltas[(ext,)], size, 0, 0, 0, n, p, tallied=False)
        some, dup = True, dup or p >= 2
    if some:
        mark_changed(conn, *(("stats", "duplicates") if dup else ("stats",)))


def _count(
    d: dict[str, int], size: int, n0: int, p0: int, w0: int, n: int, p: int, *, tallied: bool
) -> None:
    """Add one content's change, from (n0 copies, p0 places, w0 wasted) to (n, p), to ``d``."""
    if not tallied:  # a new content: count it once, whatever its copies
        d["contents"] += 1
        d["bytes"] += size
    d["copy_count"] += n - n0
    d["present_bytes"] += size * (n - n0)
    d["wasted_bytes"] += size * max(p - 1, 0) - w0
    d["duplicates"] += (p >= 2) - (p0 >= 2)


def _refresh(conn: Connection, ids: list[int], deltas: dict[tuple, dict[str, int]]) -> None:
    stored = conn.execute(
        select(
            Content.id,
            Content.size,
            Content.ext,
            Content.tallied,
            Content.copy_count,
            Content.places,
            Content.wasted_bytes,
        )
        .where(Content.id.in_(ids))
        .order_by(Content.id)
        .with_for_update(key_share=True)
    ).all()
    found = conn.execute(aggregates(Copy.content_id.in_(ids))).all()  # one fetch, not per row
    counted = {cid: (n, p) for cid, n, p in found}
    changed: list[dict[str, int]] = []
    for cid, size, ext, tallied, n0, p0, w0 in stored:
        n, p = counted.get(cid, (0, 0))
        w = size * max(p - 1, 0)
        if p0 >= 2 or p >= 2:  # a group's copies were written: its page may show it
            mark_changed(conn, "duplicates")
        if tallied and (n, p, w) == (n0, p0, w0):
            continue
        changed.append({"cid": cid, "n": n, "p": p, "w": w})
        _count(deltas[(ext,)], size, n0, p0, w0, n, p, tallied=tallied)
    if changed:  # (the duplicates only show contents of two places or more: marked above)
        conn.execute(_SET_AGGREGATES, changed)
        mark_changed(conn, "stats")


def forget(conn: Connection, content_ids: Sequence[int]) -> None:
    """Delete these contents (recounted by :func:`refresh` in this transaction, under its locks)
    and take them out of the type tallies."""
    c = _CONTENTS.c
    deltas: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TYPE_COLUMNS, 0))
    gone = conn.execute(
        delete(_CONTENTS)
        .where(c.id.in_(list(content_ids)))
        .returning(c.ext, c.size, c.tallied, c.copy_count, c.places, c.wasted_bytes)
    )
    for ext, size, tallied, n0, p0, w0 in gone.all():
        if tallied:
            d = deltas[(ext,)]
            _count(d, size, n0, p0, w0, 0, 0, tallied=True)
            d["contents"] -= 1
            d["bytes"] -= size
    mark_changed(conn)
    _add(conn, TypeTally, ("ext",), deltas)


def count_event(
    conn: Connection, kind: str, user: str, content_id: int | None, nbytes: int, at: float
) -> None:
    """Count a download or a reuse (other kinds have no tallies) in the transaction writing it."""
    mark_changed(conn, "events")  # every event changes the feed
    if kind == "download":
        mark_changed(conn, "stats")
        _add(conn, UserTally, ("user",), {(user,): {"downloads": 1, "bytes_downloaded": nbytes}})
        return
    if kind != "reuse":
        return
    mark_changed(conn, "stats")
    saved = {"reuses": 1, "bytes_saved": nbytes}
    if content_id is not None:
        ext = conn.execute(select(Content.ext).where(Content.id == content_id)).scalar()
        if ext is not None:
            _add(conn, TypeTally, ("ext",), {(ext,): saved})
    _add(conn, UserTally, ("user",), {(user,): saved})
    _add(conn, DayTally, ("day", "user"), {(day_of(at), user): saved})


def rebuild(conn: Connection) -> None:
    """Recount every aggregate and tally from the copies and events (existing registries, bulk
    loads). Minutes of work at most, once; the incremental path keeps it exact afterwards."""
    conn.execute(update(Content).values(copy_count=0, places=0, wasted_bytes=0, tallied=True))
    agg = aggregates(true()).subquery()
    n, p = agg.c[1], agg.c[2]
    conn.execute(
        update(Content)
        .where(Content.id == agg.c.content_id)
        .values(copy_count=n, places=p, wasted_bytes=Content.size * (p - 1))
    )
    for model in (TypeTally, UserTally, DayTally):
        conn.execute(delete(model))
    _rebuild_types(conn)
    _rebuild_events(conn)


def _rebuild_types(conn: Connection) -> None:
    rows: dict[str, dict[str, int]] = {}
    for ext, *sums in conn.execute(
        select(
            Content.ext,
            func.count(Content.id),
            func.sum(Content.size),
            func.sum(Content.copy_count),
            func.sum(Content.size * Content.copy_count),
            func.sum(Content.wasted_bytes),
            func.sum(case((Content.places >= 2, 1), else_=0)),
        ).group_by(Content.ext)
    ):
        rows[ext] = dict.fromkeys(TYPE_COLUMNS, 0)
        rows[ext].update(zip(TYPE_COLUMNS, (int(s or 0) for s in sums), strict=False))
    for ext, n, nbytes in conn.execute(
        select(Content.ext, func.count(Event.id), func.sum(Event.bytes))
        .join(Content, Content.id == Event.content_id)
        .where(Event.kind == "reuse")
        .group_by(Content.ext)
    ):
        row = rows.setdefault(ext, dict.fromkeys(TYPE_COLUMNS, 0))
        row["reuses"], row["bytes_saved"] = int(n), int(nbytes or 0)
    if rows:
        conn.execute(insert(TypeTally), [{"ext": ext, **row} for ext, row in rows.items()])


def _rebuild_events(conn: Connection) -> None:
    users: dict[str, dict[str, int]] = {}
    for user, kind, n, nbytes in conn.execute(
        select(Event.user, Event.kind, func.count(Event.id), func.sum(Event.bytes))
        .where(Event.kind.in_(("download", "reuse")))
        .group_by(Event.user, Event.kind)
    ):
        row = users.setdefault(
            user, {"downloads": 0, "bytes_downloaded": 0, "reuses": 0, "bytes_saved": 0}
        )
        names = (
            ("downloads", "bytes_downloaded") if kind == "download" else ("reuses", "bytes_saved")
        )
        row[names[0]], row[names[1]] = int(n), int(nbytes or 0)
    if users:
        conn.execute(insert(UserTally), [{"user": u, **row} for u, row in users.items()])
    days: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    reuses = select(Event.at, Event.user, Event.bytes).where(Event.kind == "reuse")
    for at, user, nbytes in conn.execute(reuses.execution_options(yield_per=10_000)):
        entry = days[(day_of(at), user)]
        entry[0] += 1
        entry[1] += int(nbytes or 0)
    if days:
        conn.execute(
            insert(DayTally),
            [
                {"day": d, "user": u, "reuses": n, "bytes_saved": b}
                for (d, u), (n, b) in days.items()
            ],
        )
