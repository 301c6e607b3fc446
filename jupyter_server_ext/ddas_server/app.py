"""The ``DDASExtension`` server extension app: configuration, the registry, the worker threads.

Everything an admin tunes is a traitlet (``c.DDASExtension.registry_url``, ``store``, ``scan_roots``,
``admin_users``, ...) whose default is what the library itself would use (``DDAS_REGISTRY``,
``DDAS_STORE``), so a server configured only by environment variables and one configured in
``jupyter_server_config.py`` behave alike. The app owns two executors: registry calls run on a small
pool (a query must never block the tornado event loop, which also serves kernels and files), scans on
their own single thread (a scan takes minutes and must not starve the sidebar's queries).
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Int, List, Set, Unicode, default

from ddas import config
from ddas_server.scans import ScanJobs, ScanRunner

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.registry import Registry

T = TypeVar("T")


def as_registry_url(value: str) -> str:
    """Same reading as ``DDAS_REGISTRY``: an SQLAlchemy URL, or a plain path meaning SQLite."""
    value = value.strip()
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


class DDASExtension(ExtensionApp):
    """Serves the DDAS registry under ``/ddas/api/`` with the server's own auth."""

    name = "ddas_server"
    load_other_extensions = True

    registry_url = Unicode(
        help="SQLAlchemy URL (or SQLite path) of the registry; default: DDAS_REGISTRY, as the library."
    ).tag(config=True)
    store = Unicode(help="Root of the shared store; default: DDAS_STORE, as the library.").tag(
        config=True
    )
    scan_roots = List(
        Unicode(), help="Folders an admin may scan from the sidebar (POST scans walks these)."
    ).tag(config=True)
    admin_users = Set(
        Unicode(), help="User names allowed to start scans and to forget anybody's copies."
    ).tag(config=True)
    scan_min_size = Int(1 << 20, help="Files smaller than this (bytes) are not scanned.").tag(
        config=True
    )
    scan_exclude = List(Unicode(), help="Glob patterns a scan skips.").tag(config=True)
    scan_workers = Int(
        None, allow_none=True, help="Hashing threads per scan (None: the library's default)."
    ).tag(config=True)
    lookup_probe = Bool(
        True,
        help="Let GET lookup ask the remote for its current version (one HEAD). Disable when "
        "the server must not contact URLs its users name.",
    ).tag(config=True)
    lookup_probe_schemes = Set(
        Unicode(),
        {"http", "https"},
        help="URL schemes GET lookup may probe. Others (s3, gs, ftp...) are answered from the "
        "registry alone unless added here: probing them runs fsspec backends inside the server.",
    ).tag(config=True)
    registry_threads = Int(4, help="Threads answering registry queries.").tag(config=True)
    export_env = Bool(
        True,
        help="Export the registry and store to DDAS_REGISTRY / DDAS_STORE so that kernels started "
        "by this server use the same registry as the sidebar.",
    ).tag(config=True)

    @default("registry_url")
    def _default_registry_url(self) -> str:
        return config.registry_url()

    @default("store")
    def _default_store(self) -> str:
        return str(config.store_root())

    # -- life cycle -------------------------------------------------------------------------------

    def initialize_settings(self) -> None:
        self.registry_url = as_registry_url(self.registry_url)
        self.store = str(Path(self.store).expanduser().resolve())
        if self.export_env:
            os.environ["DDAS_REGISTRY"] = self.registry_url
            os.environ["DDAS_STORE"] = self.store
        self._registry: Registry | None = None
        self._registry_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, self.registry_threads), thread_name_prefix="ddas-registry"
        )
        self._scan_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddas-scan")
        self.scans = ScanJobs(self._scan_executor)
        self.log.info(
            "DDAS: serving the registry under /ddas/api/ (admins: %s)",
            ", ".join(sorted(self.admin_users)) or "none",
        )

    def _warm(self) -> None:
        """Connect and warm the search at start-up, not on the first user's request."""
        try:
            self.get_registry().warm()
        except Exception as exc:  # a registry that is down now is reported on each request
            self.log.warning("DDAS: could not warm the registry: %s", type(exc).__name__)

    def initialize_handlers(self) -> None:
        from ddas_server.handlers import ROUTES

        self.handlers.extend(ROUTES)
        # Warm up on a registry thread, once this thread has imported what the registry needs:
        # two threads importing SQLAlchemy at once can meet a half-initialised module.
        import ddas.registry  # noqa: F401

        self._executor.submit(self._warm)

    async def stop_extension(self) -> None:
        """Stop taking work: running queries finish, a running scan stops at its next progress
        report (its registry writes so far are kept; a new scan resumes incrementally)."""
        self.scans.cancel_all()
        for executor in (self._executor, self._scan_executor):
            executor.shutdown(wait=False, cancel_futures=True)

    def may_probe(self, url: str) -> bool:
        """Whether GET lookup may contact the remote behind ``url`` (see ``lookup_probe*``)."""
        scheme = url.strip().split("://", 1)[0].lower() if "://" in url else "file"
        return self.lookup_probe and scheme in self.lookup_probe_schemes

    # -- the registry -----------------------------------------------------------------------------

    def get_registry(self) -> Registry:
        """The one :class:`Registry` of this server, created on first use in a worker thread
        (connecting, and migrating a new database, is blocking I/O)."""
        with self._registry_lock:
            if self._registry is None:
                from ddas.registry import Registry

                self._registry = Registry(self.registry_url)
                self.log.info("DDAS: registry %r", self._registry)
            return self._registry

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking ``fn`` on the registry threads and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def with_registry(self, fn: Callable[[Registry], T]) -> T:
        """``await app.with_registry(lambda r: r.search(...))``: the registry call, off the loop."""
        return await self.run(lambda: fn(self.get_registry()))

    def scan_runner(self) -> ScanRunner:
        """A function running ``ddas.scan`` with this server's settings (blocking: call it in a
        thread). Raises ImportError while the DDAS in use has no ``ddas.scan``."""
        from ddas.scan import scan

        registry = self.get_registry()

        def run(roots: list[str], on_progress: Callable[[Any], None]) -> dict[str, Any]:
            report = scan(
                roots,
                min_size=self.scan_min_size,
                exclude=tuple(self.scan_exclude),
                follow_symlinks=False,
                workers=self.scan_workers,
                registry=registry,
                progress=False,
                on_progress=on_progress,
            )
            return dict(report.summary())

        return run
