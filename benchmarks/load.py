"""Every GET route of the REST API under concurrent clients, at 1M copies, while 8 fetchers write.

What an institution's sidebar users meet on a busy registry: 1, 16 and 64 clients (an aiohttp client
in its own process, one connection per client) send a round robin of every GET route (searches of
four kinds, a dataset, a lookup, duplicates first and deep pages, stats, events, whoami) to a real
``jupyter server`` for a bounded time, while 8 processes run ``ddas fetch`` in a loop against a local
HTTP file server, each at most ``--fetch-rate`` times a second (downloads, and reuses of what another
fetcher got). The peer is the same calls made
in-process on a ``Registry`` by one thread during the same writes: HTTP/peer is the cost of the server
and of the concurrency. Targets: p99 <= 100 ms at 16 clients, no request over 1 s at 64.

A million-row registry takes minutes to build on a shared machine; ``--keep DIR`` keeps it (an SQLite
file in DIR, a PostgreSQL schema named after the size) and later runs reuse it.

    python benchmarks/load.py --copies 1000000 --backends sqlite postgresql --seconds 15 --keep /tmp/ddas-load
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "jupyter_server_ext"), str(Path(__file__).parent)]

from api import TOKEN, TOPICS, get, jupyter_server, name_of, seed, url_of  # noqa: E402
from registry_lookup import PG_URL  # noqa: E402

from ddas.api import lookup_status  # noqa: E402
from ddas.registry import Registry  # noqa: E402
from ddas.registry.database import _ENGINES  # noqa: E402

FETCHERS = 8
FILES = 3000


def routes(contents: int, rnd: random.Random, newest: int) -> list[tuple[str, str, dict]]:
    """(label, path, params) of one round over every GET route, with random keys."""
    i = rnd.randint(1, contents)
    return [
        ("datasets?q=<exact name>", "datasets", {"q": name_of(i)}),
        (
            "datasets?q=<URL part>",
            "datasets",
            {"q": f"data{i % 37}.example.org/{TOPICS[i % 10]}/{2000 + i % 25}"},
        ),
        ("datasets?q=<topic>", "datasets", {"q": TOPICS[i % 10]}),
        ("datasets (first page)", "datasets", {}),
        ("datasets/{id}", f"datasets/{i}", {}),
        ("lookup?url=", "lookup", {"url": url_of(i), "probe": "false"}),
        ("duplicates (first page)", "duplicates", {"limit": "50"}),
        ("duplicates (deep page)", "duplicates", {"offset": str(rnd.randint(0, 90_000))}),
        ("stats", "stats", {}),
        ("events?since=", "events", {"since": str(max(0, newest - 50))}),
        ("events?user=&since=", "events", {"user": "fetcher3", "since": str(max(0, newest - 500))}),
        ("events?kind=", "events", {"kind": "forget,scan", "since": "0", "limit": "20"}),
        ("whoami", "whoami", {}),
    ]


def direct(registry: Registry, path: str, params: dict) -> object:
    """The in-process peer of one route: the Registry call its handler makes."""
    if path == "datasets":
        return registry.search(params.get("q", ""), limit=50).to_dict()
    if path.startswith("datasets/"):
        return registry.dataset(int(path.split("/")[1]))
    if path == "lookup":
        return lookup_status(params["url"], registry=registry, probe=False)
    if path == "duplicates":
        return registry.duplicates(offset=int(params.get("offset", 0)), limit=50).to_dict()
    if path == "stats":
        return registry.stats().to_dict()
    if path == "events":
        kinds = tuple(params["kind"].split(",")) if "kind" in params else None
        since, user = int(params.get("since", 0)), params.get("user")
        return [e.to_dict() for e in registry.events(since=since, user=user, kinds=kinds)]
    return None  # whoami: no registry call


# -- the load client (its own process) ---------------------------------------------------------


async def _client_main(spec: dict) -> dict:
    import aiohttp

    base, seconds = spec["base"], spec["seconds"]
    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    headers = {"Authorization": f"token {TOKEN}"}
    deadline = time.monotonic() + seconds

    async def one(k: int, session: aiohttp.ClientSession) -> None:
        rnd = random.Random(k)
        while time.monotonic() < deadline:
            calls = routes(spec["contents"], rnd, spec["newest"])
            turn = k % len(calls)  # clients start the round at different routes
            for label, path, params in calls[turn:] + calls[:turn]:
                t0 = time.perf_counter()
                async with session.get(f"{base}/ddas/api/{path}", params=params) as response:
                    await response.read()
                    if response.status != 200:
                        errors[label] += 1
                samples[label].append((time.perf_counter() - t0) * 1000)
                if time.monotonic() >= deadline:
                    return

    connector = aiohttp.TCPConnector(limit=spec["clients"])
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as s:
        started = time.monotonic()
        await asyncio.gather(*(one(k, s) for k in range(spec["clients"])))
        elapsed = time.monotonic() - started
    return {"samples": samples, "errors": errors, "elapsed": elapsed}


def load_client(base: str, clients: int, seconds: float, contents: int, newest: int) -> dict:
    """Run the aiohttp client in its own process; its per-route latencies (ms)."""
    spec = {"base": base, "clients": clients, "seconds": seconds}
    spec |= {"contents": contents, "newest": newest}
    out = subprocess.run(
        [sys.executable, __file__, "--client", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


# -- the writers -------------------------------------------------------------------------------


FETCH_LOOP = """
import random, sys, time
from ddas.cli import main
base, rate, seed, files = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
while True:
    started = time.monotonic()
    try:
        main(["fetch", "--no-progress", f"{base}/f{rnd.randrange(files)}.bin"], standalone_mode=False)
    except Exception:  # a failed fetch is the benchmark's business, not a reason to stop
        pass
    time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
