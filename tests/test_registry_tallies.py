"""The running totals behind ``duplicates`` and ``stats`` stay exact: after any mix of downloads,
reuses, scans, missing/corrupt marks, re-verifications and forgotten copies (one writer, or several
at once), they equal a full recount of the rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import hashlib
import random
import threading
import time

import pytest

from ddas.identity import Validators
from ddas.registry import Registry, tallies
from ddas.registry.scans import ScannedCopy
from tests.recount import recount, reported

USERS = ("alice", "bob", "carol")
NAMES = ("era5.nc", "genome.fa.gz", "obs.csv", "README", "run.tar.gz")
DAY = 86400.0


def b3(label: object) -> str:
    return hashlib.sha256(str(label).encode()).hexdigest()


class Writer:
    """Random registry writes over a small world (few contents, places, inodes), so that copies
    often move between contents, share inodes (hardlinks) and change state."""

    def __init__(self, registry: Registry, seed: int) -> None:
        self.registry, self.rng = registry, random.Random(seed)

    def content(self) -> tuple[str, int, str]:
        k = self.rng.randrange(8)
        return b3(k), 100 * (k + 1), NAMES[k % len(NAMES)]

    def place(self) -> dict[str, object]:
        rng = self.rng
        inode = rng.choice([None, rng.randrange(6)])
        return {"host": rng.choice(["h1", "h2"]), "device": 1, "inode": inode}

    def location(self) -> str:
        return f"/data/{self.rng.randrange(14)}"

    def copy_id(self) -> int | None:
        with self.registry.engine.connect() as conn:
            ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM copies ORDER BY id")]
        return self.rng.choice(ids) if ids else None

    def step(self) -> None:
        r, rng = self.registry, self.rng
        op = rng.choice(
            ["download", "reuse", "file", "scan", "mark", "missing", "verify", "forget"]
        )
        blake3, size, name = self.content()
        user = rng.choice(USERS)
        if op == "download":
            r.record_download(
                url=f"https://data.example.org/{name}?v={rng.randrange(3)}",
                validators=Validators(size=size),
                blake3=blake3,
                size=size,
                name=name,
                location=self.location(),
                owner=user,
                **self.place(),
            )
        elif op == "reuse":
            cid = r.content_id_for_digest(blake3)
            at = time.time() - rng.choice([0, 1, 30, 89, 91, 400]) * DAY
            r.record_event("reuse", user=user, content_id=cid, nbytes=size, now=at)
        elif op == "file":
            hashed = blake3 if rng.random() < 0.8 else None
            r.register_file(self.location(), size=size, blake3=hashed, owner=user, **self.place())
        elif op == "scan":
            files = {}  # one row per place, as a scan walks each path once
            for _ in range(rng.randrange(1, 8)):
                blake3, size, _name = self.content()
                p, location = self.place(), self.location()
                files[(p["host"], location)] = ScannedCopy(
                    location,
                    str(p["host"]),
                    size,
                    blake3 if rng.random() < 0.85 else None,
                    rng.randrange(10**6),
                    1,
                    p["inode"],  # type: ignore[arg-type]
                    user,
                )
            r.register_scanned(list(files.values()), batch_size=rng.choice([2, 4000]))
        elif (copy_id := self.copy_id()) is None:
            return
        else:
            # KeyError: another writer forgot that copy in between, a legal race
            with contextlib.suppress(KeyError):
                self.change(op, copy_id, size, user)

    def change(self, op: str, copy_id: int, size: int, user: str) -> None:
        r, rng = self.registry, self.rng
        if op == "mark":
            r.mark_copy(copy_id, rng.choice(["missing", "corrupt", "present"]))
        elif op == "missing":
            r.mark_missing([copy_id] + ([cid] if (cid := self.copy_id()) else []))
        elif op == "verify":
            r.mark_verified(copy_id, size=size, mtime_ns=rng.randrange(10**6))
        else:
            r.forget_copy(copy_id, user=user)


def assert_exact(registry: Registry) -> None:
    assert reported(registry) == recount(registry)


def test_random_writes_keep_the_totals_equal_to_a_full_recount(registry: Registry) -> None:
    writer = Writer(registry, seed=13)
    for step in range(1, 161):
        writer.step()
        if step % 40 == 0:
            assert_exact(registry)
    expected = recount(registry)
    assert expected["duplicates"] and expected["stats"]["reuses"], "the mix made both kinds"

    registry.rebuild_tallies()  # recounting from scratch changes nothing

    assert reported(registry) == expected


def test_concurrent_writers_keep_the_totals_exact(registry: Registry) -> None:
    """Four threads writing at once (on PostgreSQL, truly concurrent transactions that recount
    the same contents): each recount waits for the other's lock, none is counted twice."""
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(seed: int) -> None:
        writer = Writer(Registry(registry.url), seed)
        start.wait()
        try:
            for _ in range(25):
                writer.step()
        except BaseException as exc:  # reported below, with the thread's seed
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert_exact(registry)


