"""The demo behind ``make lab``, Binder and the notebooks: a local data server and a seeded registry.

A newcomer should see a miss, a hit with its alert card, a duplicate and some savings in the first ten
minutes, with no internet and without touching anybody's real registry. So the demo brings its own
"remote" (:mod:`ddas.demo_server`, publishing synthetic CSV files with real validators) and a short
history made through the same public API a researcher uses: alice downloaded two datasets through
DDAS, bob reused one of them, and bob's own pre-DDAS copy of the other sits in a shared folder.

``python -m ddas.demo --serve --detach`` (what ``make lab`` runs) starts the server for the demo folder
``$DDAS_DEMO_DIR``, seeds it and records the server's URL in ``$DDAS_DEMO_DIR/server.json``; the
notebooks call :func:`start`, which finds that server or, outside the demo, starts a private one with a
temporary registry. Fake users only ever land in a demo registry.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ddas import config
from ddas.demo_server import STATUS_PATH, DemoServer, publish

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.registry import Registry

DEMO_DIR_ENV = "DDAS_DEMO_DIR"
DEMO_PORT_ENV = "DDAS_DEMO_PORT"
DEFAULT_PORT = 8765  # fixed, so that URLs seeded by one `make lab` still match in the next
SERVER_FILE = "server.json"

_CITIES = [
    ("OSLO", 59.91, 10.75, 23),
    ("BERGEN", 60.39, 5.32, 12),
    ("TROMSO", 69.65, 18.96, 100),
    ("STOCKHOLM", 59.33, 18.07, 44),
    ("HELSINKI", 60.17, 24.94, 51),
    ("COPENHAGEN", 55.68, 12.57, 5),
    ("REYKJAVIK", 64.15, -21.94, 52),
    ("TALLINN", 59.44, 24.75, 34),
    ("RIGA", 56.95, 24.11, 26),
    ("GDANSK", 54.35, 18.65, 13),
    ("HAMBURG", 53.55, 9.99, 14),
    ("ABERDEEN", 57.15, -2.09, 65),
]


def stations_csv() -> bytes:
    """A small station list (the dataset alice downloaded and bob also keeps a copy of)."""
    rows = ["station,lat,lon,elevation_m"]
    rows += [f"{name},{lat:.2f},{lon:.2f},{elev}" for name, lat, lon, elev in _CITIES]
    return ("\n".join(rows) + "\n").encode()


def air_temperature_csv() -> bytes:
    """Daily 2 m air temperature on a coarse grid for 2020 (~0.6 MB, synthetic but plausible)."""
    rows = ["time,lat,lon,air"]
    for day in range(366):
        date = (dt.date(2020, 1, 1) + dt.timedelta(days=day)).isoformat()
        season = math.cos(2 * math.pi * (day - 15) / 366)
        for lat in (40, 45, 50, 55, 60, 65):
            for lon in range(-10, 30, 5):
                air = 288.0 - 0.6 * (lat - 40) - 9.0 * season + 0.05 * lon
                rows.append(f"{date},{lat},{lon},{air:.2f}")
    return ("\n".join(rows) + "\n").encode()


def ocean_buoys_csv() -> bytes:
    """Hourly buoy readings nobody has downloaded yet: the quickstart's first fetch is a miss."""
    rows = ["buoy,time,wave_height_m,sea_temp_c"]
    for buoy in range(4):
        for hour in range(24 * 7):
            wave = 1.5 + math.sin(hour / 7 + buoy) * 0.8
            rows.append(
                f"B{buoy + 1},2024-03-{1 + hour // 24:02d}T{hour % 24:02d}:00,"
                f"{wave:.2f},{6 + buoy + math.cos(hour / 24):.2f}"
            )
    return ("\n".join(rows) + "\n").encode()


#: The files the demo server publishes, by URL path.
CATALOG: dict[str, Callable[[], bytes]] = {
    "stations.csv": stations_csv,
    "air_temperature_2020.csv": air_temperature_csv,
    "ocean_buoys.csv": ocean_buoys_csv,
}


