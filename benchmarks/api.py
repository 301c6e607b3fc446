"""Latency of the REST API's two interactive calls, ``datasets?q=`` and ``lookup``, at 1M copies.

The sidebar's search box and its URL check are what a user waits on. Each is timed end to end over
HTTP against a real ``jupyter server`` with the ``ddas_server`` extension (token auth, JSON, the
registry thread pool), one keep-alive connection, and beside its peer: the same ``Registry`` call made
directly in this process, so ``HTTP/direct`` is the server's overhead. Target: p99 <= 50 ms.

The registry (half as many contents as copies: every dataset has a copy in the store and one in
somebody's home) is seeded with SQLAlchemy Core executemany straight into the tables; lookups run
with ``lookup_probe`` off, since a HEAD to the remote costs whatever the remote costs.

    python benchmarks/api.py --copies 1000000 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
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

from registry_lookup import BATCH, backend_registry, bulk_load, p99  # noqa: E402

from ddas.api import lookup_status  # noqa: E402
from ddas.registry import Registry  # noqa: E402
from ddas.registry.models import Content, Copy, Source  # noqa: E402

TOKEN = "bench-token"
TOPICS = [
    "era5",
    "cmip6_tas",
    "gpm_imerg",
    "sentinel2_l2a",
    "modis_lst",
    "landsat8_sr",
    "merra2",
    "goes16_abi",
    "jra55",
    "icesat2_atl06",
]
EXTS = [".nc", ".tif", ".zarr.zip", ".csv", ".parquet", ".grib2", ".h5", ".tar.gz"]
USERS = [f"user{i:03d}" for i in range(200)]


def name_of(i: int) -> str:
    return f"{TOPICS[i % len(TOPICS)]}_{i:07d}{EXTS[i % len(EXTS)]}"


def url_of(i: int) -> str:
    topic = TOPICS[i % len(TOPICS)]
    return f"https://data{i % 37}.example.org/{topic}/{2000 + i % 25}/{name_of(i)}"


def blake3_of(i: int) -> str:
    return f"{(i * 0x9E3779B97F4A7C15) % (1 << 128):032x}{i:032x}"


def rows(contents: int) -> Iterator[tuple[list[dict], list[dict], list[dict]]]:
    """contents, sources, copies in batches (two copies per content)."""
    now = time.time()
    for start in range(1, contents + 1, BATCH):
        ids = range(start, min(start + BATCH, contents + 1))
        yield (
            [
                {
                    "id": i,
                    "blake3": blake3_of(i),
                    "size": 1000 + i,
                    "name": name_of(i),
                    "ext": EXTS[i % len(EXTS)],
                    "created_at": now - i,
                    "last_used_at": now - i,
                }
                for i in ids
            ],
            [
                {
                    "id": i,
                    "url": url_of(i),
                    "version_key": f'"e{i}"||{1000 + i}',
                    "etag": f'"e{i}"',
                    "last_modified": None,
                    "size": 1000 + i,
                    "checksum": None,
                    "content_id": i,
                    "first_seen": now,
                    "last_seen": now,
                }
                for i in ids
            ],
            [
                {
                    "id": 2 * i - k,
                    "content_id": i,
                    "host": "hpc",
                    "location": f"/store/{i}/{name_of(i)}"
                    if k
                    else f"/home/{USERS[i % 200]}/{name_of(i)}",
                    "owner": USERS[(i + k) % 200],
                    "state": "present",
                    "in_store": bool(k),
                    "size": 1000 + i,
                    "mtime_ns": i,
                    "device": 1,
                    "inode": 2 * i - k,
                    "created_at": now,
                    "verified_at": now,
                }
                for i in ids
                for k in (1, 0)
            ],
        )


def seed(registry: Registry, copies: int) -> float:
    return bulk_load(registry, rows(copies // 2), (Content, Source, Copy))


@contextmanager
def jupyter_server(registry_url: str, workdir: Path) -> Iterator[http.client.HTTPConnection]:
    """A real ``jupyter server`` on a free port, serving this registry; yields a keep-alive
    connection carrying the token."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = workdir / "bench_config.py"
    config.write_text(
        "c.ServerApp.jpserver_extensions = {'ddas_server': True}\n"
        f"c.IdentityProvider.token = {TOKEN!r}\nc.DDASExtension.registry_url = {registry_url!r}\n"
        "c.DDASExtension.lookup_probe = False\nc.ServerApp.log_level = 'WARN'\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path[:2]),
        "HOME": str(workdir),
        "JUPYTER_CONFIG_DIR": str(workdir / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "rt"),
    }
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
        stderr=(workdir / "server.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                get(conn, "/ddas/api/whoami")
                break
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((workdir / "server.log").read_text()[-3000:]) from None
                time.sleep(0.2)
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
            "datasets?q=<URL part>",
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


def run(backend: str, copies: int, n: int) -> list[dict]:
    with (
        backend_registry(backend) as (registry, _raw, _p),
        tempfile.TemporaryDirectory(prefix="ddas-bench-api-") as tmp,
    ):
        seconds = seed(registry, copies)
        print(f"    seeded {copies:,} copies in {seconds:.0f} s", file=sys.stderr, flush=True)
        out = []
        with jupyter_server(registry.url, Path(tmp)) as conn:
            for label, keys, over_http, direct in cases(copies // 2, n):
                ours = timed(lambda k, f=over_http: f(conn, k), keys)
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
                    }
                )
                print(f"    {label}: p99 {p99(ours):.1f} ms", file=sys.stderr, flush=True)
        return out


def print_table(results: list[dict]) -> None:
    head = (
        f"{'backend':<11}{'copies':>10}  {'call':<25}{'HTTP p50':>10}{'HTTP p99':>10}"
        f"{'direct p50':>12}{'direct p99':>12}{'HTTP/direct':>12}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['backend']:<11}{r['copies']:>10,}  {r['call']:<25}"
            f"{r['http_med']:>8.1f}ms{r['http_p99']:>8.1f}ms{r['direct_med']:>10.1f}ms"
            f"{r['direct_p99']:>10.1f}ms{r['http_med'] / r['direct_med']:>11.2f}x"
        )
    print(
        "HTTP = GET /ddas/api/... on a real jupyter server (keep-alive, token auth, JSON); "
        "direct = the same Registry call in-process. Target: HTTP p99 <= 50 ms."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1_000_000])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--requests", type=int, default=300, help="timed requests per call")
    args = parser.parse_args(argv)
    results = []
    for backend in args.backends:
        for copies in args.copies:
            print(f"... {backend}, {copies:,} copies", file=sys.stderr, flush=True)
            results.extend(run(backend, copies, args.requests))
    print_table(results)


if __name__ == "__main__":
    main()
