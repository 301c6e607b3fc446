"""A demo for one process: find (or start) the folder's data server and seed its registry.

The notebooks call :func:`start`; it finds the server ``python -m ddas.demo --serve`` runs for
``$DDAS_DEMO_DIR`` (``make lab``, Binder) or, outside the demo, starts a private one with a temporary
registry, so fake users only ever land in a demo registry. :func:`seed` writes the demo's history
through the same public API a researcher uses.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ddas import config
from ddas.demo.catalog import CATALOG
from ddas.demo.server import STATUS_PATH, DemoServer, publish

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.registry import Registry

DEMO_DIR_ENV = "DDAS_DEMO_DIR"
DEMO_PORT_ENV = "DDAS_DEMO_PORT"
DEFAULT_PORT = 8765  # fixed, so that URLs seeded by one `make lab` still match in the next
SERVER_FILE = "server.json"


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
    """Base URL of a live demo server for ``root`` (from ``server.json``), or None.

    A server that cannot finish its status answer (it is stopping, or is not ours and speaks
    some other protocol) is not live: nothing would be reused from it, or stopped.
    """
    try:
        url = json.loads((root / SERVER_FILE).read_text())["url"]
        with urllib.request.urlopen(url.rstrip("/") + STATUS_PATH, timeout=2) as resp:
            status = json.load(resp)
    except (OSError, ValueError, KeyError, http.client.HTTPException):
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
