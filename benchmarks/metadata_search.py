"""Search by metadata words over HTTP at 1M copies, next to search by name, SQLite and PostgreSQL.

``datasets?q=`` also finds a dataset by a word of its extracted metadata (a variable name, a word of
its title or long name) or of its annotation. Those words live in ``metadata_words`` (word, content)
with the word leading the primary key, so a word is a btree range. The target is the one names
have (``api.py``): HTTP p99 <= 50 ms at 1M copies.

The registry is ``api.py``'s (1M copies = 500,000 contents, two copies each, names such as
``era5_0004242.nc``) plus, per content, eight metadata words and a ``content_metadata`` row:

* ``temperature4242`` (a variable's long-name word one content in 10,000 shares: 50 matches);
* its prefix ``temperature424`` (500 matches: ``q=temp`` finds ``temperature``);
* three of a CF-like vocabulary of 200 variable names (``var042``: 1.5 % of contents, 7,500);
* three title words of six (``reanalysis``: half of all contents, 250,000).

Each is timed over HTTP on a real ``jupyter server`` (``api.py``'s, token auth, keep-alive) and
directly (the same ``Registry.search`` in-process), beside the name searches of the same registry
as peers: a selective name word (one match) and a topic (``era5``: 50,000 matches).

Seeding 1M copies takes many minutes on a shared machine: ``--keep DIR`` builds each backend's
registry once (an SQLite file in DIR, a PostgreSQL schema ``ddas_meta_<copies>``) and reuses it.

    python benchmarks/metadata_search.py --copies 1000000 --keep /tmp/collections-1m
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import TOPICS, get, jupyter_server, rows
from registry_lookup import PG_URL, bulk_load, p99

from ddas.registry import Registry
from ddas.registry.database import _ENGINES
from ddas.registry.models import (
    Content,
    ContentMetadata,
    Copy,
    MetadataWord,
    Source,
)

VOCABULARY = [f"var{k:03d}" for k in range(200)]  # t2m, tp, sst... as 200 distinct names
TITLE = ["reanalysis", "hourly", "surface", "ensemble", "monthly", "forecast"]
MODELS = (Content, Source, Copy, ContentMetadata, MetadataWord)


def words_of(i: int) -> list[str]:
    """Eight distinct words of content ``i``: a rare one, three variables, title words."""
    out = {f"rare{i // 10_000:05d}x{i % 10_000 // 1000}", f"temperature{i % 10_000:04d}"}
    out.update(VOCABULARY[(i * k) % len(VOCABULARY)] for k in (1, 7, 13))
    out.update(TITLE[(i + k) % len(TITLE)] for k in (0, 2, 3))
    return sorted(out)


def seeded_rows(contents: int) -> Iterator[tuple[list[dict], ...]]:
    """``api.py``'s rows plus each content's metadata document row and words."""
    now = time.time()
    for batch in rows(contents):
        ids = [c["id"] for c in batch[0]]
        meta = [
            {
                "content_id": i,
                "format": "netcdf",
                "summary": f"{VOCABULARY[i % 200]} (K), 2020-01-01…2020-12-31, 0.25°",
                "doc": "{}",
                "signature": None,
                "extracted_at": now,
                "seconds": 0.01,
            }
            for i in ids
        ]
        words = [{"word": w, "content_id": i} for i in ids for w in words_of(i)]
        yield (*batch, meta, words)


@contextmanager
def kept_registry(backend: str, copies: int, keep: Path | None) -> Iterator[Registry]:
    """The seeded registry of ``copies`` copies, built once under ``keep`` (or thrown away)."""
    admin = None
    if backend == "sqlite":
        folder = keep or Path(tempfile.mkdtemp(prefix="ddas-meta-"))
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / f'registry-meta-{copies}.db'}"
    else:
        schema = f"ddas_meta_{copies}" if keep else f"ddas_meta_{os.getpid()}_{time.time_ns()}"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    registry = Registry(url)
    with registry.engine.connect() as conn:
        seeded = conn.scalar(sa.select(sa.func.count()).select_from(ContentMetadata))
    if seeded < copies // 2:
        print(f"    seeding {copies:,} copies with metadata ...", file=sys.stderr, flush=True)
        seconds = bulk_load(registry, seeded_rows(copies // 2), MODELS)
        print(f"    seeded in {seconds:.0f} s", file=sys.stderr, flush=True)
    try:
        yield registry
    finally:
        _ENGINES.pop(url).dispose()
        if admin is not None:
            if not keep:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def cases(contents: int, n: int) -> list[tuple[str, list[str]]]:
    """(label, search texts) for each measured call; names first (the peers)."""
    rnd = random.Random(contents)
    picks = [rnd.randint(1, contents) for _ in range(n)]
    return [
        ("name word (1 match)", [f"{i:07d}" for i in picks]),
        ("topic (50,000)", [TOPICS[i % len(TOPICS)] for i in picks]),
        ("rare word (50)", [f"temperature{i % 10_000:04d}" for i in picks]),
        ("word prefix (500)", [f"temperature{i % 10_000:04d}"[:-1] for i in picks]),
        ("variable (7,500)", [VOCABULARY[i % len(VOCABULARY)] for i in picks]),
        ("title word (250,000)", [TITLE[i % len(TITLE)] for i in picks]),
        ("two words", [f"{TITLE[i % 6]} {VOCABULARY[i % 200]}" for i in picks]),
    ]


def timed(fn: Callable[[str], dict | object], keys: list[str], warmup: int = 10) -> list[float]:
    for key in keys[:warmup]:
        fn(key)
    out = []
    for key in keys:
        t0 = time.perf_counter_ns()
        found = fn(key)
        out.append((time.perf_counter_ns() - t0) / 1e6)
        total = found["total"] if isinstance(found, dict) else found.total
        assert total, f"nothing found for {key!r}"
    return out


def run(backend: str, copies: int, n: int, keep: Path | None) -> list[dict]:
    out = []
    with (
        kept_registry(backend, copies, keep) as registry,
        tempfile.TemporaryDirectory(prefix="ddas-bench-meta-") as tmp,
        jupyter_server(registry.url, Path(tmp)) as conn,
    ):
        before = os.getloadavg()[0]
        for label, keys in cases(copies // 2, n):
            ours = timed(lambda q: get(conn, "/ddas/api/datasets", {"q": q}), keys)
            peer = timed(lambda q: registry.search(q), keys)
            out.append(
                {
                    "backend": backend,
                    "copies": copies,
                    "call": label,
                    "http_med": statistics.median(ours),
                    "http_p99": p99(ours),
                    "direct_med": statistics.median(peer),
                    "direct_p99": p99(peer),
                    "load": f"{before:.1f}-{os.getloadavg()[0]:.1f}",
                }
            )
            print(f"    {label}: HTTP p99 {p99(ours):.1f} ms", file=sys.stderr, flush=True)
    return out


def print_table(results: list[dict]) -> None:
    head = (
        f"{'backend':<11}{'copies':>10}  {'datasets?q=':<22}{'HTTP p50':>10}{'HTTP p99':>10}"
        f"{'direct p50':>12}{'direct p99':>12}{'vs name':>9}  load"
    )
    print(head)
    print("-" * len(head))
    peers = {(r["backend"], r["copies"]): r["http_med"] for r in results if "name" in r["call"]}
    for r in results:
        ratio = r["http_med"] / peers[(r["backend"], r["copies"])]
        print(
            f"{r['backend']:<11}{r['copies']:>10,}  {r['call']:<22}"
            f"{r['http_med']:>8.1f}ms{r['http_p99']:>8.1f}ms{r['direct_med']:>10.1f}ms"
            f"{r['direct_p99']:>10.1f}ms{ratio:>8.2f}x  {r['load']}"
        )
    print(
        "HTTP = GET /ddas/api/datasets?q= on a real jupyter server; direct = Registry.search "
        "in-process; 'vs name' = HTTP p50 over that of the selective name word. Target: HTTP "
        "p99 <= 50 ms. load = 1-minute load average before-after the call's runs."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1_000_000])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per call")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the seeded registries here")
    parser.add_argument(
        "--seed-only", action="store_true", help="build the registries, time nothing"
    )
    args = parser.parse_args(argv)
    results = []
    for backend in args.backends:
        for copies in args.copies:
            print(f"... {backend}, {copies:,} copies", file=sys.stderr, flush=True)
            if args.seed_only:
                with kept_registry(backend, copies, args.keep):
                    continue
            results.extend(run(backend, copies, args.requests, args.keep))
    if results:
        print_table(results)


if __name__ == "__main__":
    main()
