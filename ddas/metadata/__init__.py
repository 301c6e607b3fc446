"""Scientific metadata: what a registered file says about itself, extracted off the critical path.

When a copy is registered (``ddas.fetch``, ``ddas.fetch_tree``, a scan), :func:`schedule` queues it
for a background thread of this process and returns at once: the fetch never waits for, and never
fails because of, extraction. The thread reads only headers/footers (see :mod:`.readers`), within a
time budget (``DDAS_META_SECONDS``, default 20 s; checked between variables) and a size budget
(``DDAS_META_MAX_BYTES``, default 64 GiB — headers cost the same at any size, but nobody wants a
scan to open a 2 TB tape image), and stores the document, its summary, search words and signature in
the registry. Readers are the optional extra ``ddas[meta]``; without them a file simply has no
metadata. One document per content: extraction happens once whoever registers the file.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddas.metadata import describe
from ddas.metadata.readers import reader_for

log = logging.getLogger("ddas")
QUEUE_SIZE = 10_000  # a huge scan queues this many; the next scan picks up the rest


@dataclass(frozen=True)
class Extracted:
    """One file's metadata as the registry stores it."""

    format: str
    doc: dict[str, Any]
    summary: str
    signature: str | None
    words: list[str]
    seconds: float


def budget_seconds() -> float:
    return float(os.environ.get("DDAS_META_SECONDS", "20"))


def budget_bytes() -> int:
    return int(os.environ.get("DDAS_META_MAX_BYTES", str(64 << 30)))


def supported(name: str) -> bool:
    """Whether DDAS knows how to look into a file of this name."""
    return reader_for(name) is not None


def extract(path: str | os.PathLike[str], name: str | None = None) -> Extracted | None:
    """Read ``path``'s metadata now (this thread). None for a format DDAS does not read, a file
    over the size budget, or a missing optional reader; raises what the reader raises for a
    file it cannot parse (the worker logs that and moves on)."""
    path = Path(path)
    reader = reader_for(name or path.name)
    if reader is None or path.stat().st_size > budget_bytes():
        return None
    started = time.monotonic()
    try:
        doc = reader(path, started + budget_seconds())
    except ImportError as exc:
        log.debug("ddas: no metadata for %s: %s (pip install 'ddas[meta]')", path.name, exc)
        return None
    return Extracted(
        format=str(doc.get("format", "")),
        doc=doc,
        summary=describe.summary(doc),
        signature=describe.signature(doc),
        words=describe.search_words(doc),
        seconds=time.monotonic() - started,
    )


@dataclass(frozen=True)
class _Job:
    registry_url: str
    blake3: str
    path: str
    name: str


class _Worker:
    """One daemon thread per process draining a bounded queue of files to describe."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[_Job] = queue.Queue(QUEUE_SIZE)
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.pending = 0
        self.thread: threading.Thread | None = None

    def submit(self, job: _Job) -> bool:
        with self.lock:
            try:
                self.jobs.put_nowait(job)
            except queue.Full:
                return False
            self.pending += 1
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="ddas-metadata", daemon=True)
                self.thread.start()
        return True

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                describe_copy(job.registry_url, job.blake3, job.path, job.name)
            except Exception as exc:  # never let one file stop the thread
                log.warning("ddas: metadata of %s not extracted: %s", job.name, exc)
            finally:
                with self.lock:
                    self.pending -= 1
                    self.idle.notify_all()

    def wait(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            while self.pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self.idle.wait(left)
        return True


_WORKER = _Worker()


def describe_copy(registry_url: str, blake3: str, path: str, name: str) -> bool:
    """Extract and store the metadata of one content unless it has some; True if stored."""
    from ddas.registry import Registry

    registry = Registry(registry_url, migrate=False)  # it exists: a copy was just registered
    content_id = registry.content_id_for_digest(blake3)
    if content_id is None or registry.has_metadata(content_id):
        return False
    try:
        found = extract(path, name)
    except Exception as exc:  # a file its reader cannot parse: say so once, keep going
        log.info("ddas: cannot read metadata of %s: %s: %s", name, type(exc).__name__, exc)
        return False
    if found is None:
        return False
    registry.record_metadata(content_id, found)
    return True


def schedule(
    registry_url: str, blake3: str | None, path: str | os.PathLike[str], name: str
) -> bool:
    """Queue a registered copy for extraction; returns at once (False: not a format DDAS reads,
    or the queue is full). Called after registration, never before: a row must exist."""
    if not blake3 or not supported(name):
        return False
    return _WORKER.submit(_Job(registry_url, blake3, os.fspath(path), name))


def wait(timeout: float | None = None) -> bool:
    """Block until every queued extraction of this process is done (tests, batch scripts that
    want metadata before they exit); False on timeout."""
    return _WORKER.wait(timeout)
