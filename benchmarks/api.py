"""Latency of the REST API's two interactive calls, ``datasets?q=`` and ``lookup``, at 1M copies.

The sidebar's search box and its URL check are what a user waits on. Each is timed end to end over
HTTP against a real ``jupyter server`` with the ``ddas_server`` extension (token auth, JSON, the
registry thread pool), one keep-alive connection, and beside its peer: the same ``Registry`` call made
directly in this process, so ``HTTP/direct`` is the server's overhead. Target: p99 <= 50 ms.

The registry is the institution layout of ``benchmarks/seeding.py`` (``--keep DIR`` builds it once
and reuses it); lookups run with ``lookup_probe`` off, since a HEAD to the remote costs whatever the
remote costs. The URL-part search's samples include the very first call the fresh server answers
(after it is up and has warmed at start-up), which is also printed on its own. ``--drop-caches``
(root) empties the kernel's page cache before each server starts, as a reboot or a night of other
jobs would: the first call then shows what the warm-up did not read.

    python benchmarks/api.py --copies 1000000 --backends sqlite postgresql --keep /tmp/regscale-1m
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "jupyter_server_ext"), str(Path(__file__).parent)]

from seeding import (  # noqa: E402
    TOPICS,
    arguments,
    kept_registry,
    load_average,
    name_of,
    p99,
    url_of,
)

from ddas.api import lookup_status  # noqa: E402

TOKEN = "bench-token"


@contextmanager
def jupyter_server(
    registry_url: str, workdir: Path, extra_config: str = ""
) -> Iterator[http.client.HTTPConnection]:
    """A real ``jupyter server`` on a free port, serving this registry, once it answers and has
    logged that its registry is warm (what it does at start-up, before any user's request); yields
    a keep-alive connection carrying the token."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = workdir / "bench_config.py"
    config.write_text(
        "c.ServerApp.jpserver_extensions = {'ddas_server': True}\n"
        f"c.IdentityProvider.token = {TOKEN!r}\nc.DDASExtension.registry_url = {registry_url!r}\n"
        "c.DDASExtension.lookup_probe = False\nc.ServerApp.log_level = 'INFO'\n" + extra_config
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path[:2]),
        "HOME": str(workdir),
        "JUPYTER_CONFIG_DIR": str(workdir / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "rt"),
    }
    log = workdir / "server.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--allow-root",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--config={config}",
            f"--ServerApp.root_dir={workdir}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + 180
        while "DDAS: registry warm" not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(log.read_text()[-3000:])
            time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.server_pid = proc.pid  # type: ignore[attr-defined]  # for CPU accounting (load.py)
        yield conn
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def get(conn: http.client.HTTPConnection, path: str, params: dict | None = None) -> dict:
    query = "?" + urllib.parse.urlencode(params) if params else ""
    conn.request("GET", path + query, headers={"Authorization": f"token {TOKEN}"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}{query}: HTTP {response.status} {body[:300]!r}")
    return json.loads(body)


def timed(fn: Callable[[object], object], keys: list, warmup: int = 20) -> list[float]:
    for key in keys[:warmup]:
        fn(key)
    out = []
    for key in keys:
        t0 = time.perf_counter_ns()
        fn(key)
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


URL_PART = "datasets?q=<URL part>"


def first_call(conn: http.client.HTTPConnection, contents: int) -> float:
    """The first search of a fresh server (once it answers): a URL part, the slowest kind on
    PostgreSQL, which the server must have warmed at start-up rather than on this request."""
    i = random.Random(-1).randint(1, contents)
    params = {"q": f"data{i % 37}.example.org/{TOPICS[i % 10]}/{2000 + i % 25}"}
    t0 = time.perf_counter_ns()
    get(conn, "/ddas/api/datasets", params)
    return (time.perf_counter_ns() - t0) / 1e6


def cases(contents: int, n: int) -> list[tuple[str, list, Callable, Callable]]:
    """(label, keys, http(conn, key), direct(registry, key)) for each measured call."""
    rnd = random.Random(contents)
    picks = [rnd.randint(1, contents) for _ in range(n)]

    def search(params: Callable[[object], dict]) -> tuple[Callable, Callable]:
        return (
            lambda conn, k: get(conn, "/ddas/api/datasets", params(k)),
            lambda reg, k: reg.search(**params(k)),
        )

    return [
        ("datasets?q=<exact name>", picks, *search(lambda i: {"q": name_of(i)})),
        ("datasets?q=<name word>", picks, *search(lambda i: {"q": f"{i:07d}"})),
        (
            URL_PART,
            picks,
            *search(lambda i: {"q": f"data{i % 37}.example.org/{TOPICS[i % 10]}/{2000 + i % 25}"}),
        ),
        ("datasets?q=<topic>", picks, *search(lambda i: {"q": TOPICS[i % 10]})),
        ("datasets (first page)", picks, *search(lambda i: {})),
        (
            "lookup?url=<hit>",
            picks,
            lambda conn, i: get(conn, "/ddas/api/lookup", {"url": url_of(i)}),
            lambda reg, i: lookup_status(url_of(i), registry=reg, probe=False),
        ),
        (
            "lookup?url=<miss>",
            picks,
            lambda conn, i: get(conn, "/ddas/api/lookup", {"url": url_of(i) + ".missing"}),
            lambda reg, i: lookup_status(url_of(i) + ".missing", registry=reg, probe=False),
        ),
    ]


def drop_page_cache() -> None:
    """Empty the page cache (clean pages only; root): every file is read from disk again."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError as exc:
        sys.exit(f"--drop-caches needs root ({exc})")


def run(backend: str, copies: int, n: int, keep: Path | None, drop: bool = False) -> list[dict]:
    with (
        kept_registry(backend, copies, keep) as registry,
        tempfile.TemporaryDirectory(prefix="ddas-bench-api-") as tmp,
    ):
        out = []
        if drop:
            drop_page_cache()
        with jupyter_server(registry.url, Path(tmp)) as conn:
            first = first_call(conn, copies // 2)
            for label, keys, over_http, direct in cases(copies // 2, n):
                ours = timed(lambda k, f=over_http: f(conn, k), keys)
                if label == URL_PART:  # the fresh server's first call counts too
                    ours.append(first)
                peer = timed(lambda k, f=direct: f(registry, k), keys)
                out.append(
                    {
                        "backend": backend,
                        "copies": copies,
                        "call": label,
                        "http_med": statistics.median(ours),
                        "http_p99": p99(ours),
                        "direct_med": statistics.median(peer),
                        "direct_p99": p99(peer),
                        "first": first if label == URL_PART else None,
                        "load": load_average(),
                    }
                )
                print(f"    {label}: p99 {p99(ours):.1f} ms", file=sys.stderr, flush=True)
        return out


def print_table(results: list[dict]) -> None:
    head = (
        f"{'backend':<11}{'copies':>10}  {'call':<25}{'HTTP p50':>10}{'HTTP p99':>10}"
        f"{'direct p50':>12}{'direct p99':>12}{'HTTP/direct':>12}  load"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['backend']:<11}{r['copies']:>10,}  {r['call']:<25}"
            f"{r['http_med']:>8.1f}ms{r['http_p99']:>8.1f}ms{r['direct_med']:>10.1f}ms"
            f"{r['direct_p99']:>10.1f}ms{r['http_med'] / r['direct_med']:>11.2f}x  {r['load']}"
        )
        if r["first"] is not None:
            print(f"{'':<23}  (first call on the fresh server: {r['first']:.1f} ms, in the p99)")
    print(
        "HTTP = GET /ddas/api/... on a real jupyter server (keep-alive, token auth, JSON); "
        "direct = the same Registry call in-process; load = load average 1/5/15 min after the "
        "call. Target: HTTP p99 <= 50 ms."
    )


def main(argv: list[str] | None = None) -> None:
    parser = arguments(__doc__)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per call")
    parser.add_argument(
        "--drop-caches", action="store_true", help="empty the page cache before each server (root)"
    )
    args = parser.parse_args(argv)
    results = []
    for backend in args.backends:
        print(f"... {backend}, {args.copies:,} copies", file=sys.stderr, flush=True)
        results.extend(run(backend, args.copies, args.requests, args.keep, args.drop_caches))
    print_table(results)


if __name__ == "__main__":
    main()
