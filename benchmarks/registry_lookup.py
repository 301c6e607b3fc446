"""Lookup latency of the registry's hot path, from 1,000 to 1,000,000 copies, SQLite and PostgreSQL.

What ``ddas.fetch`` pays before deciding to download: ``Registry.copies_for_url`` (normalize the URL,
one indexed join) and ``Registry.copies_for_digest`` (``ddas find <digest>``). Each is timed over
random existing keys and set beside its peer, the *same indexed query* through a raw DB-API cursor
on a connection held open ("database only"), so the last column is our overhead: normalization,
SQLAlchemy, pooling and building records.

The registry is seeded with SQLAlchemy Core executemany straight into the tables (the API's
one-transaction-per-download is meant for correctness, not for loading a million rows). PostgreSQL
runs in its own schema, dropped afterwards.

    python benchmarks/registry_lookup.py --sizes 1000 100000 1000000 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seeding import BATCH, PG_URL, bulk_load, fresh_registry, p99, source_rows

from ddas.registry import Registry
from ddas.registry.models import Content, Copy, Digest, Source

URL_SQL = (
    "SELECT c.id, c.content_id, c.host, c.location, c.owner, c.state, c.size, c.in_store,"
    " c.created_at, c.verified_at, c.mtime_ns, c.device, c.inode, t.blake3"
    " FROM sources s JOIN copies c ON c.content_id = s.content_id"
    " JOIN contents t ON t.id = c.content_id"
    " WHERE s.url = {p} AND c.state = 'present' ORDER BY c.in_store DESC, c.verified_at DESC"
)
DIGEST_SQL = (
    "SELECT c.id, c.content_id, c.host, c.location, c.owner, c.state, c.size, c.in_store,"
    " c.created_at, c.verified_at, c.mtime_ns, c.device, c.inode, t.blake3"
    " FROM contents t JOIN copies c ON c.content_id = t.id"
    " WHERE t.blake3 = {p} AND c.state = 'present' ORDER BY c.in_store DESC, c.id"
)


def url_of(i: int) -> str:
    """Already normalized, so the peer query and the API look up the same key."""
    return f"https://data{i % 97}.example.org/project{i % 1013}/v1/file_{i}.nc"


def blake3_of(i: int) -> str:
    return uuid.UUID(int=(i * 0x9E3779B97F4A7C15 + 12345) % (1 << 128)).hex * 2


def rows(n: int) -> Iterator[tuple[list[dict], list[dict], list[dict], list[dict]]]:
    """contents, digests, sources, copies in batches: one of each per dataset, as after fetches."""
    now = time.time()
    for start in range(1, n + 1, BATCH):
        ids = range(start, min(start + BATCH, n + 1))
        yield (
            [
                {
                    "id": i,
                    "blake3": blake3_of(i),
                    "size": 1000 + i,
                    "name": f"file_{i}.nc",
                    "ext": ".nc",
                    "created_at": now,
                    "last_used_at": now,
                }
                for i in ids
            ],
            [
                {"id": i, "content_id": i, "algorithm": "md5", "value": blake3_of(i)[:32]}
                for i in ids
            ],
            source_rows(ids, now, url_of),
            [
                {
                    "id": i,
                    "content_id": i,
                    "host": "hpc",
                    "location": f"/store/{i}/file_{i}.nc",
                    "owner": f"user{i % 40}",
                    "state": "present",
                    "in_store": True,
                    "size": 1000 + i,
                    "mtime_ns": i,
                    "device": 1,
                    "inode": i,
                    "created_at": now,
                    "verified_at": now,
                }
                for i in ids
            ],
        )


def seed(registry: Registry, n: int) -> float:
    return bulk_load(registry, rows(n), (Content, Digest, Source, Copy))


@contextmanager
def backend_registry(backend: str) -> Iterator[tuple[Registry, Callable[[], object], str]]:
    """A fresh, migrated registry plus a raw DB-API connection factory and paramstyle."""
    with fresh_registry(backend) as registry:
        url = registry.engine.url
        if backend == "sqlite":
            yield registry, lambda: sqlite3.connect(url.database), "?"
            return
        import psycopg

        schema = url.query["options"].split("search_path=", 1)[1]
        conninfo = sa.make_url(PG_URL).set(drivername="postgresql")
        dsn = conninfo.render_as_string(hide_password=False)
        yield (
            registry,
            lambda: psycopg.connect(dsn, options=f"-csearch_path={schema}", autocommit=True),
            "%s",
        )


def timed(fn: Callable[[str], object], keys: list[str], warmup: int = 200) -> list[float]:
    for key in keys[:warmup]:
        fn(key)
    out = []
    for key in keys:
        t0 = time.perf_counter_ns()
        result = fn(key)
        out.append((time.perf_counter_ns() - t0) / 1e6)
        assert result, f"no copy found for {key}"
    return out


def run(backend: str, n: int, lookups: int) -> list[dict]:
    with backend_registry(backend) as (registry, raw_connect, p):
        seconds = seed(registry, n)
        picks = random.Random(n).sample(range(1, n + 1), min(lookups, n))
        if len(picks) < lookups:
            picks = [random.Random(n + k).randint(1, n) for k in range(lookups)]
        raw = raw_connect()
        cur = raw.cursor()

        def raw_query(sql: str) -> Callable[[str], object]:
            def query(key: str) -> list:
                cur.execute(sql, (key,))
                return cur.fetchall()

            return query

        ops = [
            (
                "by URL",
                [url_of(i) for i in picks],
                registry.copies_for_url,
                raw_query(URL_SQL.format(p=p)),
            ),
            (
                "by digest",
                [blake3_of(i) for i in picks],
                registry.copies_for_digest,
                raw_query(DIGEST_SQL.format(p=p)),
            ),
        ]
        out = []
        for name, keys, api, peer in ops:
            ours, theirs = timed(api, keys), timed(peer, keys)
            out.append(
                {
                    "backend": backend,
                    "copies": n,
                    "lookup": name,
                    "seed_s": seconds,
                    "api_med": statistics.median(ours),
                    "api_p99": p99(ours),
                    "db_med": statistics.median(theirs),
                    "db_p99": p99(theirs),
                }
            )
        raw.close()
        return out


def print_table(results: list[dict]) -> None:
    head = (
        f"{'backend':<11}{'copies':>10}  {'lookup':<10}{'API median':>12}{'API p99':>10}"
        f"{'DB median':>11}{'DB p99':>9}{'ratio':>7}{'seed s':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['backend']:<11}{r['copies']:>10,}  {r['lookup']:<10}"
            f"{r['api_med']:>10.3f}ms{r['api_p99']:>8.3f}ms{r['db_med']:>9.3f}ms"
            f"{r['db_p99']:>7.3f}ms{r['api_med'] / r['db_med']:>6.1f}x{r['seed_s']:>8.1f}"
        )
    print(
        "API = through Registry (normalize + SQLAlchemy + records); DB = the same indexed "
        "query on a raw DB-API cursor. Target: API median <= 1 ms, p99 <= 5 ms at 1M."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--lookups", type=int, default=2_000, help="timed lookups per cell")
    args = parser.parse_args(argv)
    results = []
    for backend in args.backends:
        for n in args.sizes:
            print(f"... {backend}, {n:,} copies", file=sys.stderr, flush=True)
            results.extend(run(backend, n, args.lookups))
    print_table(results)


if __name__ == "__main__":
    main()
