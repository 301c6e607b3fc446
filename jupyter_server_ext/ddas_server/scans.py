"""Scans started over REST: run in the background, watched by polling ``GET scans/{id}``.

A scan walks and hashes terabytes; it runs in its own single-thread executor so it can never occupy
the threads that answer the sidebar's registry queries, and only one runs at a time (a second
``POST scans`` gets 409 and the running job's id). Jobs live in memory on the extension app: they are
progress reports for whoever is watching, while the durable results are the registry rows and
``scan`` events the scan itself writes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from ddas.records import iso
from ddas_server import metrics

#: ``run(roots, on_progress) -> summary dict``; raises on failure.
ScanRunner = Callable[[list[str], Callable[[Any], None]], dict[str, Any]]


class ScanCancelled(RuntimeError):
    """Raised into a running scan (through its progress callback) to stop it."""


class ScanBusyError(RuntimeError):
    """A scan is already running; ``job`` is the one to watch."""

    def __init__(self, job: ScanJob) -> None:
        super().__init__(f"scan {job.id} is already running")
        self.job = job


@dataclass
class ScanJob:
    id: str
    user: str
    roots: list[str]
    state: str = "running"
    files: int = 0
    bytes: int = 0
    summary: dict[str, Any] | None = None
    message: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    cancelled: bool = False

    def progress(self, report: Any) -> None:
        """``on_progress`` callback, called from the scan's thread with ``.files`` and ``.bytes``.

        Raising here is how a scan is stopped: the server is shutting down, and the interpreter
        would otherwise wait for the scan's thread before exiting.
        """
        if self.cancelled:
            raise ScanCancelled(f"scan {self.id} stopped: the server is shutting down")
        self.files = int(getattr(report, "files", self.files) or 0)
        self.bytes = int(getattr(report, "bytes", self.bytes) or 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "progress": {"files": self.files, "bytes": self.bytes},
            "summary": self.summary,
            "message": self.message,
            "user": self.user,
            "roots": self.roots,
            "started": iso(self.started),
            "finished": iso(self.finished),
        }


class ScanJobs:
    """The in-memory table of scans, newest ``keep`` kept, at most one running."""

    def __init__(self, executor: Executor, *, keep: int = 50) -> None:
        self._executor = executor
        self._keep = keep
        self._jobs: OrderedDict[str, ScanJob] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: str) -> ScanJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, roots: list[str], user: str, run: ScanRunner) -> ScanJob:
        """Register a job and submit it; raises :class:`ScanBusyError` if one is running."""
        with self._lock:
            busy = next((j for j in self._jobs.values() if j.state == "running"), None)
            if busy is not None:
                raise ScanBusyError(busy)
            job = ScanJob(id=uuid.uuid4().hex[:16], user=user, roots=list(roots))
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                self._jobs.popitem(last=False)
        try:
            self._executor.submit(self._run, job, run)
        except RuntimeError as exc:  # executor shut down: the server is stopping
            job.state, job.message, job.finished = "failed", str(exc), time.time()
        return job

    def cancel_all(self) -> None:
        """Ask running scans to stop at their next progress report."""
        with self._lock:
            for job in self._jobs.values():
                job.cancelled = True

    @staticmethod
    def _run(job: ScanJob, run: ScanRunner) -> None:
        try:
            summary = run(job.roots, job.progress)
        except Exception as exc:  # reported to the poller; the server keeps running
            job.message = f"{type(exc).__name__}: {exc}"
            job.state = "failed"
        else:
            job.summary = summary
            job.files = int(summary.get("files", job.files) or 0)
            job.bytes = int(summary.get("bytes", job.bytes) or 0)
            job.state = "done"
        job.finished = time.time()
        metrics.SCANS.labels(job.state).inc()
