"""Reading candidates on a pool of workers with a bounded window of reads in flight.

Small files are hashed in chunks (one task reads a few hundred files: a future per file would cost
more than the read), larger size groups one task each (:func:`ddas.scanning.groups.resolve`). At
most ``window`` tasks are in flight; when the window is full the caller waits for the *oldest* task
only, so each completion costs O(1) - never a wait over every pending future, which made the
scan quadratic in the number of files. The pool is anything with ``submit(fn, *args)`` returning
a future with ``done()``, ``add_done_callback()`` and ``result()``: a thread pool, or a ``distributed.Client``.

Task functions return a :class:`ReadResult` naming the worker that ran them, so a cluster scan
can say how many files and bytes each worker handled.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ddas.scanning import groups, hashing
from ddas.scanning.walk import FileEntry

CHUNK = 256  #: small files per read task


@dataclass
class ReadResult:
    """Hashes found (identity -> BLAKE3), bytes read, failures, and who did the work."""

    digests: dict[tuple, str] = field(default_factory=dict)
    nread: int = 0
    failed: list[tuple[FileEntry, BaseException]] = field(default_factory=list)
    worker: str = ""
    files: int = 0
    final: bool = False  #: every file's content hash is known now (small files read whole)


def worker_name() -> str:
    """This worker's name: a dask worker's address, or ``local`` for the scan's own threads.
    ``distributed`` is only asked when it is already imported (by a worker or a cluster scan):
    importing it costs a second, which a local scan must not pay."""
    if "distributed" not in sys.modules:
        return "local"
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:  # not inside a dask task
        return "local"


def hash_small(entries: list[FileEntry]) -> ReadResult:
    """Hash files read whole in one ``pread`` each (their size collides with another's)."""
    out = ReadResult(worker=worker_name(), files=len(entries), final=True)
    digests, sample = out.digests, hashing.sample
    for entry in entries:
        try:
            digest, _, nread = sample(entry)
        except Exception as exc:  # reported by the caller; the rest of the chunk goes on
            out.failed.append((entry, exc))
            continue
        digests[entry.ident] = digest
        out.nread += nread
    return out


def resolve_group(
    members: list[FileEntry], known: dict[tuple, str], must_hash: set[tuple]
) -> ReadResult:
    """:func:`ddas.scanning.groups.resolve` as a task that says where it ran."""
    result = groups.resolve(members, known, must_hash)
    return ReadResult(result.digests, result.nread, result.failed, worker_name(), len(members))


class Window:
    """Submit tasks, at most ``size`` in flight; results go to ``on_result`` oldest first, from
    the calling thread only. ``on_result`` may submit more tasks: results taken meanwhile wait
    in a queue, so handling never recurses."""

    def __init__(self, pool: Any, size: int) -> None:
        self.pool, self.size = pool, max(1, size)
        self.on_result: Callable[[Any], None] = lambda result: None
        self._inflight: deque = deque()
        self._results: deque = deque()
        self._handling = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        while len(self._inflight) >= self.size:
            self._take_oldest()
        self._inflight.append(self.pool.submit(fn, *args))
        self.poll()

    def poll(self) -> None:
        """Hand over the results of tasks already done (never blocks)."""
        inflight = self._inflight
        while inflight and inflight[0].done():
            self._results.append(inflight.popleft().result())
        self._handle()

    def drain(self) -> None:
        """Wait for every task, including those that handling the results submits."""
        while self._inflight or self._results:
            if self._inflight:
                self._take_oldest()
            self._handle()

    def cancel(self) -> None:
        for fut in self._inflight:
            fut.cancel()
        self._inflight.clear()
        self._results.clear()

    def _take_oldest(self) -> None:
        fut = self._inflight[0]
        # Wait on a done-callback, not on ``result(timeout=)``: short timeouts keep the main
        # thread responsive to Ctrl-C, but distributed's ``Future.result(timeout=)`` can lose
        # the result when its timeout races the answer (UnboundLocalError inside
        # ``distributed.utils.sync``). Once done, ``result()`` returns without waiting.
        done = threading.Event()
        fut.add_done_callback(lambda _fut: done.set())
        while not done.wait(0.5):
            pass
        self._inflight.popleft()
        self._results.append(fut.result())

    def _handle(self) -> None:
        if self._handling:
            return
        self._handling = True
        try:
            while self._results:
                self.on_result(self._results.popleft())
        finally:
            self._handling = False
