"""Moving bytes: receive, write and hash each chunk once, durably, and notice a stalled server.

Three things overlap with the network instead of adding to it: BLAKE3 on a pipeline thread (it
releases the GIL on large buffers), and the kernel's writeback of what is already written, started
every few MiB with ``sync_file_range`` (periodic ``fdatasync`` where that is missing) on a writeback
thread — so the closing ``fsync`` that makes the file durable finds little left to do, instead of
the whole file. A :class:`RateWatch` gives up on a server that drips bytes slower than the setting.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import BinaryIO

from ddas.errors import StalledDownloadError
from ddas.hashes import StreamHasher

CHUNK = 1 << 20
WRITEBACK_STEP = 16 << 20  # start writeback of each 16 MiB stretch as soon as it is written
_WAIT_BEFORE, _WRITE, _WAIT_AFTER = 1, 2, 4
ProgressFn = Callable[[int], None]


def _libc_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_SYNC_FILE_RANGE = _libc_sync_file_range()


class RateWatch:
    """Fails a transfer whose rate over the last ``window`` seconds fell below ``min_rate``."""

    def __init__(self, min_rate: float, window: float, start: int, what: str) -> None:
        self.min_rate, self.window, self.what = min_rate, window, what
        self.samples: deque[tuple[float, int]] = deque([(time.monotonic(), start)])

    def check(self, total: int) -> None:
        if self.min_rate <= 0 or self.window <= 0:
            return
        now = time.monotonic()
        self.samples.append((now, total))
        while len(self.samples) > 2 and self.samples[1][0] <= now - self.window:
            self.samples.popleft()
        since, then = self.samples[0]
        if now - since >= self.window and (total - then) < self.min_rate * (now - since):
            rate = (total - then) / (now - since)
            raise StalledDownloadError(
                f"download of {self.what} stalled: {rate:.0f} bytes/s over the last "
                f"{now - since:.0f} s, below the minimum of {self.min_rate:.0f} bytes/s "
                f"(min_rate= / DDAS_MIN_RATE, over stall_seconds= / DDAS_STALL_SECONDS="
                f"{self.window:g}); the partial is kept and the next fetch resumes it"
            )


class Writeback:
    """Starts writeback of each finished stretch of ``fd`` on a thread, waiting on the stretch
    before it, so dirty pages stay bounded and the final fsync is short."""

    def __init__(self, fd: int, start: int) -> None:
        self.fd, self.mark = fd, start
        self.todo: queue.Queue[tuple[int, int] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="ddas-writeback", daemon=True)
        self.thread.start()

    def wrote(self, end: int) -> None:
        if end - self.mark >= WRITEBACK_STEP:
            self.todo.put((self.mark, end - self.mark))
            self.mark = end

    def _run(self) -> None:
        previous: tuple[int, int] | None = None
        while (stretch := self.todo.get()) is not None:
            with contextlib.suppress(OSError):
                if _SYNC_FILE_RANGE is None:
                    os.fdatasync(self.fd)
                    continue
                _SYNC_FILE_RANGE(self.fd, stretch[0], stretch[1], _WRITE)
                if previous is not None:
                    _SYNC_FILE_RANGE(self.fd, *previous, _WAIT_BEFORE | _WRITE | _WAIT_AFTER)
            previous = stretch

    def finish(self) -> None:
        """Stop the thread, then make the whole file durable."""
        self.todo.put(None)
        self.thread.join()
        with contextlib.suppress(OSError):
            os.fsync(self.fd)


def copy_stream(
    read: Callable[[int], bytes],
    out: BinaryIO,
    hasher: StreamHasher,
    on_chunk: ProgressFn | None = None,
    watch: RateWatch | None = None,
) -> None:
    """Receive, write and hash each chunk exactly once; fsync at the end.

    The hash queue is bounded (a few chunks), so memory stays flat whatever the dataset's size.
    ``hasher.bytes`` counts what is already in ``out`` (a resumed partial) and goes on from there.
    """
    pending: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    failure: list[BaseException] = []

    def hash_worker() -> None:
        try:
            while (chunk := pending.get()) is not None:
                hasher.update(chunk)
        except BaseException as exc:  # surfaced in the caller's thread below
            failure.append(exc)

    worker = threading.Thread(target=hash_worker, name="ddas-hash", daemon=True)
    worker.start()
    received = hasher.bytes
    writeback = Writeback(out.fileno(), received)
    try:
        while chunk := read(CHUNK):
            out.write(chunk)
            pending.put(chunk)
            received += len(chunk)
            writeback.wrote(received)
            if on_chunk is not None:
                on_chunk(received)
            if watch is not None:
                watch.check(received)
    finally:
        pending.put(None)
        worker.join()
        writeback.finish()
    if failure:
        raise failure[0]
