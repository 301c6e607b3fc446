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

    python benchmarks/load.py --copies 1000000 --backends sqlite postgresql --seconds 15 --keep /tmp/regscale-1m
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "jupyter_server_ext"), str(Path(__file__).parent)]

from api import TOKEN, get, jupyter_server  # noqa: E402
from load_table import print_table, route_cpu, shares, summary  # noqa: E402
from load_writers import FETCHERS, fetchers, writer_counts, writing  # noqa: E402
from seeding import (  # noqa: E402
    TOPICS,
    arguments,
    kept_registry,
    load_average,
    name_of,
    url_of,
)

from ddas.api import lookup_status  # noqa: E402
from ddas.registry import Registry  # noqa: E402
from ddas.registry.reports import make_cursor  # noqa: E402

#: The 64 clients stand for 64 users; behind one token they are one identity, whose per-user lane
#: limits (8 queries, 2 heavy reads, 4 probes) would turn most of their requests into 429s.
SERVER_CONFIG = (
    "c.DDASExtension.registry_per_user = 256\n"
    "c.DDASExtension.heavy_per_user = 256\n"
    "c.DDASExtension.probe_per_user = 256\n"
)


def deep_cursor(contents: int, position: int) -> str:
    """The cursor after ``position`` groups of the seeded layout (content ``i`` wastes
    ``1000 + i`` bytes, so the order is ``contents, contents - 1, ...``): a client that paged
    down there with "Load more"."""
    cid = contents - position
    return make_cursor(1000 + cid, cid)


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
        ("datasets/{id}/metadata", f"datasets/{i}/metadata", {}),
        ("duplicates (first page)", "duplicates", {"limit": "50"}),
        (
            "duplicates (deep, cursor)",
            "duplicates",
            {"limit": "50", "cursor": deep_cursor(contents, rnd.randint(1, contents - 100))},
        ),
        ("duplicates (offset 90000)", "duplicates", {"limit": "50", "offset": "90000"}),
        ("duplicates/same-data", "duplicates/same-data", {}),
        ("collections", "collections", {}),
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
    if path.endswith("/metadata"):
        cid = int(path.split("/")[1])
        return registry.dataset(cid, events=0), registry.metadata(cid)
    if path.startswith("datasets/"):
        return registry.dataset(int(path.split("/")[1]))
    if path == "lookup":
        return lookup_status(params["url"], registry=registry, probe=False)
    if path == "duplicates":
        offset, cursor = int(params.get("offset", 0)), params.get("cursor")
        return registry.duplicates(offset=offset, cursor=cursor, limit=50).to_dict()
    if path == "duplicates/same-data":
        return registry.same_data().to_dict()
    if path == "collections":
        return registry.collections("").to_dict()
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
    not_modified: dict[str, int] = defaultdict(int)
    headers = {"Authorization": f"token {TOKEN}"}
    deadline = time.monotonic() + seconds

    async def one(k: int, session: aiohttp.ClientSession) -> None:
        """One client: a round robin of the routes; like a browser, it revalidates what it has
        seen with the ETag it was given (``If-None-Match``), and a 304 is an answer."""
        rnd, etags = random.Random(k), {}
        while time.monotonic() < deadline:
            calls = routes(spec["contents"], rnd, spec["newest"])
            if spec.get("only"):
                calls = [c for c in calls if c[0] == spec["only"]]
            turn = k % len(calls)  # clients start the round at different routes
            for label, path, params in calls[turn:] + calls[:turn]:
                key = (path, tuple(sorted(params.items())))
                ask = {"If-None-Match": etags[key]} if key in etags else {}
                t0 = time.perf_counter()
                url = f"{base}/ddas/api/{path}"
                async with session.get(url, params=params, headers=ask) as response:
                    await response.read()
                    if response.status == 304:
                        not_modified[label] += 1
                    elif response.status != 200:
                        errors[label] += 1
                    elif "ETag" in response.headers:
                        etags[key] = response.headers["ETag"]
                samples[label].append((time.perf_counter() - t0) * 1000)
                if time.monotonic() >= deadline:
                    return

    connector = aiohttp.TCPConnector(limit=spec["clients"])
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as s:
        started = time.monotonic()
        await asyncio.gather(*(one(k, s) for k in range(spec["clients"])))
        elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "samples": samples,
        "errors": errors,
        "not_modified": not_modified,
        "elapsed": elapsed,
        "cpu": usage.ru_utime + usage.ru_stime,  # the client's own share of the machine
    }


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) the server process has used so far: divided by
    the requests it served, the cost of a request, whatever else the machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far (``/proc/stat``, every core): over a
    level, how much of the machine was left and who had the rest."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks[:8]) - idle) / hz, sum(ticks[:8]) / hz


