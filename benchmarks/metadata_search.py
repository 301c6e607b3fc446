"""Search by metadata words next to search by name, at up to 1M copies, SQLite and PostgreSQL.

``datasets?q=`` also finds a dataset by a word of its extracted metadata (a variable name, a word of
its title or long name) or of its annotation. Those words live in ``metadata_words`` (word, content)
with the word leading the primary key, so a word is a btree range. This benchmark seeds the registry
of ``registry_lookup.py`` (one content, source, copy per dataset) plus eight metadata words per
dataset — a rare one (one dataset in 10,000 shares it), a few of a CF-like vocabulary of 200
variable names, title words — and times ``Registry.search`` for:

* a selective name substring (the peer: what the name search already costs);
* a rare metadata word, and a rare word's prefix (``q=temp`` finds ``temperature``);
* a common metadata word (in 3 datasets of 200), next to its peer: a name substring about as
  common (``file_42``: 1.1 % of the names).

    python benchmarks/metadata_search.py --sizes 100000 1000000 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry_lookup import backend_registry, rows
from seeding import bulk_load, p99

from ddas.registry.models import Content, Copy, Digest, MetadataWord, Source

VOCABULARY = [f"var{k:03d}" for k in range(200)]  # t2m, tp, sst... as 200 distinct names
TITLE = ["reanalysis", "hourly", "surface", "ensemble", "monthly", "forecast"]


def words_of(i: int) -> list[str]:
    """Eight distinct words of dataset ``i``: a rare one, three variables, title words."""
    out = {f"rare{i // 10_000:05d}x{i % 10_000 // 1000}", f"temperature{i % 10_000:04d}"}
    out.update(VOCABULARY[(i * k) % len(VOCABULARY)] for k in (1, 7, 13))
    out.update(TITLE[(i + k) % len(TITLE)] for k in (0, 2, 3))
    return sorted(out)


def seeded_rows(n: int) -> Iterator[tuple[list[dict], ...]]:
    for batch in rows(n):
        contents = batch[0]
        words = [{"word": w, "content_id": c["id"]} for c in contents for w in words_of(c["id"])]
        yield (*batch, words)


def timed(fn: Callable[[str], object], keys: list[str], warmup: int = 20) -> list[float]:
    import time

    for key in keys[:warmup]:
        fn(key)
    out = []
    for key in keys:
        t0 = time.perf_counter_ns()
        page = fn(key)
        out.append((time.perf_counter_ns() - t0) / 1e6)
        assert page.items, f"nothing found for {key!r}"
    return out


def run(backend: str, n: int, searches: int) -> list[dict]:
    with backend_registry(backend) as (registry, _raw, _p):
        seconds = bulk_load(registry, seeded_rows(n), (Content, Digest, Source, Copy, MetadataWord))
        rng = random.Random(n)
        picks = [rng.randint(1, n) for _ in range(searches)]
        cases = {
            "name substring": [f"file_{i}.nc" for i in picks],
            "rare word": [f"temperature{i % 10_000:04d}" for i in picks],
            "word prefix": [f"temperature{i % 10_000:04d}"[:-1] for i in picks],
            "broad name": [f"file_{i % 90 + 10}" for i in picks],  # ~1.1 % of names
            "common word": [VOCABULARY[i % len(VOCABULARY)] for i in picks],  # 1.5 %
        }
        out = []
        for case, keys in cases.items():
            samples = timed(registry.search, keys)
            out.append(
                {
                    "backend": backend,
                    "copies": n,
                    "case": case,
                    "median": statistics.median(samples),
                    "p99": p99(samples),
                    "seed_s": seconds,
                }
            )
        return out


def print_table(results: list[dict]) -> None:
    head = (
        f"{'backend':<11}{'copies':>10}  {'search':<16}{'median':>10}{'p99':>10}"
        f"{'vs name':>9}{'seed s':>8}"
    )
    print(head)
    print("-" * len(head))
    peers = {
        (r["backend"], r["copies"]): r["median"] for r in results if r["case"].startswith("name")
    }
    for r in results:
        ratio = r["median"] / peers[(r["backend"], r["copies"])]
        print(
            f"{r['backend']:<11}{r['copies']:>10,}  {r['case']:<16}{r['median']:>8.2f}ms"
            f"{r['p99']:>8.2f}ms{ratio:>8.2f}x{r['seed_s']:>8.1f}"
        )
    print(
        "Registry.search through the API (the sidebar's search box and datasets?q=); 'vs name' is "
        "the median over the median of a selective name search in the same registry."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--searches", type=int, default=200, help="timed searches per cell")
    args = parser.parse_args(argv)
    results = []
    for backend in args.backends:
        for n in args.sizes:
            print(f"... {backend}, {n:,} copies", file=sys.stderr, flush=True)
            results.extend(run(backend, n, args.searches))
    print_table(results)


if __name__ == "__main__":
    main()
