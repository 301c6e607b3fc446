"""CPU a search costs the process that runs it (the server, for ``datasets?q=``), at 1M copies.

Under load the server's CPU is what bounds its requests per second, and a search's CPU was mostly
SQLAlchemy building and compiling statements (``load.py``'s per-route figures). This times a loop
of ``Registry.search`` calls per kind of text with ``time.process_time`` (so SQLite's own work is
counted, PostgreSQL's is not: it runs in the server process of the database) and counts the
statements SQLAlchemy had to compile in the timed loop (0 once each shape is known). The peer is
the first page of all datasets (``datasets`` without ``q``), timed the same way in the same run.

    python benchmarks/search_cpu.py --backends sqlite --keep /tmp/regscale-1m
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine.default import CACHE_MISS

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

from seeding import TOPICS, arguments, kept_registry, load_average, name_of  # noqa: E402

from ddas.registry import Registry  # noqa: E402


def kinds(contents: int) -> list[tuple[str, Callable[[int], str]]]:
    """(label, text of content i) for each measured kind, ``api.py``'s texts."""
    return [
        ("datasets (first page, peer)", lambda i: ""),
        ("q=<exact name>", name_of),
        ("q=<name word>", lambda i: f"{i:07d}"),
        ("q=<URL part>", lambda i: f"data{i % 37}.example.org/{TOPICS[i % 10]}/{2000 + i % 25}"),
        ("q=<topic>", lambda i: TOPICS[i % 10]),
    ]


def measure(registry: Registry, text: Callable[[int], str], picks: list[int]) -> tuple[float, int]:
    """CPU milliseconds per search and statements compiled, over ``picks`` (5 untimed first)."""
    compiled: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        fts_probe = statement.startswith("SELECT -1, -1")  # plain text, parsed not compiled
        if context is not None and context.cache_hit is CACHE_MISS and not fts_probe:
            compiled.append(statement)

    for i in picks[:5]:
        registry.search(text(i))
    sa.event.listen(registry.engine, "after_cursor_execute", on_execute)
    try:
        started = time.process_time()
        for i in picks:
            registry.search(text(i))
        cpu = time.process_time() - started
    finally:
        sa.event.remove(registry.engine, "after_cursor_execute", on_execute)
    return 1000 * cpu / len(picks), len(compiled)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--searches", type=int, default=200, help="timed searches per kind")
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        with kept_registry(backend, args.copies, args.keep) as registry:
            registry.warm(connections=1)
            rnd = random.Random(args.copies)
            picks = [rnd.randint(1, args.copies // 2) for _ in range(args.searches)]
            peer = None
            for label, text in kinds(args.copies // 2):
                cpu, compiled = measure(registry, text, picks)
                peer = peer or cpu
                rows.append((backend, label, cpu, cpu / peer, compiled, load_average()))
    print("| backend | call | CPU / search | vs first page | compiled | load average |")
    print("|---|---|---:|---:|---:|---|")
    for backend, label, cpu, ratio, compiled, load in rows:
        n = args.searches
        print(f"| {backend} | `{label}` | {cpu:.1f} ms | {ratio:.2f}x | {compiled}/{n} | {load} |")


if __name__ == "__main__":
    main()
