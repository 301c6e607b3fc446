"""``load.py``'s writers: a local file server and processes looping over ``ddas fetch``.

Each writer is one user (``fetcher0``, ``fetcher1``, ...) fetching ``f<k>.bin`` for a random ``k`` of
:data:`FILES` files, at most ``rate`` times a second: the first fetch of a file downloads it, every
later one (by any writer) is a reuse. A run's server is on a new port and its store in a new
temporary folder, so on a kept registry each run's URLs are new ones: its downloads add to those of
earlier runs (whose stored files are gone with their folder), and a file's bytes, already known
under an earlier run's URL, are reported as a mirror. :func:`writer_counts` says what one run did:
body downloads counted by the server against distinct URLs, and what the registry recorded.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from ddas.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
FETCHERS = 8
FILES = 3000
FAILED = "ddas-bench: fetch failed:"

FETCH_LOOP = f"""
import random, sys, time
from ddas.cli import main
base, rate, seed, files = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd, stop = random.Random(seed), time.monotonic() + float(sys.argv[5])
while time.monotonic() < stop:  # bounded even if the benchmark that started it dies
    started = time.monotonic()
    try:
        main(["fetch", "--no-progress", f"{{base}}/f{{rnd.randrange(files)}}.bin"], standalone_mode=False)
    except (Exception, SystemExit) as exc:  # the CLI exits on DDAS's errors: count, go on
        print("{FAILED}", type(exc).__name__, exc, file=sys.stderr, flush=True)
    time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
"""


@contextmanager
def fetchers(
    registry_url: str, workdir: Path, rate: float, seconds: float, count: int = FETCHERS
) -> Iterator[list[subprocess.Popen]]:
    """A local file server (its request log in ``workdir/server.log``) and ``count`` processes
    running ``ddas fetch`` (the CLI command, in a loop, ``rate`` times a second at most, one user
    each, for ``seconds`` at most; their stderr in ``workdir/fetcher<n>.err``)."""
    files = workdir / "files"
    files.mkdir()
    for k in range(FILES):
        (files / f"f{k}.bin").write_bytes(uuid.UUID(int=k).bytes * 64)
    with socket_port() as port, open(workdir / "server.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=files,
            stdout=subprocess.DEVNULL,
            stderr=log,  # one line per request: what the writers asked the origin for
        )
    loops = []
    for n in range(count):
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DDAS_REGISTRY": registry_url,
            "DDAS_STORE": str(workdir / "store"),
            "DDAS_USER": f"fetcher{n}",
        }
        argv = [sys.executable, "-c", FETCH_LOOP, f"http://127.0.0.1:{port}", str(rate), str(n)]
        argv += [str(FILES), str(seconds)]
        with open(workdir / f"fetcher{n}.err", "w") as err:
            loops.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err))
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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


def writing(registry: Registry, events: int = 8, timeout: float = 120.0) -> None:
    """Return once the fetchers have written ``events`` events: timing starts under writes."""
    start, deadline = registry.last_event_id(), time.monotonic() + timeout
    while registry.last_event_id() < start + events:
        if time.monotonic() > deadline:
            raise RuntimeError("the ddas fetch loops wrote nothing; see their environment")
        time.sleep(0.5)


def writer_counts(registry: Registry, since: int, workdir: Path) -> dict:
    """What one run's writers did (after they stopped): the origin's GETs (body downloads) and
    HEADs (one probe a fetch) per URL, the fetches that failed, and the download and reuse events
    the registry recorded after event ``since``. DDAS's promise: one GET per distinct URL."""
    requests = Counter(
        m.groups()
        for line in (workdir / "server.log").read_text().splitlines()
        if (m := re.search(r'"(GET|HEAD) (\S+) HTTP', line))
    )
    gets = Counter({path: n for (method, path), n in requests.items() if method == "GET"})
    errors = Counter(
        line.removeprefix(FAILED).split()[0]
        for err in workdir.glob("fetcher*.err")
        for line in err.read_text(errors="replace").splitlines()
        if line.startswith(FAILED)
    )
    query = sa.text(
        "SELECT e.kind, count(*), count(DISTINCT s.url) FROM events e "
        "LEFT JOIN sources s ON s.id = e.source_id "
        "WHERE e.id > :since AND e.kind IN ('download', 'reuse') GROUP BY e.kind"
    )
    with registry.engine.connect() as conn:
        events = {kind: (n, urls) for kind, n, urls in conn.execute(query, {"since": since})}
    return {
        "probes": sum(n for (method, _), n in requests.items() if method == "HEAD"),
        "gets": sum(gets.values()),
        "urls": len(gets),
        "urls_twice": sum(1 for n in gets.values() if n > 1),
        "failed": dict(errors),
        "download_events": events.get("download", (0, 0))[0],
        "download_urls": events.get("download", (0, 0))[1],
        "reuse_events": events.get("reuse", (0, 0))[0],
    }
