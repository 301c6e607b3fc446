"""Sixteen kernels registering at once, on one fresh registry: nothing lost, nothing twice.

Each of 16 spawned processes opens its own ``Registry(url)`` on an empty database (so the schema
migration races too) and registers 50 downloads, in its own shuffled order. They overlap the way a lab
does: the same download registered by everyone, mirrors of one content, one URL downloaded into many
home folders, one shared path reached through many URLs. The expected rows are computed from the same
plan; the test then checks every table's exact count and that every expected row is there.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import traceback
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

if TYPE_CHECKING:
    from ddas.registry import Registry

PROCESSES = 16
PER_PROCESS = 50
HOST = "hpc-login1"


@dataclass(frozen=True)
class Planned:
    url: str
    etag: str
    blake3: str
    location: str
    label: str  # what content this is (for digests)


def _b3(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def plan(proc: int) -> list[Planned]:
    """The 50 downloads process ``proc`` registers: 10 of each kind of overlap."""
    out = []
    for i in range(PER_PROCESS):
        group, k = divmod(i, 10)
        if group == 0:  # everyone registers the very same download
            out.append(
                Planned(
                    f"https://data.example.org/shared/{k}.nc",
                    f'"s{k}"',
                    _b3(f"s{k}"),
                    f"/store/shared/{k}.nc",
                    f"s{k}",
                )
            )
        elif group == 1:  # a mirror of that content, into one's own folder
            out.append(
                Planned(
                    f"https://mirror{proc}.example.org/shared/{k}.nc",
                    f'"s{k}"',
                    _b3(f"s{k}"),
                    f"/home/user{proc}/mirror/{k}.nc",
                    f"s{k}",
                )
            )
        elif group == 2:  # one URL, downloaded by everyone into their home
            out.append(
                Planned(
                    f"https://data.example.org/common/{k}.nc",
                    f'"c{k}"',
                    _b3(f"c{k}"),
                    f"/home/user{proc}/common/{k}.nc",
                    f"c{k}",
                )
            )
        elif group == 3:  # one shared path, reached through many URLs
            out.append(
                Planned(
                    f"https://site{proc}.example.org/loc/{k}.nc",
                    f'"l{k}"',
                    _b3(f"l{k}"),
                    f"/shared/datasets/{k}.nc",
                    f"l{k}",
                )
            )
        else:  # nobody else's business
            out.append(
                Planned(
                    f"https://data.example.org/u{proc}/{k}.nc",
                    f'"u{proc}-{k}"',
                    _b3(f"u{proc}-{k}"),
                    f"/home/user{proc}/u/{k}.nc",
                    f"u{proc}-{k}",
                )
            )
    random.Random(proc).shuffle(out)
    return out


def digests_of(item: Planned, proc: int) -> dict[str, str]:
    """md5 and sha256 aliases, in a process-dependent order (writers must not deadlock on it)."""
    pairs = [
        ("md5", hashlib.md5(item.label.encode()).hexdigest()),
        ("sha256", hashlib.sha256(b"alias" + item.label.encode()).hexdigest()),
    ]
    return dict(pairs if proc % 2 else pairs[::-1])


def register_batch(url: str, proc: int, barrier: Barrier, errors: Queue) -> None:
    """Body of one spawned process."""
    try:
        os.environ["DDAS_USER"] = f"user{proc}"
        from ddas.identity import Validators
        from ddas.registry import Registry

        barrier.wait(timeout=120)
        registry = Registry(url)  # all 16 migrate the empty database at once
        for item in plan(proc):
            registry.record_download(
                url=item.url,
                validators=Validators(etag=item.etag, size=1000),
                blake3=item.blake3,
                size=1000,
                location=item.location,
                host=HOST,
                digests=digests_of(item, proc),
            )
    except BaseException:
        errors.put(f"process {proc}:\n{traceback.format_exc()}")
        raise


def expected_rows() -> tuple[set, set, set, dict[tuple[str, str], str]]:
    """(contents, sources, copies, digests) that the plan must produce."""
    contents, sources, copies, digests = set(), set(), set(), {}
    for proc in range(PROCESSES):
        for item in plan(proc):
            contents.add(item.blake3)
            sources.add((item.url, f"{item.etag}||1000", item.blake3))
            copies.add((HOST, item.location, item.blake3))
            for algorithm, value in digests_of(item, proc).items():
                digests[(algorithm, value)] = item.blake3
    return contents, sources, copies, digests


def test_expected_overlaps_are_what_the_story_says() -> None:
    contents, sources, copies, digests = expected_rows()
    assert (len(contents), len(sources), len(copies), len(digests)) == (190, 500, 500, 380)


def assert_rows_are_the_story(registry: Registry) -> str:
    """Every row the sixteen processes should have written, exactly once; returns the schema
    revision the registry was migrated to."""
    contents, sources, copies, digests = expected_rows()
    with registry.engine.connect() as conn:

        def q(sql: str) -> list[tuple]:
            return [tuple(r) for r in conn.execute(sa.text(sql))]

        counts = {
            t: q(f"SELECT COUNT(*) FROM {t}")[0][0]
            for t in ("contents", "digests", "sources", "copies", "events", "leases")
        }
        assert counts == {
            "contents": 190,
            "digests": 380,
            "sources": 500,
            "copies": 500,
            "events": PROCESSES * PER_PROCESS,
            "leases": 0,
        }
        assert {r[0] for r in q("SELECT blake3 FROM contents")} == contents
        assert (
            set(
                q(
                    "SELECT s.url, s.version_key, c.blake3 FROM sources s "
                    "JOIN contents c ON c.id = s.content_id"
                )
            )
            == sources
        )
        assert (
            set(
                q(
                    "SELECT p.host, p.location, c.blake3 FROM copies p "
                    "JOIN contents c ON c.id = p.content_id"
                )
            )
            == copies
        )
        assert {
            (a, v): b
            for a, v, b in q(
                "SELECT d.algorithm, d.value, c.blake3 FROM digests d "
                "JOIN contents c ON c.id = d.content_id"
            )
        } == digests
        per_user = dict(q('SELECT "user", COUNT(*) FROM events GROUP BY "user"'))
        assert per_user == {f"user{p}": PER_PROCESS for p in range(PROCESSES)}
        dangling = q(
            "SELECT e.id FROM events e LEFT JOIN copies p ON p.id = e.copy_id "
            "WHERE p.id IS NULL OR p.content_id <> e.content_id"
        )
        assert dangling == [], "every event points at the copy (and content) it registered"
        owners = dict(q("SELECT location, owner FROM copies WHERE location LIKE '/store/%'"))
        assert set(owners.values()) <= {f"user{p}" for p in range(PROCESSES)}
        [(version,)] = q("SELECT version_num FROM alembic_version")
    return version


@pytest.mark.slow
def test_sixteen_processes_registering_at_once_lose_nothing_and_duplicate_nothing(
    registry_url: str,
) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, errors = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [
        ctx.Process(target=register_batch, args=(registry_url, p, barrier, errors))
        for p in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert not failures, "\n".join(failures)
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    from ddas.registry import Registry

    registry = Registry(registry_url)
    version = assert_rows_are_the_story(registry)
    from ddas.registry.engine import head_revision

    assert version == head_revision(), "migrated exactly to head, once"
    assert len(registry.copies_for_url("https://data.example.org/common/3.nc")) == PROCESSES
    assert len(registry.copies_for_digest(_b3("s0"))) == 1 + PROCESSES  # store + 16 mirrors