def test_the_savings_chart_counts_whole_utc_days_of_the_last_90(registry: Registry) -> None:
    copy = registry.record_download(
        url="https://data.example.org/a.nc",
        validators=Validators(size=5),
        blake3=b3("a"),
        size=5,
        location="/a.nc",
    )
    for age in (0, 0, 3, 95):
        at = time.time() - age * DAY
        registry.record_event("reuse", user="bob", content_id=copy.content_id, nbytes=5, now=at)

    stats = registry.stats()

    assert [d.reuses for d in stats.over_time] == [1, 2], "95 days ago is outside the chart"
    assert stats.reuses == 4 and stats.by_user[0].bytes_saved == 20, "but counts in the totals"


def test_the_generation_moves_on_with_each_committed_change_only(registry: Registry) -> None:
    """A server answers "not modified" while the generation stands still: it must move on with
    every change of copies or events, and only with a committed one."""
    start = registry.generation()
    copy = registry.record_download(
        url="https://data.example.org/g.nc",
        validators=Validators(size=7),
        blake3=b3("g"),
        size=7,
        location="/g.nc",
    )
    after_download = registry.generation()
    registry.mark_verified(copy.id, size=7, mtime_ns=copy.mtime_ns or 0)  # changes no tally
    unchanged = registry.generation()
    registry.forget_copy(copy.id, user="alice")
    after_forget = registry.generation()
    with contextlib.suppress(RuntimeError), registry.db.write() as s:
        tallies.count_event(s.connection(), "reuse", "bob", copy.content_id, 7, time.time())
        raise RuntimeError("rolled back")
    rolled_back = registry.generation()

    assert start < after_download == unchanged < after_forget == rolled_back


def test_a_cursor_not_given_out_is_refused_with_what_to_do(registry: Registry) -> None:
    for bad in ("", "abc", "MTIz", "LTEuMg"):  # nothing, garbage, "123", "-1.2"
        with pytest.raises(ValueError, match="next_cursor"):
            registry.duplicates(cursor=bad)


def _reports(registry: Registry) -> dict[str, object]:
    return {
        "duplicates": registry.duplicates().to_dict(),
        "stats": registry.stats().to_dict(),
        "events": [e.to_dict() for e in registry.events(limit=1000)],
    }


def test_no_report_changes_while_its_generation_stands_still(registry: Registry) -> None:
    """Each report has its own generation (a server's 304s and cache trust it): after every one
    of random writes, a report that changed has a new generation. And the generations are
    apart: some writes moved one and not another (an event, not the duplicates')."""
    writer, moved_alone = Writer(registry, seed=29), {"duplicates": 0, "stats": 0}
    before = _reports(registry)
    generations = {c: registry.generation(c) for c in tallies.CONCERNS}
    for _ in range(120):
        writer.step()
        after = _reports(registry)
        now = {c: registry.generation(c) for c in tallies.CONCERNS}
        for concern in tallies.CONCERNS:
            if after[concern] != before[concern]:
                assert now[concern] > generations[concern], f"{concern} changed unseen"
        for concern in moved_alone:
            moved_alone[concern] += now["events"] > generations["events"] and (
                now[concern] == generations[concern]
            )
        before, generations = after, now
    assert all(moved_alone.values()), f"events moved alone: {moved_alone}"


def test_a_copy_change_moves_the_duplicates_generation_and_an_alert_does_not(
    registry: Registry,
) -> None:
    first = registry.record_download(
        url="https://data.example.org/d.nc",
        validators=Validators(size=9),
        blake3=b3("d"),
        size=9,
        location="/a/d.nc",
    )
    second = registry.register_file("/b/d.nc", size=9, blake3=b3("d"))  # a duplicate now
    dup, stats = registry.generation("duplicates"), registry.generation("stats")
    events = registry.generation("events")

    registry.record_event("alert", content_id=first.content_id, detail={"n": 1})
    assert registry.generation("events") == events + 1
    assert (registry.generation("duplicates"), registry.generation("stats")) == (dup, stats)

    registry.mark_verified(second.id, size=9, mtime_ns=5)  # the group's copy list changed
    assert registry.generation("duplicates") == dup + 1 and registry.generation("stats") == stats
    registry.record_event("reuse", user="bob", content_id=first.content_id, nbytes=9)
    assert registry.generation("duplicates") == dup + 2, "the group's last use changed"
    assert registry.generation("stats") == stats + 1, "a reuse is counted in the stats"
    registry.forget_copy(second.id, user="alice")  # no longer a duplicate
    assert registry.generation("duplicates") == dup + 3 and registry.generation("stats") > stats
    assert registry.duplicates().total == 0
