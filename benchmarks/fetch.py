"""Download speed of ``ddas.fetch`` against its peers, over loopback HTTP, in one run.

Peers, alternated round-robin so that machine noise hits all alike:
  * ``stream``   plain Python streaming copy (urllib, 1 MiB reads);
  * ``durable``  the same copy + ``fsync`` — the peer DDAS is held to, since DDAS fsyncs (a store
                 handed to a whole institution must survive a crash): the baseline of the ratios;
  * ``fsspec``   a plain fsspec copy to a file (``fsspec.open(url).read`` in 1 MiB blocks);
  * ``curl``     ``curl -s -o``;
  * ``ddas``     ``ddas.fetch`` into a fresh registry and store (hash, fsync, register included);
  * ``ddas-1fsync`` the same with writeback overlap off (one fsync at the end), to show its worth.
Each method runs in its own process; the time is measured inside it around the transfer only
(interpreter start, imports and the one-time creation of the registry excluded), and the process's
peak RSS is reported. Then the hit path:
a second user's ``ddas.fetch`` of the same dataset, timed in a warm process.

    python benchmarks/fetch.py --size-mib 1024 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fixtures.http_server import CountingServer

CHILD = r"""
import json, os, resource, sys, time
method, url, out = sys.argv[1:4]
if method in ("ddas", "ddas-1fsync"):
    import ddas, ddas.api, ddas.registry, ddas.streaming
    ddas.registry.Registry()  # created and migrated once per institution, not per download
    if method == "ddas-1fsync":
        ddas.streaming.WRITEBACK_STEP = 1 << 62
    t = time.perf_counter(); ddas.fetch(url, progress=False); dt = time.perf_counter() - t
elif method == "hit":
    import ddas, ddas.api
    times = []
    for _ in range(int(os.environ.get("HIT_RUNS", "20"))):
        t = time.perf_counter(); r = ddas.api.fetch_result(url, progress=False, quiet=True)
        times.append(time.perf_counter() - t); assert r.reused
    dt = sorted(times)[len(times) // 2]
elif method == "fsspec":
    import fsspec
    t = time.perf_counter()
    with fsspec.open(url, "rb", block_size=1 << 20) as src, open(out, "wb") as dst:
        while block := src.read(1 << 20):
            dst.write(block)
    dt = time.perf_counter() - t
elif method in ("stream", "durable"):
    import urllib.request
    t = time.perf_counter()
    with urllib.request.urlopen(url) as src, open(out, "wb") as dst:
        while block := src.read(1 << 20):
            dst.write(block)
        if method == "durable":
            dst.flush(); os.fsync(dst.fileno())
    dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(method: str, url: str, workdir: Path, env: dict[str, str]) -> dict[str, float]:
    out = workdir / f"out-{method}.bin"
    if method == "curl":
        t = time.perf_counter()
        subprocess.run(["curl", "-s", "-o", str(out), url], check=True)
        result = {"seconds": time.perf_counter() - t, "maxrss_mib": float("nan")}
    else:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, method, url, str(out)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, **env},
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    out.unlink(missing_ok=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ddas-bench-") as tmp:
        work = Path(tmp)
        data = work / "dataset.bin"
        with open(data, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        server = CountingServer()
        url = server.add("bench/dataset.bin", file=data, etag='"bench-v1"')
        methods = ["stream", "durable", "fsspec", "curl", "ddas", "ddas-1fsync"]
        results: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
        for run in range(args.runs):
            for method in methods:
                env = {}
                if method.startswith("ddas"):  # a fresh registry and store each time: a miss
                    env = {
                        "DDAS_REGISTRY": str(work / f"reg{run}-{method}.db"),
                        "DDAS_STORE": str(work / f"store{run}-{method}"),
                        "DDAS_USER": "alice",
                    }
                results[method].append(run_child(method, url, work, env))
        hit_env = {
            "DDAS_REGISTRY": str(work / "reg0-ddas.db"),
            "DDAS_STORE": str(work / "store0-ddas"),
            "DDAS_USER": "bob",
        }
        hit = run_child("hit", url, work, hit_env)
        server.close()
    base = statistics.median(r["seconds"] for r in results["durable"])
    plain = statistics.median(r["seconds"] for r in results["stream"])
    size_mib = args.size_mib
    print(f"\nfetch of {size_mib} MiB over loopback HTTP, {args.runs} alternating runs, medians\n")
    print(
        f"{'method':<13}{'seconds':>9}{'MiB/s':>8}{'vs durable':>12}{'vs stream':>11}"
        f"{'peak RSS MiB':>14}"
    )
    for method in methods:
        secs = statistics.median(r["seconds"] for r in results[method])
        rss = statistics.median(r["maxrss_mib"] for r in results[method])
        print(
            f"{method:<13}{secs:>9.2f}{size_mib / secs:>8.0f}{secs / base:>11.2f}x"
            f"{secs / plain:>10.2f}x{rss:>14.0f}"
        )
    print(f"\nhit path (second user, warm process, median of 20): {hit['seconds'] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
