"""``ddas.scan``: find the datasets already on shared storage, register them, report duplicates.

Many copies reach shared storage without ``ddas.fetch`` (wget, browsers, rsync). A scan walks the
roots, registers every file of at least ``min_size`` bytes (so a later fetch can reuse it) and reports
the duplicates on disk. It does as little I/O as the best duplicate finders (jdupes, rmlint,
fclones): group by size, drop unique sizes, collapse hard links, read a head+tail sample of the rest
and hash in full only where samples collide. Three things run at once: the walk (this thread), the
reads (a thread pool, or the workers of a dask cluster, with a bounded window of tasks in flight)
and the registry writes (one background thread, in batches). A rescan reads only files whose
(device, inode, size, mtime_ns) changed; the registry's memory of the roots arrives in slices while
the walk goes on, and each slice is compared with the files walked so far (:mod:`.known`).

Unique-size files are registered ``unhashed``: they cannot be duplicates *within* the scan, and
hashing them would read every byte of the storage. :func:`ddas.scanning.hash_unhashed` hashes them
later, e.g. only those of the size a fetch is about to download; files DDAS can describe are
hashed anyway, within a budget, to be searchable by their metadata (:mod:`.describing`).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ddas.scanning import hashing, reading
from ddas.scanning.describing import DescribeBudget
from ddas.scanning.known import WALK_BESIDE_LOADING, KnownFeed
from ddas.scanning.plan import Plan
from ddas.scanning.progress import Reporter, ScanProgress
from ddas.scanning.registrar import Registrar, owner_name
from ddas.scanning.remote import is_remote, list_remote
from ddas.scanning.report import ScanReport
from ddas.scanning.walk import Excluder, FileEntry, LocalWalk, ScanError, inside, shown_path

if TYPE_CHECKING:  # pragma: no cover
    from ddas.registry import Registry
    from ddas.registry.scanview import ScanView

__all__ = ["default_processes", "default_workers", "owner_name", "scan"]


def default_workers() -> int:
    """Threads reading files: enough to keep NFS/Lustre busy, a few per core for local disks."""
    return min(32, 2 * (os.cpu_count() or 2) + 2)


def default_processes() -> int:
    """Processes ``ddas scan`` hashes small files in: one per core, none on one core (they would
    only add their start-up), at most 8 (one thread registers what they all return)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 0 if (cores or 1) < 2 else min(8, cores or 1)


