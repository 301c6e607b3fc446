"""Hashing small files in worker processes, so that the scan's own threads keep the GIL.

A tree of many small files is read in chunks of a few hundred files (:func:`reading.hash_small`).
On threads, each file costs ~10 us of bytecode under the GIL (open, ``pread``, ``fstat``, BLAKE3 of
a few KiB, close), and every syscall hands the GIL back and forth with the thread that registers
the batches: the registration, which is the scan's critical path, then waits for the readers. In
processes the readers have a GIL each; a chunk travels as a list of ``FileEntry`` tuples and comes
back as a :class:`~ddas.scanning.reading.ReadResult` (100,000 files of 1-16 KiB: 6.8-7.7 s on
threads, 5.0-5.1 s with two processes, on 2 cores; ``benchmarks/scan.py``).

The processes are started with ``forkserver`` (``spawn`` where it is missing), never ``fork``: a
scan runs in a Jupyter kernel or a server beside other threads, and a forked child inherits their
locks held. Like every process pool, this needs a guarded ``__main__``
(``if __name__ == "__main__":``) when the scan is run from a script, which is why
:func:`ddas.scan` uses processes only when asked (``processes=N``); ``ddas scan`` asks by default.

A worker that dies (the OOM killer, a signal) breaks the pool: its chunk and every later one are
read on the threads instead, so the scan still registers every file.
"""

from __future__ import annotations

import threading
from concurrent.futures import (
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    ThreadPoolExecutor,
)
from typing import Any

from ddas.scanning import reading

__all__ = ["HashPool"]


def _process_pool(processes: int) -> Executor:
    """The worker processes, imported and started on the first chunk: a rescan that reads
    nothing pays neither ``multiprocessing``'s import (13 ms) nor an interpreter per process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(processes, mp_context=context)


class HashPool:
    """A thread pool whose local small-file chunks run in ``processes`` worker processes.

    It has the ``submit`` the scan's :class:`~ddas.scanning.reading.Window` needs; the other
    tasks (size groups, remote files: their fsspec filesystem stays in this process) and, after
    a worker died, every task run on ``threads``.
    """

    def __init__(self, threads: ThreadPoolExecutor, processes: int) -> None:
        self.threads, self.processes = threads, processes
        self._procs: Executor | None = None
        self.broken = False  #: a worker died; the chunks went back to the threads
        self._lock = threading.Lock()

    def submit(self, fn: Any, *args: Any) -> Future:
        chunk = args[0] if fn is reading.hash_small else None
        if self.broken or not chunk or chunk[0].fs is not None:
            return self.threads.submit(fn, *args)
        with self._lock:  # a worker's death may discard the pool from another thread
            if self._procs is None and not self.broken:
                self._procs = _process_pool(self.processes)
            procs = self._procs
        if procs is None:
            return self.threads.submit(fn, *args)
        outer: Future = Future()
        try:
            inner = procs.submit(fn, *args)
        except BrokenExecutor:
            return self._retry(chunk)
        inner.add_done_callback(lambda done: self._settle(done, outer, chunk))
        return outer

    def _settle(self, done: Future, outer: Future, chunk: list) -> None:
        """Pass a worker's result on; a dead worker's chunk is read again on a thread. (A scan
        that stopped cancelled ``outer``: nothing is passed on.)"""
        try:
            result = done.result()
        except BrokenExecutor:
            self._retry(chunk, outer)
        except BaseException as exc:  # the Window re-raises it in the scan's thread
            _give(outer, exc=exc)
        else:
            _give(outer, result)

    def _retry(self, chunk: list, outer: Future | None = None) -> Future:
        self._stop_processes(broken=True)
        again = self.threads.submit(reading.hash_small, chunk)
        if outer is None:
            return again
        again.add_done_callback(lambda fut: _give(outer, *_outcome(fut)))
        return outer

    def _stop_processes(self, broken: bool = False) -> None:
        """End the worker processes; ``broken``: a worker died, no more chunks go to processes."""
        with self._lock:
            self.broken = self.broken or broken
            procs, self._procs = self._procs, None
        if procs is not None:
            procs.shutdown(wait=False, cancel_futures=True)

    def shutdown(self, wait: bool = False, cancel_futures: bool = True) -> None:
        """``ThreadPoolExecutor.shutdown``'s signature, for both pools."""
        self._stop_processes()
        self.threads.shutdown(wait=wait, cancel_futures=cancel_futures)


def _outcome(fut: Future) -> tuple[Any, BaseException | None]:
    if fut.cancelled():
        return None, CancelledError()
    exc = fut.exception()
    return (None, exc) if exc is not None else (fut.result(), None)


def _give(outer: Future, result: Any = None, exc: BaseException | None = None) -> None:
    """Settle ``outer`` unless the scan cancelled it meanwhile."""
    if outer.set_running_or_notify_cancel():
        if exc is not None:
            outer.set_exception(exc)
        else:
            outer.set_result(result)
