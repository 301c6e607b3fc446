"""The ``DDASExtension`` server extension app: configuration, the registry, the worker threads.

Everything an admin tunes is a traitlet (``c.DDASExtension.registry_url``, ``store``, ``scan_roots``,
``admin_users``, ...) whose default is what the library itself would use (``DDAS_REGISTRY``,
``DDAS_STORE``), so a server configured only by environment variables and one configured in
``jupyter_server_config.py`` behave alike. Blocking work never runs on the tornado event loop (which
also serves kernels and files): registry queries, whole-registry reads and remote probes each have
their own bounded lane of threads with per-user limits (:mod:`ddas_server.executors`), and scans
their own single thread (a scan takes minutes and must not starve the sidebar's queries).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, List, Set, TraitError, Unicode, default, validate

from ddas import config
from ddas.netpolicy import AddressPolicy, guarded_session
from ddas.secrets import install_log_filter
from ddas_server.conditional import ReportCache
from ddas_server.executors import Lane, Lanes
from ddas_server.scans import ScanCancelled, ScanJobs, ScanRunner

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.registry import Registry

T = TypeVar("T")

#: How long a stopping server waits for registry calls still running (a query that outlived its
#: caller's 504, say) before it lets go of the registry.
STOP_DRAIN_SECONDS = 15.0


def as_registry_url(value: str) -> str:
    """Same reading as ``DDAS_REGISTRY``: an SQLAlchemy URL, or a plain path meaning SQLite."""
    value = value.strip()
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def freeze_heap() -> int:
    """Collect what start-up left as garbage, then freeze the rest (``gc.freeze``); returns how
    many objects were frozen.

    A full collection visits every tracked object and holds the GIL meanwhile. A warm server
    tracks ~290,000 (jupyter-server's, SQLAlchemy's compiled statements, the registry's caches):
    at 1M copies, 700 searches met two full collections of 350 and 368 ms, every request in
    flight waiting them out; frozen, the one full collection took 4.6 ms. The frozen objects
    live as long as the server does anyway.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


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
    lookup_probe_allow_networks = List(
        Unicode(),
        help="IP networks GET lookup may probe although they are not public internet addresses "
        "(e.g. an internal mirror: ['10.1.2.0/24']). Loopback, private, link-local, multicast and "
        "other non-global addresses are refused otherwise; cloud metadata services always.",
    ).tag(config=True)
    warm_up = Bool(
        True, help="Warm the registry at start-up (pool, search samples, each GET route once)."
    ).tag(config=True)
    freeze_heap = Bool(
        True,
        help="After the warm-up, move the objects the server has made so far out of the garbage "
        "collector's sight (gc.freeze): its full collections then take milliseconds, not the "
        "0.1-0.4 s pauses that every request in flight waited out. They live as long as the "
        "server anyway.",
    ).tag(config=True)
    registry_threads = Int(4, help="Threads answering ordinary registry queries.").tag(config=True)
    registry_per_user = Int(8, help="Registry queries one user may have running at once.").tag(
        config=True
    )
    registry_timeout = Float(30.0, help="Seconds a registry query may take (then 504).").tag(
        config=True
    )
    heavy_threads = Int(2, help="Threads for whole-registry reads (duplicates, stats).").tag(
        config=True
    )
    heavy_per_user = Int(2, help="Whole-registry reads one user may have running at once.").tag(
        config=True
    )
    heavy_timeout = Float(120.0, help="Seconds a whole-registry read may take (then 504).").tag(
        config=True
    )
    probe_threads = Int(8, help="Threads for lookups that probe a remote.").tag(config=True)
    probe_per_user = Int(4, help="Probing lookups one user may have running at once.").tag(
        config=True
    )
    probe_timeout = Float(
        15.0, help="Seconds a remote may take to answer a probe's connect and each read."
    ).tag(config=True)
    max_header_size = Int(
        256 * 1024,
        help="Bytes of request line and headers the server reads (tornado's default: 64 KiB, too "
        "little for an 8,192-character UTF-8 URL in a query). Longer DDAS requests get 414/431.",
    ).tag(config=True)
    export_env = Bool(
        True,
        help="Export the registry and store to DDAS_REGISTRY / DDAS_STORE so that kernels started "
        "by this server use the same registry as the sidebar.",
    ).tag(config=True)

    @validate("lookup_probe_allow_networks")
    def _valid_networks(self, proposal: Any) -> list[str]:
        try:
            AddressPolicy.from_strings(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"lookup_probe_allow_networks: {exc}") from None
        return proposal["value"]

    @default("registry_url")
    def _default_registry_url(self) -> str:
        return config.registry_url()

    @default("store")
    def _default_store(self) -> str:
        return str(config.store_root())

    # -- life cycle -------------------------------------------------------------------------------

    def initialize_settings(self) -> None:
        self._scrub_logs()
        self.registry_url = as_registry_url(self.registry_url)
        self.store = str(Path(self.store).expanduser().resolve())
        if self.export_env:
            os.environ["DDAS_REGISTRY"] = self.registry_url
            os.environ["DDAS_STORE"] = self.store
        self._registry: Registry | None = None
        self._registry_lock = threading.Lock()
        self.lanes = Lanes(
            [
                Lane(
                    "query",
                    self.registry_threads,
                    self.registry_per_user,
                    self.registry_timeout,
                    "registry",
                ),
                Lane("heavy", self.heavy_threads, self.heavy_per_user, self.heavy_timeout, "heavy"),
                # a probe may wait for a connect and then a read, plus the registry around it
                Lane(
                    "probe",
                    self.probe_threads,
                    self.probe_per_user,
                    2 * self.probe_timeout + self.registry_timeout,
                    "probe",
                ),
            ]
        )
        policy = AddressPolicy.from_strings(self.lookup_probe_allow_networks)
        self.probe_session = guarded_session(policy, (self.probe_timeout, self.probe_timeout))
        self._scan_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddas-scan")
        self.scans = ScanJobs(self._scan_executor)
        self.report_cache = ReportCache()  # report bodies by generation (ddas_server.conditional)
        self._warm_stop = threading.Event()
        self._warmer: threading.Thread | None = None
        self.log.info(
            "DDAS: serving the registry under /ddas/api/ (admins: %s)",
            ", ".join(sorted(self.admin_users)) or "none",
        )

    def _scrub_logs(self) -> None:
        """Keep secrets out of the server log: tornado's access line holds the request URI, and a
        lookup's ``?url=`` is a user's presigned or ``user:password`` URL. jupyter-server masks
        only parameters named like its own token; this applies DDAS's rules to the records of
        tornado's loggers and the server's, and to every handler already writing the log."""
        server_log = self.serverapp.log if self.serverapp is not None else self.log
        loggers = [self.log, server_log, "tornado.access", "tornado.application", "tornado.general"]
        handlers = [*server_log.handlers, *logging.getLogger().handlers]
        install_log_filter([*loggers, *handlers])

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Once the server runs: let its HTTPServer read requests up to ``max_header_size``
        (jupyter-server offers no setting for it), so that DDAS can answer 414/431 with JSON
        rather than the connection closing on a long URL; and mark scans a killed server left."""
        try:
            params = serverapp.http_server.conn_params
        except AttributeError:  # embedded without an HTTPServer of its own (pytest-jupyter)
            params = None
        if params is not None:
            params.max_header_size = max(params.max_header_size or 0, self.max_header_size)
        try:
            await self.run(self.mark_interrupted_scans)
        except Exception as exc:  # a registry down at start must not stop the server
            self.log.error("DDAS: could not check for interrupted scans: %s", exc)

    def _warm(self) -> None:
        """At start-up, not on the first users' requests: open the pool's connections, take the
        search's samples, and make each GET route's registry call once (SQLAlchemy compiles a
        statement on its first use in a process; PostgreSQL plans and caches catalog rows).
        Stops between steps once the server stops (``stop_extension`` waits for it: a warm-up
        still reading must not hold locks against whoever drops the database next)."""
        from ddas.api import lookup_status  # imported by initialize_handlers' thread already

        started = time.monotonic()
        try:
            registry = self.get_registry()
            steps = [
                lambda: registry.warm(connections=min(self.registry_threads, 5)),
                registry.generation,
                lambda: registry.duplicates(limit=50),
                registry.stats,
                lambda: registry.events(since=max(0, registry.last_event_id() - 50)),
                lambda: registry.dataset(1),
                lambda: lookup_status("https://warm-up.invalid/x", registry=registry, probe=False),
            ]
            for step in steps:
                if self._warm_stop.is_set():
                    return
                step()
        except Exception as exc:  # a registry that is down now is reported on each request
            self.log.warning("DDAS: could not warm the registry: %s: %s", type(exc).__name__, exc)
            return
        if self.freeze_heap:
            frozen = freeze_heap()
            self.log.info("DDAS: %d start-up objects frozen out of the garbage collector", frozen)
        self.log.info("DDAS: registry warm in %.1f s", time.monotonic() - started)

    def initialize_handlers(self) -> None:
        if config.registry_service(self.registry_url):  # a Hub user's server: the service answers
            from ddas_server.relay import RELAY_ROUTES

            self.handlers.extend(RELAY_ROUTES)
            return

        from ddas_server import lifecycle
        from ddas_server.collections import ROUTES as COLLECTION_ROUTES
        from ddas_server.handlers import ROUTES

        self.handlers.extend(lifecycle.ROUTES + COLLECTION_ROUTES + ROUTES)  # before the 404
        self.begin_warm_up()

    def begin_warm_up(self) -> None:
        """Warm the registry on a thread of its own (if ``warm_up``), for this server or the Hub
        service, once this thread has imported what the registry and the lookups need: two
        threads importing SQLAlchemy at once can meet a half-initialised module."""
        import ddas.api
        import ddas.registry  # noqa: F401

        if self.warm_up and self._warmer is None:
            self._warmer = threading.Thread(target=self._warm, name="ddas-warm", daemon=True)
            self._warmer.start()

    async def stop_extension(self) -> None:
        """Stop taking work: running queries finish (waited for, up to ``STOP_DRAIN_SECONDS``), a
        running scan stops at its next progress report (its registry writes so far are kept; a
        new scan resumes incrementally)."""
        self.scans.cancel_all()
        self._warm_stop.set()
        if self._warmer is not None:
            await asyncio.to_thread(self._warmer.join, 60)  # a step is one query: it ends soon
        left = await asyncio.to_thread(self.lanes.drain, STOP_DRAIN_SECONDS)
        if left:
            self.log.warning("DDAS: stopped with registry calls still running: %s", left)
        self._scan_executor.shutdown(wait=False, cancel_futures=True)
        self.probe_session.close()

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
        """Run blocking ``fn`` for the server itself (no user limit) on the query lane."""
        return await self.lanes.run("query", functools.partial(fn, *args, **kwargs))

    async def run_long(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a long blocking job (gc, verify, reclaim) on the scan thread, not a query thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._scan_executor, functools.partial(fn, *args))

    async def with_registry(
        self, fn: Callable[[Registry], T], *, lane: str = "query", user: str | None = None
    ) -> T:
        """``await app.with_registry(lambda r: r.search(...), user=...)``: the registry call on
        ``lane`` (``query``, ``heavy`` or ``probe``), off the loop, within ``user``'s limit there."""
        return await self.lanes.run(lane, lambda: fn(self.get_registry()), user)

    def scan_runner(self, user: str) -> ScanRunner:
        """A function running ``ddas.scan`` for ``user`` with this server's settings (blocking:
        call it in a thread), recorded as a ``scan_runs`` row from start to end."""
        from ddas.registry.scanruns import SCAN_HEARTBEAT_EVERY
        from ddas.scanning import scan

        registry = self.get_registry()

        def run(roots: list[str], on_progress: Callable[[Any], None]) -> dict[str, Any]:
            run_id = registry.scan_run_started(user, roots)
            beat = [time.monotonic()]

            def progress(report: Any) -> None:
                on_progress(report)  # raises ScanCancelled when the server stops
                if time.monotonic() - beat[0] >= SCAN_HEARTBEAT_EVERY:
                    beat[0] = time.monotonic()
                    registry.scan_run_beat(run_id)

            try:
                report = scan(
                    roots,
                    min_size=self.scan_min_size,
                    exclude=tuple(self.scan_exclude),
                    follow_symlinks=False,
                    workers=self.scan_workers,
                    confine=list(self.scan_roots),  # a link out of the configured roots is skipped
                    registry=registry,
                    progress=False,
                    on_progress=progress,
                )
            except ScanCancelled as stop:
                registry.scan_run_finished(run_id, "interrupted", str(stop))
                raise
            except Exception as exc:
                registry.scan_run_finished(run_id, "failed", f"{type(exc).__name__}: {exc}")
                raise
            registry.scan_run_finished(run_id, "done")
            return dict(report.summary())

        return run

    def mark_interrupted_scans(self) -> None:
        """At start: scans a killed server left ``running`` become ``interrupted`` (+ event)."""
        for run in self.get_registry().mark_interrupted_scans():
            self.log.warning(
                "DDAS: scan %d of %s was interrupted: %s", run.id, run.roots, run.message
            )