def load_client(
    base: str, clients: int, seconds: float, contents: int, newest: int, only: str | None = None
) -> dict:
    """Run the aiohttp client in its own process (killed if it overruns its time by 2 minutes);
    its per-route latencies (ms). ``only``: that route label alone."""
    spec = {"base": base, "clients": clients, "seconds": seconds}
    spec |= {"contents": contents, "newest": newest, "only": only}
    out = subprocess.run(
        [sys.executable, __file__, "--client", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    return json.loads(out.stdout)


# -- one backend -------------------------------------------------------------------------------


def peer(registry: Registry, contents: int, seconds: float, newest: int) -> dict[str, list]:
    rnd, samples = random.Random(0), defaultdict(list)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for label, path, params in routes(contents, rnd, newest):
            t0 = time.perf_counter()
            direct(registry, path, params)
            samples[label].append((time.perf_counter() - t0) * 1000)
    return samples


def run(backend: str, args: argparse.Namespace) -> list:
    """Every client level (and, with ``--per-route``, each route alone) against one backend."""
    out: list[dict] = []
    with (
        kept_registry(backend, args.copies, args.keep) as registry,
        tempfile.TemporaryDirectory(prefix="ddas-load-") as tmp,
    ):
        contents, workdir = args.copies // 2, Path(tmp)
        (workdir / "srv").mkdir()
        config = SERVER_CONFIG + "".join(f"c.{line}\n" for line in args.server_config)
        with jupyter_server(registry.url, workdir / "srv", config) as conn:
            base, pid = f"http://127.0.0.1:{conn.port}", conn.server_pid  # type: ignore[attr-defined]
            _label, path, params = routes(contents, random.Random(1), 0)[1]  # a URL part
            t0 = time.perf_counter()
            get(conn, f"/ddas/api/{path}", params)
            first = (time.perf_counter() - t0) * 1000
            out.append({"backend": backend, "clients": 0, "first_url_search_ms": first})
            routes_alone = len(routes(contents, random.Random(0), 0)) if args.per_route else 0
            budget = args.seconds * (len(args.clients) + 1) + args.per_route * routes_alone + 300
            writers = (
                fetchers(registry.url, workdir, args.fetch_rate, budget, args.fetchers)
                if args.fetchers
                else nullcontext()
            )
            first_event = registry.last_event_id()
            with writers:
                if args.fetchers:
                    writing(registry)
                mine = peer(registry, contents, args.seconds, registry.last_event_id())
                for clients in args.clients:
                    newest = registry.last_event_id()
                    cpu, machine = server_cpu(pid), machine_cpu()
                    result = load_client(base, clients, args.seconds, contents, newest)
                    row = summary(backend, clients, result, mine, server_cpu(pid) - cpu)
                    row["machine"] = shares(machine, machine_cpu(), row, result)
                    out.append(row | {"load": load_average(), "writers": args.fetchers})
                    print(f"    {clients} clients: {row['rps']:.0f} req/s", file=sys.stderr)
                if args.per_route:
                    out.append(per_route(backend, base, pid, contents, registry, args))
            if args.fetchers:
                counts = writer_counts(registry, first_event, workdir)
                out.append({"backend": backend, "clients": -2, "writers": counts})
    return out


def per_route(
    backend: str, base: str, pid: int, contents: int, registry: Registry, args: argparse.Namespace
) -> dict:
    """Each route alone for ``--per-route`` seconds at ``--per-route-clients``: the server's CPU
    per request of that route (CPU seconds of the server process / requests answered)."""
    rows = {}
    for label, _path, _params in routes(contents, random.Random(0), 0):
        cpu = server_cpu(pid)
        newest = registry.last_event_id()
        result = load_client(
            base, args.per_route_clients, args.per_route, contents, newest, only=label
        )
        rows[label] = route_cpu(result, label, server_cpu(pid) - cpu)
    return {"backend": backend, "clients": -1, "per_route": rows, "load": load_average()}


def main(argv: list[str] | None = None) -> None:
    parser = arguments(__doc__)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=15.0, help="per client level")
    parser.add_argument(
        "--fetch-rate", type=float, default=2.0, help="fetches a second per fetcher, at most"
    )
    parser.add_argument(
        "--fetchers", type=int, default=FETCHERS, help="`ddas fetch` writer processes (0: none)"
    )
    parser.add_argument(
        "--per-route",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also run each route alone this long: the server's CPU per request of each route",
    )
    parser.add_argument("--per-route-clients", type=int, default=16)
    parser.add_argument(
        "--server-config",
        nargs="*",
        default=[],
        metavar="TRAIT=VALUE",
        help="more server settings, e.g. DDASExtension.registry_threads=2",
    )
    args = parser.parse_args(argv)
    if args.client:
        print(json.dumps(asyncio.run(_client_main(json.loads(args.client)))))
        return
    results: list[dict] = []
    for backend in args.backends:
        print(f"... {backend}, {args.copies:,} copies", file=sys.stderr, flush=True)
        results += run(backend, args)
    print_table(results)


if __name__ == "__main__":
    main()