@dataclass
class Demo:
    """A running demo: where its server is, and helpers the notebooks use to show what happened."""

    root: Path
    base_url: str
    server: DemoServer | None = None  # set when this process runs the server
    private: bool = False  # True: a temporary registry and store for this process only

    def url(self, path: str) -> str:
        """The demo server's URL for ``path`` (e.g. ``"stations.csv"``)."""
        return self.base_url + path.lstrip("/")

    def file(self, path: str) -> Path:
        """The server-side file behind ``url(path)`` (what a data provider would hash and publish)."""
        return self.root / "www" / path.lstrip("/")

    def publish(self, path: str, data: bytes) -> str:
        """Put ``data`` on the server at ``path`` (a new version if it existed); returns its URL."""
        publish(self.root / "www", path, data)
        return self.url(path)

    def bytes_sent(self, path: str | None = None) -> int:
        """Body bytes the server has sent so far (for one path, or all): a hit adds nothing."""
        with urllib.request.urlopen(self.base_url.rstrip("/") + STATUS_PATH, timeout=5) as resp:
            sent = json.load(resp)["bytes_sent"]
        return sent.get("/" + path.lstrip("/"), 0) if path else sum(sent.values())

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def __repr__(self) -> str:
        who = "run by this process" if self.server else "shared: python -m ddas.demo --serve"
        return (
            f"DDAS demo\n  data server: {self.base_url} ({who})\n"
            f"  registry:    {config.registry_url()}"
            + ("  (temporary)" if self.private else "")
            + f"\n  store:       {config.store_root()}\n"
            f"  datasets:    {', '.join(CATALOG)}"
        )


def demo_env(root: Path) -> dict[str, str]:
    """The environment of a demo folder: its own registry and store, and the folder itself."""
    return {
        "DDAS_REGISTRY": str(root / "registry.db"),
        "DDAS_STORE": str(root / "store"),
        DEMO_DIR_ENV: str(root),
    }


def _use_demo_root(root: Path | None, private: bool = False) -> tuple[Path, bool]:
    """The demo folder, and whether it is private. Outside a demo (no ``DDAS_DEMO_DIR``), a
    temporary folder *replaces* this process's registry and store: a notebook opened in an
    institution's JupyterLab must not write alice and bob into the real registry."""
    if private or (root is None and not os.environ.get(DEMO_DIR_ENV)):
        tmp = Path(tempfile.mkdtemp(prefix="ddas-demo-"))
        atexit.register(shutil.rmtree, tmp, True)
        os.environ.update(demo_env(tmp))
        return tmp, True
    root = Path(root or os.environ[DEMO_DIR_ENV]).expanduser().resolve()
    for key, value in demo_env(root).items():
        os.environ.setdefault(key, value)  # `make lab` and Binder set these; keep theirs
    return root, False


def ensure_catalog(root: Path) -> None:
    """Write the catalog's files under ``root/www`` unless present (a rewrite would be a new
    version, and the seeded registry would no longer match the server)."""
    for name, make in CATALOG.items():
        if not (root / "www" / name).exists():
            publish(root / "www", name, make())


def find_server(root: Path) -> str | None:
    """Base URL of a live demo server for ``root`` (from ``server.json``), or None."""
    try:
        url = json.loads((root / SERVER_FILE).read_text())["url"]
        with urllib.request.urlopen(url.rstrip("/") + STATUS_PATH, timeout=2) as resp:
            status = json.load(resp)
    except (OSError, ValueError, KeyError):
        return None
    return url if status.get("root") == str(root.resolve()) else None


def _new_server(root: Path, port: int | None) -> DemoServer:
    """A started server on ``port``; None means the demo's fixed port, or any if it is taken."""
    wanted = int(os.environ.get(DEMO_PORT_ENV) or DEFAULT_PORT) if port is None else port
    try:
        return DemoServer(root / "www", root, port=wanted).start()
    except OSError:
        if port is not None and port != 0:
            raise
        return DemoServer(root / "www", root, port=0).start()


def start(
    root: str | os.PathLike[str] | None = None,
    *,
    port: int | None = None,
    seed_registry: bool = True,
    private: bool = False,
) -> Demo:
    """The demo for this process: the folder's running server, else one started here; seeded.

    Without ``root`` and outside ``make lab``/Binder (no ``DDAS_DEMO_DIR``), or with ``private``,
    everything is private and temporary: its own server on a free port, registry and store in a
    temp folder removed at exit (a notebook that must tell the same story at every run uses this).
    """
    folder, private = _use_demo_root(Path(root) if root is not None else None, private)
    ensure_catalog(folder)
    url, server = (None if private else find_server(folder)), None
    if url is None:
        server = _new_server(folder, 0 if private else port)
        url = server.base_url
    if seed_registry:
        from ddas.registry import Registry

        seed(Registry(), folder, url)
    return Demo(folder, url, server, private)


@contextlib.contextmanager
def as_user(name: str) -> Iterator[None]:
    """Act as demo user ``name`` (``DDAS_USER``) for the duration of the block."""
    previous = os.environ.get("DDAS_USER")
    os.environ["DDAS_USER"] = name
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DDAS_USER", None)
        else:
            os.environ["DDAS_USER"] = previous


