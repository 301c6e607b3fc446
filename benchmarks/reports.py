"""The sidebar's report routes in-process at 1M copies: duplicates, stats, events, beside a recount.

``Registry.duplicates`` (first page, a random deep page by cursor, a page 90,000 groups deep by
offset), ``Registry.stats`` and
``Registry.events`` (after an id; one user's; rare kinds), each timed over repeated calls on the
registry ``benchmarks/seeding.py`` builds (``--keep DIR``). The peer is what these routes cost before the
running tallies: the recount of every present copy they used to do (``GROUP BY content_id`` over the
copies for the duplicates, the same with a ``SUM`` for the stats), timed on the same connection
pool. Target: p99 <= 50 ms at 1M, on SQLite and PostgreSQL.

    python benchmarks/reports.py --copies 1000000 --backends sqlite postgresql --keep /tmp/regscale-1m
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "jupyter_server_ext"), str(Path(__file__).parent)]

from load import deep_cursor  # noqa: E402
from seeding import arguments, kept_registry, load_average  # noqa: E402

from ddas.registry import Registry  # noqa: E402

RECOUNT = (
    "SELECT count(*), sum(n) FROM (SELECT content_id, count(*) AS n FROM copies"
    " WHERE state = 'present' AND content_id IS NOT NULL GROUP BY content_id"
    " HAVING count(*) >= 2) AS groups"
)


def calls(registry: Registry, contents: int) -> list[tuple[str, Callable[[], object]]]:
    newest = registry.last_event_id()
    return [
        ("duplicates?limit=50", lambda: registry.duplicates(limit=50).to_dict()),
        ("duplicates?cursor=<deep>", lambda: deep_page(registry, contents)),
        ("duplicates?offset=90000", lambda: registry.duplicates(offset=90_000, limit=50)),
        ("stats", lambda: registry.stats().to_dict()),
        ("events?since=newest-100", lambda: registry.events(since=max(0, newest - 100))),
        ("events?user=&since=0", lambda: registry.events(since=0, user="fetcher3")),
        ("events?kind=forget,scan", lambda: registry.events(kinds=("forget", "scan"))),
    ]


_DEEP = random.Random(13)


def deep_page(registry: Registry, contents: int) -> object:
    """A page anywhere in the list, reached by a cursor (as "Load more" pages down)."""
    cursor = deep_cursor(contents, _DEEP.randint(1, contents - 100))
    return registry.duplicates(limit=50, cursor=cursor)


def timed(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # the first call compiles the statements
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def run(backend: str, copies: int, n: int, keep: Path | None) -> list[dict]:
    with kept_registry(backend, copies, keep) as registry:
        with registry.engine.connect() as conn:
            recount = timed(lambda: conn.execute(sa.text(RECOUNT)).all(), max(3, n // 20))
        out = []
        for label, fn in calls(registry, copies // 2):
            ours = timed(fn, n)
            out.append(
                {
                    "backend": backend,
                    "call": label,
                    "p50": statistics.median(ours),
                    "p99": p99(ours),
                    "recount": statistics.median(recount),
                    "load": load_average(),
                }
            )
        return out


def main(argv: list[str] | None = None) -> None:
    parser = arguments(__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    results = []
    for backend in args.backends:
        print(f"... {backend}, {args.copies:,} copies", file=sys.stderr, flush=True)
        results += run(backend, args.copies, args.calls, args.keep)
    head = f"{'backend':<11}{'call':<26}{'p50':>9}{'p99':>9}{'recount p50':>13}{'ratio':>8}"
    print(head + "  load average after")
    for r in results:
        print(
            f"{r['backend']:<11}{r['call']:<26}{r['p50']:>7.1f}ms{r['p99']:>7.1f}ms"
            f"{r['recount']:>11.0f}ms{r['recount'] / r['p50']:>7.0f}x  {r['load']}"
        )
    print(
        "in-process Registry calls; recount = the GROUP BY over every present copy that the "
        "duplicates and stats routes ran before the tallies. Target: p99 <= 50 ms."
    )


if __name__ == "__main__":
    main()