def resolve_roots(
    roots: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[str]:
    """Roots as the scan walks them: local ones resolved (``realpath``), fsspec URLs as given;
    a root inside another is walked once, as part of the outer one."""
    if isinstance(roots, str | os.PathLike):
        roots = [roots]
    out: list[str] = []
    for root in roots:
        text = os.fspath(root)
        if text.startswith("file://"):
            text = text[len("file://") :]
        if not is_remote(text):
            text = os.path.realpath(os.path.expanduser(text))
            if not os.path.exists(text):
                raise FileNotFoundError(f"scan root {text} does not exist")
        out.append(text)
    if not out:
        raise ValueError("scan needs at least one root (a directory or an fsspec URL)")
    unique = list(dict.fromkeys(out))
    return [r for r in unique if not any(o != r and inside(r, [o]) for o in unique)]


def scan(
    roots: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    min_size: int = 1 << 20,
    exclude: Sequence[str] = (),
    follow_symlinks: bool = False,
    workers: int | None = None,
    registry: Registry | str | None = None,
    progress: bool = False,
    on_progress: Callable[[ScanProgress], Any] | None = None,
    client: Any = None,
    confine: Sequence[str] | None = None,
    describe_bytes: int | None = None,
    processes: int = 0,
) -> ScanReport:
    """Scan ``roots`` (local directories or fsspec URLs such as ``s3://bucket/prefix``).

    Every regular file of at least ``min_size`` bytes is registered (host + path, owner, size,
    mtime, inode); files whose size collides with another's are hashed as needed to tell the
    duplicates, the others are registered ``unhashed``. ``exclude`` takes globs (``*.tmp`` for
    names, ``/shared/scratch/*`` for paths). Symbolic links are not followed unless
    ``follow_symlinks``; a followed link to a file is a link to that copy, never waste, and a
    link that resolves outside the roots (or outside ``confine``, the folders an admin allows)
    is skipped and counted in the report (``outside_roots``).

    ``client`` (a ``distributed.Client``, or the address of a dask scheduler) spreads the walk
    of the roots' subtrees and the reads over the cluster's workers; they need no registry
    access, this process registers what they return.

    Files of a format DDAS describes are hashed even when their size is unique, smallest first,
    up to ``describe_bytes`` bytes a scan (default ``DDAS_SCAN_DESCRIBE_BYTES`` or 16 GiB; 0
    turns it off), so that ``datasets?q=t2m`` finds them; the report counts those hashed
    (``described_hashed``) and those left for a later scan (``describe_left``).

    ``processes`` hashes small files in that many worker processes instead of threads (much
    faster on trees of many small files; :mod:`ddas.scanning.processes`). A script that asks for
    them must guard its ``__main__`` (``if __name__ == "__main__":``), as with any process pool.

    Problems with single files (unreadable, dangling link, FIFO, changed while read) are listed
    in the report's ``errors``, never fatal. Ctrl-C keeps what was registered so far and re-raises.
    """
    started = time.perf_counter()
    root_list = resolve_roots(roots)
    options = _Options(max(1, int(min_size)), Excluder(exclude), follow_symlinks, confine)
    options.describe = DescribeBudget.of(describe_bytes)
    reporter = Reporter(show=progress, callback=on_progress)
    with _gc_paused(), _pool(client, workers, processes) as (pool, window, cluster):
        registrar = Registrar(registry, reporter)
        run = _Scan(registrar, reporter, options, reading.Window(pool, window), cluster)
        try:
            report = run.run(root_list, started)
            _record_event(registrar.view, root_list, report)
        finally:
            registrar.close_view()
    return report


class _Options:
    """What a scan looks at; ``bounds`` are the resolved folders no followed link may leave."""

    def __init__(
        self, min_size: int, exclude: Excluder, follow: bool, confine: Sequence[str] | None
    ) -> None:
        self.min_size, self.exclude, self.follow = min_size, exclude, follow
        self.confine = None if confine is None else [os.path.realpath(c) for c in confine]
        self.describe: DescribeBudget | None = None

    def walker(self, errors: list[ScanError], bounds: list[str]) -> LocalWalk:
        return LocalWalk(
            min_size=self.min_size,
            exclude=self.exclude,
            follow_symlinks=self.follow,
            errors=errors,
            bounds=bounds,
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A scan allocates a few tuples per file and no reference cycles worth collecting; the
    cyclic GC would re-traverse all of them again and again (a third of a 20,000-file rescan)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _pool(client: Any, workers: int | None, processes: int = 0) -> Iterator[tuple[Any, int, Any]]:
    """The readers and how many tasks may be in flight: this process's threads (with worker
    processes for the small files), or a dask cluster (which then also walks)."""
    if client is not None:
        from ddas.scanning.cluster import connect

        cluster = connect(client)
        try:
            yield cluster.pool, cluster.window, cluster
        finally:
            cluster.close()
        return
    n = workers or default_workers()
    pool = ThreadPoolExecutor(n, thread_name_prefix="ddas-scan")
    if processes > 0:
        from ddas.scanning.processes import HashPool  # multiprocessing: only when asked

        pool = HashPool(pool, processes)
    try:
        yield pool, 4 * n, None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class _Scan:
    """One scan's moving parts: walk -> plan -> windowed reads -> batched registration."""

    def __init__(
        self,
        registrar: Registrar,
        reporter: Reporter,
        options: _Options,
        window: reading.Window,
        cluster: Any,
    ) -> None:
        self.registrar, self.reporter, self.options, self.cluster = (
            registrar,
            reporter,
            options,
            cluster,
        )
        self.errors: list[ScanError] = []
        self.hashed = 0
        self.skipped_links = self.outside = 0
        self.workers: dict[str, dict[str, int]] = {}
        self.known: KnownFeed  # the registry's memory of the roots, arriving (set by run)
        self._ready: list[FileEntry] = []  # small files to hash, not yet in a task
        self.plan = Plan(None, options.describe)
        self.window = window
        window.on_result = self._on_result

    def run(self, roots: list[str], started: float) -> ScanReport:
        reporter, registrar = self.reporter, self.registrar
        self.known = KnownFeed(registrar, roots)
        try:
            listed = self._walk(roots)
            plan = self.plan
            self._ready.extend(self.known.poll(plan, wait=True))
            plan.finish()
            reporter.update(phase="plan", candidates=plan.candidates)
            self._send_ready(force=True)
            later = plan.read_later
            registrar.add(plan.writes(plan.settled()))
            missing = _mark_vanished(registrar, plan, listed)
            reporter.update(phase="read")
            for task in plan.tasks():
                self.window.submit(reading.resolve_group, *task)
            self.window.drain()
            registrar.add(plan.writes(later))
            reporter.update(phase="register", errors=len(self.errors))
            registrar.flush()
            report = self._report(roots, missing, started)
        except KeyboardInterrupt:
            self.window.cancel()
            registrar.flush()  # what was settled is kept
            raise
        finally:
            self.window.cancel()
            registrar.close()
            reporter.update(phase="done", hashed_bytes=self.hashed, errors=len(self.errors))
            reporter.close()
        return report

    # -- walking ------------------------------------------------------------------------------

    def _walk(self, roots: list[str]) -> dict[str, set[str] | None]:
        """Walk or list every root; returns, per remote root, every location it listed."""
        listed: dict[str, set[str] | None] = {}
        for root in roots:
            if is_remote(root):
                found, names = list_remote(
                    root,
                    min_size=self.options.min_size,
                    exclude=self.options.exclude,
                    errors=self.errors,
                )
                listed[root] = names
                self._take(found)
                continue
            listed[root] = None
            bounds = self.options.confine if self.options.confine is not None else roots
            if not inside(root, bounds):
                self.outside += 1
                self.errors.append(
                    ScanError(root, "outside-roots", "resolves outside the scan roots")
                )
            elif self.cluster is not None:
                self.cluster.walk(root, self.options, bounds, self)
            else:
                self._walk_here(root, bounds)
        if self.cluster is not None:
            self.window.drain()  # every subtree's sizes are needed before the groups settle
        self.window.poll()
        shown = [
            e if e.path.isascii() else e._replace(path=shown_path(e.path)) for e in self.errors
        ]
        self.errors[:] = shown
        return listed

    def _walk_here(self, root: str, bounds: list[str]) -> None:
        walker = self.options.walker(self.errors, [b for b in bounds if not is_remote(b)])
        for batch in walker.walk(root):
            self._take(batch)
        self.skipped_links += walker.skipped_links
        self.outside += walker.outside

    def _take(self, batch: list[FileEntry], worker: str = "local") -> None:
        """Files walked: into the plan, with the slices of the registry's memory that arrived
        meanwhile (a file waits there for its known copy); small ones whose size collides
        straight to the readers."""
        self.reporter.update(files=self.reporter.state.files + len(batch))
        if self.cluster is not None:
            self._count(worker, files=len(batch), bytes=sum(e.size for e in batch))
        if not self.known.complete:  # past its first files, the walk lets the loading finish
            alone = self.reporter.state.files >= WALK_BESIDE_LOADING
            self._ready.extend(self.known.poll(self.plan, wait=alone))
        self._ready.extend(self.plan.add(batch))
        self._send_ready()

    def _send_ready(self, *, force: bool = False) -> None:
        ready = self._ready
        while len(ready) >= reading.CHUNK or (force and ready):
            chunk, self._ready = ready[: reading.CHUNK], ready[reading.CHUNK :]
            ready = self._ready
            self.window.submit(reading.hash_small, chunk)
        self.window.poll()

    # -- results ------------------------------------------------------------------------------

    def _on_result(self, result: Any) -> None:
        if isinstance(result, reading.ReadResult):
            self._read(result)
        else:  # a cluster's walk of one subtree
            self.cluster.walked(result, self)

    def _read(self, result: reading.ReadResult) -> None:
        plan = self.plan
        plan.hashed(result.digests)
        self.hashed += result.nread
        if self.cluster is not None:
            self._count(result.worker, hashed_files=result.files, hashed_bytes=result.nread)
        for entry, exc in result.failed:
            plan.failed.add(entry.ident)
            kind = "changed" if isinstance(exc, hashing.ChangedDuringScan) else "unreadable"
            message = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            self.errors.append(ScanError(entry.location, kind, message))
        if result.final:  # small files: nothing more to learn about them
            self.registrar.add(plan.writes(result.digests))
        self.reporter.update(hashed_bytes=self.hashed, errors=len(self.errors))

    def _count(self, worker: str, **amounts: int) -> None:
        row = self.workers.setdefault(
            worker, {"files": 0, "bytes": 0, "hashed_files": 0, "hashed_bytes": 0}
        )
        for key, value in amounts.items():
            row[key] += value

    def _report(self, roots: list[str], missing: int, started: float) -> ScanReport:
        report = ScanReport.build(
            roots=roots,
            plan=self.plan,
            errors=self.errors,
            hashed_bytes=self.hashed,
            registered=self.registrar.written,
            missing=missing,
            skipped_symlinks=self.skipped_links,
            outside_roots=self.outside,
            workers=self.workers,
            seconds=time.perf_counter() - started,
            owner_of=owner_name,
        )
        summary = report.summary()  # the final figures: hard links once, failed files left out
        self.reporter.update(files=summary["files"], bytes=summary["bytes"])
        return report


def _mark_vanished(registrar: Registrar, plan: Plan, listed: dict[str, set[str] | None]) -> int:
    """Known copies the walk did not see become ``missing`` - if they are really gone (a file
    merely excluded, below ``min_size`` or in an unreadable directory still exists)."""
    remote_listed = set().union(*(s for s in listed.values() if s is not None))
    gone = []
    for copy_id, location, *_ in plan.vanished():
        if is_remote(location):
            if location not in remote_listed:
                gone.append(copy_id)
            continue
        try:
            os.lstat(location)
        except FileNotFoundError:
            gone.append(copy_id)
        except OSError:
            pass  # e.g. EACCES on a parent: we cannot tell, so we do not claim it is gone
    return registrar.registry.mark_missing(gone) if gone else 0


def _record_event(view: ScanView, roots: list[str], report: ScanReport) -> None:
    from ddas.identity import redact

    shown = [redact(r) if is_remote(r) else r for r in roots]
    summary = report.summary()
    detail = {"roots": shown, **summary, **report.counts()}
    view.record_scan(nbytes=summary["bytes"], seconds=report.seconds, detail=detail)