def seed(registry: Registry, root: Path, base_url: str) -> int:
    """Give ``registry`` the demo's history through the public API; returns the steps it took.

    alice downloads ``stations.csv`` and ``air_temperature_2020.csv`` through DDAS; bob then reuses
    the second (a *saving*); bob's own copy of ``stations.csv`` from before DDAS, in
    ``root/shared/bob``, is registered as a scan would (the *duplicate on disk*). Each step is
    skipped when its rows exist, so seeding twice changes nothing.
    """
    from ddas.api import fetch_result
    from ddas.hashes import file_blake3

    ensure_catalog(root)
    steps = 0
    for name, reusers in (("stations.csv", ()), ("air_temperature_2020.csv", ("bob",))):
        url = base_url + name
        if registry.copies_for_url(url):
            continue
        for user in ("alice", *reusers):
            with as_user(user):
                fetch_result(url, registry=registry, progress=False, quiet=True)
            steps += 1
    bob_copy = root / "shared" / "bob" / "stations-copy.csv"
    if not bob_copy.exists():
        bob_copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "www" / "stations.csv", bob_copy)
    digest = file_blake3(bob_copy)
    if all(c.location != str(bob_copy) for c in registry.copies_for_digest(f"blake3:{digest}")):
        st = bob_copy.stat()
        registry.register_file(
            str(bob_copy),
            size=st.st_size,
            blake3=digest,
            owner="bob",
            mtime_ns=st.st_mtime_ns,
            device=st.st_dev,
            inode=st.st_ino,
        )
        steps += 1
    return steps


# -- the command line: what `make lab` and Binder's start script run ------------------------------


def _serve_forever(root: Path, port: int | None) -> None:
    """Serve, seed, announce in ``server.json``; run until SIGTERM/SIGINT, then clean up."""
    demo = start(root, port=port, seed_registry=False)
    if demo.server is None:
        print(f"ddas demo: a demo server for {root} already runs at {demo.base_url}")
        return
    from ddas.registry import Registry

    steps = seed(Registry(), root, demo.base_url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    (root / SERVER_FILE).write_text(json.dumps({"url": demo.base_url, "pid": os.getpid()}))
    print(
        f"ddas demo: serving {root / 'www'} at {demo.base_url} ({steps} seeding steps; "
        f"registry {config.registry_url()})",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            (root / SERVER_FILE).unlink()
        demo.close()


def _detach(root: Path, port: int | None, timeout: float = 60.0) -> int:
    """Start ``--serve`` as a child and return once it is seeded and answering.

    The child stays in this process group, so Ctrl-C on ``make lab`` stops it with JupyterLab.
    """
    if url := find_server(root):
        print(f"ddas demo: already serving at {url}")
        return 0
    root.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "ddas.demo", "--serve", "--root", str(root)]
    args += ["--port", str(port)] if port is not None else []
    with open(root / "server.log", "ab") as log:
        child = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if url := find_server(root):
            print(f"ddas demo: serving at {url} (pid {child.pid}, log {root / 'server.log'})")
            return 0
        if child.poll() is not None:
            break
        time.sleep(0.2)
    print(f"ddas demo: the server did not start; see {root / 'server.log'}", file=sys.stderr)
    return 1


def _stop(root: Path) -> int:
    """Stop the demo server recorded for ``root`` (only if it answers as that folder's server)."""
    if find_server(root) is None:
        print("ddas demo: no demo server running")
        return 0
    pid = int(json.loads((root / SERVER_FILE).read_text())["pid"])
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if find_server(root) is None:
            break
        time.sleep(0.1)
    print(f"ddas demo: stopped the server (pid {pid})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ddas.demo", description=__doc__.splitlines()[0]
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--serve", action="store_true", help="run the data server (foreground)")
    action.add_argument("--stop", action="store_true", help="stop the folder's data server")
    action.add_argument(
        "--seed-only",
        action="store_true",
        help="seed the registry (starting a server just for that) and exit",
    )
    parser.add_argument(
        "--detach",
        action="store_true",
        help="with --serve: return once the server is up and seeded",
    )
    parser.add_argument(
        "--root",
        default=None,
        help=f"demo folder (default: ${DEMO_DIR_ENV}, else {config.data_dir() / 'demo'})",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"server port (default: ${DEMO_PORT_ENV}, else {DEFAULT_PORT})",
    )
    args = parser.parse_args(argv)
    root = Path(args.root or os.environ.get(DEMO_DIR_ENV) or config.data_dir() / "demo")
    root = root.expanduser().resolve()
    for key, value in demo_env(root).items():
        os.environ.setdefault(key, value)
    if args.stop:
        return _stop(root)
    if args.serve and args.detach:
        return _detach(root, args.port)
    if args.serve:
        _serve_forever(root, args.port)
        return 0
    demo = start(root, port=args.port)
    print(f"ddas demo: registry {config.registry_url()} seeded from {demo.base_url}")
    demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