"""


@contextmanager
def fetchers(registry_url: str, workdir: Path, rate: float) -> Iterator[list[subprocess.Popen]]:
    """A local file server and :data:`FETCHERS` processes running ``ddas fetch`` (the CLI
    command, in a loop, ``rate`` times a second at most, one user each): downloads, and reuses of
    what another fetcher already got."""
    files = workdir / "files"
    files.mkdir()
    for k in range(FILES):
        (files / f"f{k}.bin").write_bytes(uuid.UUID(int=k).bytes * 64)
    with socket_port() as port:
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=files,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    loops = []
    for n in range(FETCHERS):
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DDAS_REGISTRY": registry_url,
            "DDAS_STORE": str(workdir / "store"),
            "DDAS_USER": f"fetcher{n}",
        }
        argv = [sys.executable, "-c", FETCH_LOOP, f"http://127.0.0.1:{port}", str(rate), str(n)]
        argv.append(str(FILES))
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        loops.append(subprocess.Popen(argv, env=env, **quiet))
    try:
        yield loops
    finally:
        for proc in loops:
            proc.terminate()
        for proc in loops:
            proc.wait(timeout=30)
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def socket_port() -> Iterator[int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


# -- one backend -------------------------------------------------------------------------------


@contextmanager
def kept_registry(backend: str, copies: int, keep: Path | None) -> Iterator[Registry]:
    """The registry of ``copies`` rows, built once and kept under ``keep`` (or thrown away)."""
    if backend == "sqlite":
        folder = keep or Path(tempfile.mkdtemp(prefix="ddas-load-"))
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / f'registry-{copies}.db'}"
    else:
        schema = f"ddas_load_{copies}" if keep else f"ddas_load_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    registry = Registry(url)
    if registry.stats().copy_count < copies:
        print(f"    seeding {copies:,} copies ...", file=sys.stderr, flush=True)
        print(f"    seeded in {seed(registry, copies):.0f} s", file=sys.stderr, flush=True)
    try:
        yield registry
    finally:
        _ENGINES.pop(url).dispose()
        if backend == "postgresql" and not keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        if backend == "postgresql":
            admin.dispose()


def peer(registry: Registry, contents: int, seconds: float, newest: int) -> dict[str, list]:
    rnd, samples = random.Random(0), defaultdict(list)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for label, path, params in routes(contents, rnd, newest):
            t0 = time.perf_counter()
            direct(registry, path, params)
            samples[label].append((time.perf_counter() - t0) * 1000)
    return samples


def q(samples: list[float], p: int) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def run(
    backend: str, copies: int, levels: list[int], seconds: float, keep: Path | None, rate: float
) -> list:
    out = []
    with (
        kept_registry(backend, copies, keep) as registry,
        tempfile.TemporaryDirectory(prefix="ddas-load-") as tmp,
    ):
        contents, workdir = copies // 2, Path(tmp)
        (workdir / "srv").mkdir()
        with jupyter_server(registry.url, workdir / "srv") as conn:
            base = f"http://127.0.0.1:{conn.port}"
            _label, path, params = routes(contents, random.Random(1), 0)[1]  # a URL part
            t0 = time.perf_counter()
            get(conn, f"/ddas/api/{path}", params)
            first = (time.perf_counter() - t0) * 1000
            out.append({"backend": backend, "clients": 0, "first_url_search_ms": first})
            with fetchers(registry.url, workdir, rate):
                writing(registry)
                mine = peer(registry, contents, seconds, registry.last_event_id())
                for clients in levels:
                    newest = registry.last_event_id()
                    result = load_client(base, clients, seconds, contents, newest)
                    out.append(summary(backend, clients, result, mine))
                    print(f"    {clients} clients: {out[-1]['rps']:.0f} req/s", file=sys.stderr)
    return out


def writing(registry: Registry, events: int = 8, timeout: float = 120.0) -> None:
    """Return once the fetchers have written ``events`` events: timing starts under writes."""
    start, deadline = registry.last_event_id(), time.monotonic() + timeout
    while registry.last_event_id() < start + events:
        if time.monotonic() > deadline:
            raise RuntimeError("the ddas fetch loops wrote nothing; see their environment")
        time.sleep(0.5)


def summary(backend: str, clients: int, result: dict, mine: dict) -> dict:
    samples = result["samples"]
    every = [x for v in samples.values() for x in v]
    rows = {
        label: {
            "n": len(v),
            "p50": q(v, 50),
            "p99": q(v, 99),
            "max": max(v),
            "peer_p50": q(mine[label], 50),
            "peer_p99": q(mine[label], 99),
            "errors": result["errors"].get(label, 0),
        }
        for label, v in samples.items()
    }
    return {
        "backend": backend,
        "clients": clients,
        "rps": len(every) / result["elapsed"],
        "p99": q(every, 99),
        "max": max(every),
        "routes": rows,
    }


def print_table(results: list[dict]) -> None:
    for r in results:
        if r["clients"] == 0:
            first = r["first_url_search_ms"]
            print(f"{r['backend']}: first URL-part search on a fresh server {first:.1f} ms")
            continue
        print(
            f"\n{r['backend']}, {r['clients']} clients: {r['rps']:.0f} req/s, "
            f"p99 {r['p99']:.1f} ms, max {r['max']:.1f} ms"
        )
        head = f"  {'route':<26}{'n':>6}{'p50':>9}{'p99':>9}{'max':>9}{'peer p50':>10}"
        print(head + f"{'peer p99':>10}{'errors':>7}")
        for label, x in r["routes"].items():
            print(
                f"  {label:<26}{x['n']:>6}{x['p50']:>7.1f}ms{x['p99']:>7.1f}ms{x['max']:>7.0f}ms"
                f"{x['peer_p50']:>8.1f}ms{x['peer_p99']:>8.1f}ms{x['errors']:>7}"
            )
    print(
        "\nHTTP = aiohttp clients in their own process against a real jupyter server, while "
        f"{FETCHERS} processes loop over `ddas fetch`; peer = the same Registry calls in-process, one "
        "thread, during the same writes. Targets: p99 <= 100 ms at 16 clients, max <= 1 s at 64."
    )


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """The options the 1M-registry benchmarks share: size, backends, where registries are kept."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--copies", type=int, default=1_000_000)
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the seeded registries here")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = arguments(__doc__)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=15.0, help="per client level")
    parser.add_argument(
        "--fetch-rate", type=float, default=2.0, help="fetches a second per fetcher, at most"
    )
    args = parser.parse_args(argv)
    if args.client:
        print(json.dumps(asyncio.run(_client_main(json.loads(args.client)))))
        return
    results: list[dict] = []
    for backend in args.backends:
        print(f"... {backend}, {args.copies:,} copies", file=sys.stderr, flush=True)
        results += run(backend, args.copies, args.clients, args.seconds, args.keep, args.fetch_rate)
    print_table(results)


if __name__ == "__main__":
    main()
