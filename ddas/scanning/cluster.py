"""Scanning with a ``dask.distributed`` cluster: many workers walk and hash, one process registers.

A parallel file system serves many readers at once far better than one: a scan of it spreads the walk
of the roots' subtrees and the reads of the candidates over the workers of an existing cluster
(``ddas scan /lustre/project --cluster tcp://scheduler:8786``, or ``ddas.scan(roots,
client=distributed.Client(...))``). Workers only read files: a walk task returns the files of one
subtree (path, size, mtime, device, inode, owner), a read task their digests. The scan's own process
keeps the plan (size groups need every subtree's sizes) and writes the registry in batches, so
workers need no database access and no credentials.

``distributed`` is an optional dependency (``pip install 'ddas[dask]'``); dask-jobqueue starts such
a cluster on SLURM or PBS (see ``docs/scanning.md``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

from ddas.errors import DDASError
from ddas.scanning import reading
from ddas.scanning.walk import Excluder, FileEntry, LocalWalk, ScanError

if TYPE_CHECKING:  # pragma: no cover
    from ddas.scanning.engine import _Options, _Scan

#: Split a root until there are this many walk tasks per worker thread (or the tree ends).
TASKS_PER_THREAD = 4
_MAX_SPLIT_DEPTH = 3


class ClusterUnavailableError(DDASError):
    """A cluster scan was asked for but ``distributed`` is missing or the scheduler unreachable."""


class WalkResult(NamedTuple):
    """What one walk task found in one subtree, and where it ran."""

    entries: list[FileEntry]
    errors: list[ScanError]
    skipped_symlinks: int
    outside_roots: int
    worker: str


def walk_subtree(
    root: str,
    recurse: bool,
    min_size: int,
    exclude: Excluder,
    follow_symlinks: bool,
    bounds: list[str],
) -> WalkResult:
    """A worker's task: walk ``root`` (only its own files if not ``recurse``)."""
    errors: list[ScanError] = []
    walker = LocalWalk(
        min_size=min_size,
        exclude=exclude,
        follow_symlinks=follow_symlinks,
        errors=errors,
        bounds=bounds,
    )
    entries = [e for batch in walker.walk(root, recurse=recurse) for e in batch]
    return WalkResult(entries, errors, walker.skipped_links, walker.outside, reading.worker_name())


class _DaskPool:
    """``submit(fn, *args)`` on the cluster; every task is new work (``pure=False``). Walk tasks
    are dealt to the workers in turn (a loose hint: a busy or lost worker's share may run
    elsewhere), so the subtrees are spread even when the scheduler would keep them together."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._workers = sorted(client.nthreads())
        self._turn = 0

    def submit(self, fn: Any, *args: Any) -> Any:
        if fn is walk_subtree and self._workers:
            worker = self._workers[self._turn % len(self._workers)]
            self._turn += 1
            return self.client.submit(
                fn, *args, pure=False, workers=[worker], allow_other_workers=True
            )
        return self.client.submit(fn, *args, pure=False)


class Cluster:
    """A connected ``distributed.Client`` and how a scan uses it."""

    def __init__(self, client: Any, *, owned: bool) -> None:
        self.client, self._owned = client, owned
        self.pool = _DaskPool(client)
        threads = sum(client.nthreads().values()) or 1
        self.threads = threads
        self.window = TASKS_PER_THREAD * threads

    def walk(self, root: str, options: _Options, bounds: list[str], run: _Scan) -> None:
        """Submit the walk of ``root``'s subtrees; their results reach :meth:`walked`."""
        for path, recurse in split(root, options.exclude, TASKS_PER_THREAD * self.threads):
            run.window.submit(
                walk_subtree,
                path,
                recurse,
                options.min_size,
                options.exclude,
                options.follow,
                [b for b in bounds if "://" not in b],
            )

    def walked(self, result: WalkResult, run: _Scan) -> None:
        run.errors.extend(result.errors)
        run.skipped_links += result.skipped_symlinks
        run.outside += result.outside_roots
        run._take(result.entries, result.worker)

    def close(self) -> None:
        if self._owned:
            self.client.close()


def split(root: str, exclude: Excluder, want: int) -> list[tuple[str, bool]]:
    """``(folder, recurse)`` walk tasks covering ``root``: each folder's own files, and whole
    subtrees below the deepest level split, level by level until ``want`` tasks or
    ``_MAX_SPLIT_DEPTH``. Only plain folders are split; followed links stay with their parent."""
    if not os.path.isdir(root):
        return [(root, True)]
    shallow: list[str] = []  # folders whose own files are one task
    level = [root]
    for _ in range(_MAX_SPLIT_DEPTH):
        below = [sub for folder in level for sub in _subfolders(folder, exclude)]
        if not below:
            break
        shallow.extend(level)
        level = below
        if len(shallow) + len(level) >= want:
            break
    return [(f, False) for f in shallow] + [(f, True) for f in level]


def _subfolders(folder: str, exclude: Excluder) -> list[str]:
    try:
        with os.scandir(folder) as it:
            return sorted(
                e.path
                for e in it
                if e.is_dir(follow_symlinks=False)
                and not (exclude.active and exclude(e.path, e.name))
            )
    except OSError:
        return []  # the walk task of ``folder`` reports it


def connect(client: Any) -> Cluster:
    """A :class:`Cluster` from a ``distributed.Client`` or a scheduler address."""
    try:
        import distributed
    except ImportError as exc:
        raise ClusterUnavailableError(
            "a cluster scan needs dask.distributed: pip install 'ddas[dask]'"
        ) from exc
    if isinstance(client, distributed.Client):
        return Cluster(client, owned=False)
    address = str(client)
    try:  # waits dask's own connect timeout (distributed.comm.timeouts.connect, 30 s by default)
        return Cluster(distributed.Client(address), owned=True)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailableError(
            f"cannot reach the dask scheduler at {address} ({exc}); check the address "
            "(tcp://HOST:PORT) and that the scheduler is running"
        ) from exc
