"""The tables of ``benchmarks/load.py``: per client level, per route, and the server's CPU.

Wall-clock latencies on a shared machine say how long a user waited; the server's CPU per request
(CPU seconds of the server process over the run / requests it answered) says what a request costs,
and stays put when other jobs take the cores.
"""

from __future__ import annotations

import statistics

from seeding import quantile


def summary(backend: str, clients: int, result: dict, mine: dict, cpu: float) -> dict:
    """One client level: per-route latencies beside the in-process peer's, and CPU/request."""
    samples = result["samples"]
    every = [x for v in samples.values() for x in v]
    rows = {
        label: {
            "n": len(v),
            "p50": quantile(v, 50),
            "p99": quantile(v, 99),
            "max": max(v),
            "peer_p50": quantile(mine[label], 50),
            "peer_p99": quantile(mine[label], 99),
            "errors": result["errors"].get(label, 0),
            "not_modified": result["not_modified"].get(label, 0),
        }
        for label, v in samples.items()
    }
    return {
        "backend": backend,
        "clients": clients,
        "rps": len(every) / result["elapsed"],
        "p99": quantile(every, 99),
        "max": max(every),
        "cpu_ms": 1000 * cpu / max(1, len(every)),
        "routes": rows,
        "peer_mean_ms": statistics.fmean(x for v in mine.values() for x in v),
    }


def shares(before: tuple, after: tuple, row: dict, result: dict) -> dict:
    """Who had the machine's cores during one level (in cores, averaged over the level): the
    server, the load client, and the rest (the writers, PostgreSQL's backends, the kernel);
    ``idle`` is what nobody used."""
    wall = after[1] - before[1]
    seconds = result["elapsed"]
    cores = wall / seconds
    busy = (after[0] - before[0]) / seconds
    server = row["cpu_ms"] * row["rps"] / 1000
    client = result["cpu"] / seconds
    return {
        "cores": cores,
        "server": server,
        "client": client,
        "others": max(0.0, busy - server - client),
        "idle": max(0.0, cores - busy),
    }


def route_cpu(result: dict, label: str, cpu: float) -> dict:
    """One route run alone: its requests, latencies and the server's CPU per request."""
    v = result["samples"].get(label, [])
    return {
        "n": len(v),
        "rps": len(v) / result["elapsed"],
        "p50": quantile(v, 50) if v else 0.0,
        "p99": quantile(v, 99) if v else 0.0,
        "not_modified": result["not_modified"].get(label, 0),
        "errors": result["errors"].get(label, 0),
        "cpu_ms": 1000 * cpu / max(1, len(v)),
    }


def _print_level(r: dict) -> None:
    print(
        f"\n{r['backend']}, {r['clients']} clients, {r['writers']} writers: {r['rps']:.0f} req/s, "
        f"p99 {r['p99']:.1f} ms, max {r['max']:.1f} ms, server CPU {r['cpu_ms']:.2f} ms/request "
        f"(load average {r['load']})"
    )
    if "machine" in r:
        m = r["machine"]
        print(
            f"  cores ({m['cores']:.1f}): server {m['server']:.2f}, load client {m['client']:.2f}, "
            f"writers + database + kernel {m['others']:.2f}, idle {m['idle']:.2f}; "
            f"in-process mean call {r['peer_mean_ms']:.2f} ms ({r['clients']} clients queued "
            f"behind one such caller: {r['clients'] * r['peer_mean_ms']:.0f} ms)"
        )
    head = f"  {'route':<28}{'n':>6}{'304':>6}{'p50':>9}{'p99':>9}{'max':>9}{'peer p50':>10}"
    print(head + f"{'peer p99':>10}{'errors':>7}")
    for label, x in r["routes"].items():
        print(
            f"  {label:<28}{x['n']:>6}{x['not_modified']:>6}{x['p50']:>7.1f}ms"
            f"{x['p99']:>7.1f}ms{x['max']:>7.0f}ms"
            f"{x['peer_p50']:>8.1f}ms{x['peer_p99']:>8.1f}ms{x['errors']:>7}"
        )


def _print_per_route(r: dict) -> None:
    print(f"\n{r['backend']}, each route alone (load average {r['load']}):")
    print(f"  {'route':<28}{'n':>6}{'req/s':>7}{'304':>6}{'p50':>9}{'p99':>9}{'CPU/req':>10}")
    for label, x in r["per_route"].items():
        print(
            f"  {label:<28}{x['n']:>6}{x['rps']:>7.0f}{x['not_modified']:>6}{x['p50']:>7.1f}ms"
            f"{x['p99']:>7.1f}ms{x['cpu_ms']:>8.2f}ms"
        )


def _print_writers(r: dict) -> None:
    """What the writers did in this run: DDAS's promise is one body download per distinct URL."""
    w = r["writers"]
    failed = ", ".join(f"{n} {kind}" for kind, n in sorted(w["failed"].items())) or "none"
    print(
        f"{r['backend']} writers: {w['probes']:,} fetches (origin HEADs), {w['gets']:,} body "
        f"downloads (origin GETs) of {w['urls']:,} distinct URLs ({w['urls_twice']} URLs "
        f"downloaded more than once); registry: {w['download_events']:,} downloads of "
        f"{w['download_urls']:,} URLs, {w['reuse_events']:,} reuses; failed fetches: {failed}"
    )


def print_table(results: list[dict]) -> None:
    for r in results:
        if r["clients"] == 0:
            first = r["first_url_search_ms"]
            print(f"{r['backend']}: first URL-part search on a fresh server {first:.1f} ms")
        elif r["clients"] == -2:
            _print_writers(r)
        elif r["clients"] < 0:
            _print_per_route(r)
        else:
            _print_level(r)
    print(
        "\nHTTP = aiohttp clients in their own process against a real jupyter server, while "
        "the writer processes loop over `ddas fetch`; peer = the same Registry calls in-process, one "
        "thread, during the same writes; 304 = answers to If-None-Match (the clients revalidate "
        "what they have seen, as a browser does); server CPU = CPU seconds of the server process "
        "/ requests answered (robust on a loaded machine). Targets: p99 <= 100 ms at 16 clients, "
        "max <= 1 s at 64."
    )
