"""``ddas.scan``: find the datasets already on shared storage, register them, report duplicates.

Many copies reach shared storage without ``ddas.fetch`` (wget, browsers, rsync). A scan walks the
roots, registers every file of at least ``min_size`` bytes (so a later fetch can reuse it) and reports
the duplicates on disk. It does as little I/O as the best duplicate finders (jdupes, rmlint,
fclones): group by size, drop unique sizes, collapse hard links, read a head+tail sample of the rest
and hash in full only where samples collide, all reads overlapped on a thread pool (BLAKE3 and the
syscalls release the GIL). A rescan reads only files whose (device, inode, size, mtime_ns) changed.

Unique-size files are registered ``unhashed``: they cannot be duplicates *within* the scan, and
hashing them would read every byte of the storage. :func:`ddas.scan.hash_unhashed` hashes them later,
e.g. only those of the size a fetch is about to download.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ddas import config, metadata
from ddas.scan import groups, hashing
from ddas.scan.plan import Plan
from ddas.scan.progress import Reporter, ScanProgress
from ddas.scan.remote import is_remote, list_remote
from ddas.scan.report import ScanReport
from ddas.scan.walk import Excluder, FileEntry, ScanError, shown_path, walk_local

if TYPE_CHECKING:  # pragma: no cover
    from ddas.registry import Registry
    from ddas.registry.scans import KnownCopy, ScannedCopy


def default_workers() -> int:
    """Threads reading files: enough to keep NFS/Lustre busy, a few per core for local disks."""
    return min(32, 2 * (os.cpu_count() or 2) + 2)


@lru_cache(maxsize=4096)
def owner_name(uid: int | None) -> str:
    """A file's owner as a user name (``uid1234`` when the uid has no passwd entry)."""
    if uid is None:
        return config.current_user()
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def _roots(roots: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    if isinstance(roots, str | os.PathLike):
        roots = [roots]
    out: list[str] = []
    for root in roots:
        text = os.fspath(root)
        if text.startswith("file://"):
            text = text[len("file://") :]
        if not is_remote(text):
            text = os.path.abspath(os.path.expanduser(text))
            if not os.path.exists(text):
                raise FileNotFoundError(f"scan root {text} does not exist")
        out.append(text)
    if not out:
        raise ValueError("scan needs at least one root (a directory or an fsspec URL)")
    return out


class _Registrar:
    """Buffers registrations and writes them in batches (one transaction each) on a background
    thread, so the database works while the readers hash. The drivers release the GIL while the
    database works. Writes happen in order, one batch at a time."""

    def __init__(self, registry: Registry, reporter: Reporter, batch: int) -> None:
        self.registry, self.reporter, self.batch = registry, reporter, batch
        self.pending: list[ScannedCopy] = []
        self.written = 0
        self._host = config.hostname()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ddas-register")
        self._writes: list[Future] = []
        self._describe: list[tuple[str, str]] = []  # (blake3, path) for ddas.metadata

    def add(self, items: Iterable[tuple[FileEntry, str | None]]) -> None:
        from ddas.registry.scans import ScannedCopy

        host, pending = self._host, self.pending
        for entry, b3 in items:
            pending.append(
                ScannedCopy(
                    entry.location,
                    "" if entry.fs is not None else host,
                    entry.size,
                    b3,
                    entry.mtime_ns,
                    entry.device,
                    entry.inode,
                    owner_name(entry.uid),
                )
            )
            if (
                b3
                and entry.fs is None
                and len(self._describe) < metadata.QUEUE_SIZE
                and metadata.supported(os.path.basename(entry.location))
            ):
                self._describe.append((b3, entry.location))
            if len(pending) >= self.batch:
                self._send()
                pending = self.pending

    def _send(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self._writes.append(self._writer.submit(self.registry.register_scanned, batch))

    def flush(self) -> None:
        """Write what is buffered and wait for every write; a failed write raises here."""
        self._send()
        try:
            for fut in self._writes:
                self.written += fut.result()
                self.reporter.update(registered=self.written)
        finally:
            self._writes = []
        for b3, location in self._describe:  # registered now: extraction may look them up
            metadata.schedule(self.registry.url, b3, location, os.path.basename(location))
        self._describe = []

    def close(self) -> None:
        self._writer.shutdown(wait=True)


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
) -> ScanReport:
    """Scan ``roots`` (local directories or fsspec URLs such as ``s3://bucket/prefix``).

    Every regular file of at least ``min_size`` bytes is registered (host + path, owner, size,
    mtime, inode); files whose size collides with another's are hashed as needed to tell the
    duplicates, the others are registered ``unhashed``. ``exclude`` takes globs (``*.tmp`` for
    names, ``/shared/scratch/*`` for paths). Symbolic links are not followed unless
    ``follow_symlinks``; a followed link to a file is a link to that copy, never waste.

    Problems with single files (unreadable, dangling link, FIFO, changed while read) are listed
    in the report's ``errors``, never fatal. Ctrl-C keeps what was registered so far and re-raises.
    """
    with _gc_paused():
        return _scan(
            roots, min_size, exclude, follow_symlinks, workers, registry, progress, on_progress
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


def _scan(
    roots: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    min_size: int,
    exclude: Sequence[str],
    follow_symlinks: bool,
    workers: int | None,
    registry: Registry | str | None,
    progress: bool,
    on_progress: Callable[[ScanProgress], Any] | None,
) -> ScanReport:
    from ddas.registry import Registry

    started = time.perf_counter()
    root_list = _roots(roots)
    if not isinstance(registry, Registry):
        registry = Registry(registry)
    min_size = max(1, int(min_size))
    reporter = Reporter(show=progress, callback=on_progress)
    registrar = _Registrar(registry, reporter, batch=4000)
    errors: list[ScanError] = []
    excluder = Excluder(exclude)
    pool: ThreadPoolExecutor | None = None
    hashed = [0]
    try:
        entries, listed, skipped_links = _list_all(
            root_list, min_size, excluder, follow_symlinks, errors, reporter
        )
        reporter.update(phase="plan", files=len(entries), bytes=sum(e.size for e in entries))
        plan = Plan(entries, _known(registry, root_list))
        reporter.update(candidates=plan.candidates)
        registrar.add(plan.writes(plan.settled))
        missing = _mark_vanished(registry, plan, listed)
        if plan.pending:
            pool = ThreadPoolExecutor(workers or default_workers(), thread_name_prefix="ddas-scan")
            _read_candidates(plan, pool, errors, reporter, hashed)
        registrar.add(plan.writes(plan.pending))
        reporter.update(phase="register", errors=len(errors))
        registrar.flush()
        report = ScanReport.build(
            roots=root_list,
            plan=plan,
            errors=errors,
            hashed_bytes=hashed[0],
            registered=registrar.written,
            missing=missing,
            skipped_symlinks=skipped_links,
            seconds=time.perf_counter() - started,
            owner_of=owner_name,
        )
        summary = report.summary()  # the final figures: hard links once, failed files left out
        reporter.update(files=summary["files"], bytes=summary["bytes"])
    except KeyboardInterrupt:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        registrar.flush()  # what was settled is kept
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        registrar.close()
        reporter.update(phase="done", hashed_bytes=hashed[0], errors=len(errors))
        reporter.close()
    _record_event(registry, root_list, report)
    return report


def _list_all(
    roots: list[str],
    min_size: int,
    excluder: Excluder,
    follow_symlinks: bool,
    errors: list[ScanError],
    reporter: Reporter,
) -> tuple[list[FileEntry], dict[str, set[str] | None], int]:
    """Walk or list every root; ``listed`` maps remote roots to every location they listed."""
    entries: list[FileEntry] = []
    listed: dict[str, set[str] | None] = {}
    skipped = 0
    for root in roots:
        if is_remote(root):
            found, names = list_remote(root, min_size=min_size, exclude=excluder, errors=errors)
            listed[root] = names
        else:
            base = len(entries)
            found, n = walk_local(
                root,
                min_size=min_size,
                exclude=excluder,
                follow_symlinks=follow_symlinks,
                errors=errors,
                on_dir=(lambda k, b=base: reporter.update(files=b + k))
                if reporter.active
                else None,
            )
            listed[root] = None
            skipped += n
        entries.extend(found)
        reporter.update(files=len(entries))
    errors[:] = [e if e.path.isascii() else e._replace(path=shown_path(e.path)) for e in errors]
    if len(roots) > 1:  # overlapping roots must not list a file twice
        unique = {e.location: e for e in entries}
        entries = list(unique.values()) if len(unique) != len(entries) else entries
    return entries, listed, skipped


def _known(registry: Registry, roots: list[str]) -> dict[str, KnownCopy]:
    known: dict[str, KnownCopy] = {}
    host = config.hostname()
    for root in roots:
        for k in registry.known_copies_under("" if is_remote(root) else host, root):
            known[k.location] = k
    return known


def _mark_vanished(registry: Registry, plan: Plan, listed: dict[str, set[str] | None]) -> int:
    """Known copies the walk did not see become ``missing`` - if they are really gone (a file
    merely excluded, below ``min_size`` or in an unreadable directory still exists)."""
    seen = {e.location for e in plan.entries}
    remote_listed = set().union(*(s for s in listed.values() if s is not None))
    gone = []
    for k in plan.vanished(seen):
        if is_remote(k.location):
            if k.location not in remote_listed:
                gone.append(k.id)
            continue
        try:
            os.lstat(k.location)
        except FileNotFoundError:
            gone.append(k.id)
        except OSError:
            pass  # e.g. EACCES on a parent: we cannot tell, so we do not claim it is gone
    return registry.mark_missing(gone) if gone else 0


def _read_candidates(
    plan: Plan,
    pool: ThreadPoolExecutor,
    errors: list[ScanError],
    reporter: Reporter,
    hashed: list[int],
) -> None:
    """Resolve every size group that needs reading, one worker task per group."""
    reporter.update(phase="read")
    pending: set[Future] = {pool.submit(groups.resolve, *task) for task in plan.tasks()}
    while pending:  # wait with a timeout: the main thread stays responsive to Ctrl-C
        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        for fut in done:
            result = fut.result()
            plan.blake3.update(result.digests)
            hashed[0] += result.nread
            for entry, exc in result.failed:
                plan.failed.add(entry.ident)
                kind = "changed" if isinstance(exc, hashing.ChangedDuringScan) else "unreadable"
                message = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                errors.append(ScanError(entry.location, kind, message))
        reporter.update(hashed_bytes=hashed[0], errors=len(errors))


def _record_event(registry: Registry, roots: list[str], report: ScanReport) -> None:
    from ddas.identity import redact

    shown = [redact(r) if is_remote(r) else r for r in roots]
    summary = report.summary()
    registry.record_event(
        "scan",
        nbytes=summary["bytes"],
        seconds=report.seconds,
        detail={"roots": shown, **summary, **report.counts()},
    )
