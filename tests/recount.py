"""A full recount of what ``duplicates`` and ``stats`` must say, from the raw rows, in plain Python.

Independent of ``ddas.registry.tallies`` on purpose: it reads every copy and event the slow way (as
the registry did before running totals) and computes the numbers by the documented definitions, so
comparing it with the registry's answers checks the incremental bookkeeping, not the code against
itself.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from ddas.registry import Registry


def _day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def recount(registry: Registry, *, days: int = 90) -> dict[str, Any]:
    """What the registry should report: per-content aggregates, the duplicates list and stats."""
    with registry.engine.connect() as conn:
        contents = conn.execute(sa.text("SELECT id, size, ext FROM contents")).all()
        copies = conn.execute(
            sa.text("SELECT id, content_id, state, host, device, inode FROM copies")
        ).all()
        events = conn.execute(
            sa.text('SELECT kind, "user", content_id, bytes, at FROM events')
        ).all()
    aggregates = _aggregates(contents, copies)
    duplicates = sorted(
        ((cid, a[2]) for cid, a in aggregates.items() if a[1] >= 2), key=lambda g: (-g[1], -g[0])
    )
    users, type_saved, per_day = _event_totals(contents, events, days)
    stats = {
        "contents": len(contents),
        "copy_count": sum(a[0] for a in aggregates.values()),
        "present_bytes": sum(size * aggregates[cid][0] for cid, size, _ in contents),
        "wasted_bytes": sum(w for _, w in duplicates),
        "duplicate_groups": len(duplicates),
        "downloads": sum(u["downloads"] for u in users.values()),
        "reuses": sum(u["reuses"] for u in users.values()),
        "bytes_saved": sum(u["bytes_saved"] for u in users.values()),
        "by_user": sorted(
            ({"user": u, **row} for u, row in users.items()),
            key=lambda r: (-r["bytes_saved"], r["user"]),
        ),
        "by_type": _by_type(contents, type_saved),
        "over_time": [
            {"day": d, "reuses": n, "bytes_saved": b} for d, (n, b) in sorted(per_day.items())
        ],
    }
    return {"aggregates": aggregates, "duplicates": duplicates, "stats": stats}


def _aggregates(contents: list, copies: list) -> dict[int, tuple[int, int, int]]:
    """Per content: present copies, distinct places (a hard link is one place), wasted bytes."""
    present: dict[int, list] = defaultdict(list)
    for c in copies:
        if c.state == "present" and c.content_id is not None:
            present[c.content_id].append(c)
    aggregates = {}
    for cid, size, _ext in contents:
        places = {
            (c.host, c.device, c.inode) if c.inode is not None else ("copy", c.id)
            for c in present[cid]
        }
        aggregates[cid] = (len(present[cid]), len(places), size * max(len(places) - 1, 0))
    return aggregates


def _event_totals(contents: list, events: list, days: int) -> tuple[dict, dict, dict]:
    """Downloads and reuses by user, reuses by file type, and reuses per day of the last ``days``."""
    ext_of = {cid: ext for cid, _size, ext in contents}
    users: dict[str, dict[str, int]] = {}
    type_saved: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    first_day = _day(time.time() - days * 86400)
    for kind, user, cid, nbytes, at in events:
        if kind not in ("download", "reuse"):
            continue
        row = users.setdefault(
            user, {"downloads": 0, "bytes_downloaded": 0, "reuses": 0, "bytes_saved": 0}
        )
        if kind == "download":
            row["downloads"] += 1
            row["bytes_downloaded"] += nbytes
            continue
        row["reuses"] += 1
        row["bytes_saved"] += nbytes
        if cid is not None:
            type_saved[ext_of[cid]][0] += 1
            type_saved[ext_of[cid]][1] += nbytes
        if _day(at) >= first_day:
            per_day[_day(at)][0] += 1
            per_day[_day(at)][1] += nbytes
    return users, type_saved, per_day


def _by_type(contents: list, type_saved: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Contents and bytes per file type, with the reuses each type saved, largest first."""
    by_type: dict[str, dict[str, int]] = {}
    for _cid, size, ext in contents:
        t = by_type.setdefault(ext, {"contents": 0, "bytes": 0})
        t["contents"] += 1
        t["bytes"] += size
    return sorted(
        (
            {
                "ext": ext or "(none)",
                **t,
                "reuses": type_saved[ext][0],
                "bytes_saved": type_saved[ext][1],
            }
            for ext, t in by_type.items()
        ),
        key=lambda t: (-t["bytes"], t["ext"]),
    )


def reported(registry: Registry) -> dict[str, Any]:
    """The same three things as the registry answers them."""
    with registry.engine.connect() as conn:
        aggregates = {
            cid: (n, p, w)
            for cid, n, p, w in conn.execute(
                sa.text("SELECT id, copy_count, places, wasted_bytes FROM contents")
            )
        }
    page = registry.duplicates()
    assert page.total == len(page.items)
    assert page.wasted_bytes == sum(g.wasted_bytes for g in page.items)
    for group in page.items:
        assert group.copy_count == aggregates[group.id][0] == len(group.copy_list)
    assert paged_by_cursor(registry, limit=2) == [g.id for g in page.items]
    return {
        "aggregates": aggregates,
        "duplicates": [(g.id, g.wasted_bytes) for g in page.items],
        "stats": registry.stats().to_dict(),
    }


def paged_by_cursor(registry: Registry, *, limit: int) -> list[int]:
    """The duplicates' ids, read ``limit`` at a time by following ``next_cursor`` to the end."""
    ids: list[int] = []
    cursor = None
    for _ in range(10_000):  # bounded: a cursor that never ends is a failure, not a hang
        page = registry.duplicates(limit=limit, cursor=cursor)
        ids += [g.id for g in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("next_cursor never ended")
