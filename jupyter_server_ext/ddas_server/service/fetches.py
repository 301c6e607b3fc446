"""Downloads run by the service for its users: ``POST fetches`` starts one, ``GET fetches/{id}`` watches.

On a Hub the service alone writes the store, so a kernel's miss becomes a job here: the service runs
the same :class:`ddas.fetching.Fetcher` as an embedded kernel would, as the Hub user who asked (the
registry lease still makes one transfer of all concurrent requests, across users and replicas), and
the kernel polls the job for its progress bar. The job belongs to the service, not to the kernel: a
kernel that dies mid-download leaves the download running, and the next fetch is a hit.

Credentials for the source (a signed URL, ``storage_options`` with headers or S3 keys) live only in
the job's private fields while it runs, are dropped when it ends, and are never in a reply or a log.
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

from ddas import config
from ddas.errors import DDASError
from ddas.identity import normalize_url
from ddas.records import iso

#: ``run(job) -> result dict``: the blocking fetch, given the job (its progress is ``job.update``).
FetchRunner = Callable[["FetchJob"], dict[str, Any]]


@dataclass
class FetchJob:
    """One user's fetch as the poller sees it; ``_url``/``_options`` are the secret-bearing inputs."""

    id: str
    user: str
    url: str  # normalized, secret-free
    policy: str | None = None
    known_hash: str | None = None
    state: str = "running"
    done: int = 0
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    _url: str = field(default="", repr=False)
    _options: dict[str, Any] = field(default_factory=dict, repr=False)

    # tqdm-like: the Fetcher's ProgressBar calls these from the job's thread
    def update(self, n: int) -> None:
        self.done += int(n)

    def close(self) -> None:
        """Nothing to close: the poller reads ``done``."""

    def to_dict(self, lease: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "url": self.url,
            "state": self.state,
            "progress": {
                "bytes": self.done,
                "total": lease.get("total_bytes") if lease else None,
                "holder": lease.get("user") if lease else None,
            },
            "result": self.result,
            "error": self.error,
            "started": iso(self.started),
            "finished": iso(self.finished),
        }


#: The constructor arguments of the typed errors a client rebuilds (the CLI lists a duplicate's
#: copies, a notebook may read a mismatch's digests): attribute names, as the errors keep them.
ERROR_FIELDS = {
    "DuplicateDownloadError": ("url", "copies"),
    "HashMismatchError": ("url", "algorithm", "expected", "actual"),
    "LeaseTimeoutError": ("key", "holder"),
    "StoreFullError": ("root", "url", "received", "kept"),
}


def error_dict(exc: BaseException) -> dict[str, Any]:
    """What the client needs to raise the same typed error in the kernel (never a traceback)."""
    if isinstance(exc, DDASError):
        names = ERROR_FIELDS.get(type(exc).__name__, ())
        fields = {n: getattr(exc, n) for n in names if hasattr(exc, n)}
        if "copies" in fields:
            fields["copies"] = [c.to_dict() for c in fields["copies"]]
        return {"type": type(exc).__name__, "message": str(exc), "fields": fields}
    if isinstance(exc, ValueError):
        return {"type": "ValueError", "message": str(exc)}
    if isinstance(exc, OSError):  # what fsspec backends raise for unreachable remotes
        return {"type": "RemoteError", "message": f"{type(exc).__name__}: {exc}"}
    return {"type": "DDASError", "message": "internal error in the DDAS service; see its log"}


class FetchJobs:
    """The in-memory table of fetch jobs of this replica (newest ``keep`` kept)."""

    def __init__(self, executor: Executor, run: FetchRunner, *, keep: int = 1000) -> None:
        self._executor = executor
        self._run = run
        self._keep = keep
        self._jobs: OrderedDict[str, FetchJob] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: str) -> FetchJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(
        self,
        user: str,
        url: str,
        *,
        policy: str | None = None,
        known_hash: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> FetchJob:
        job = FetchJob(
            id=uuid.uuid4().hex,
            user=user,
            url=normalize_url(url).url,
            policy=policy,
            known_hash=known_hash,
            _url=url,
            _options=dict(storage_options or {}),
        )
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                self._jobs.popitem(last=False)
        try:
            future = self._executor.submit(self._work, job)
        except RuntimeError as exc:  # the service is stopping
            self._end(job, error={"type": "DDASError", "message": str(exc)})
        else:
            future.add_done_callback(lambda f: f.cancelled() and self._cancelled(job))
        return job

    def shutdown(self) -> None:
        """Stop taking jobs and drop the queued ones (reported failed, so a poller stops
        waiting). Running transfers are not waited for: the Hub kills a service that lingers,
        and a killed transfer ends as any interrupted download does (its lease expires or is
        taken over; its partial is kept for a resume)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _cancelled(self, job: FetchJob) -> None:
        """A queued job dropped by :meth:`shutdown`: failed, so that its poller stops waiting."""
        message = "the DDAS service stopped before this fetch began; fetch again"
        self._end(job, error={"type": "DDASError", "message": message})

    def _work(self, job: FetchJob) -> None:
        try:
            with config.acting_as(job.user):
                result = self._run(job)
        except Exception as exc:  # reported to the poller; the service keeps serving
            self._end(job, error=error_dict(exc))
        else:
            self._end(job, result=result)

    @staticmethod
    def _end(
        job: FetchJob, *, result: dict[str, Any] | None = None, error: dict[str, Any] | None = None
    ) -> None:
        job._url, job._options = "", {}  # credentials live no longer than the transfer
        job.result, job.error = result, error
        job.finished = time.time()
        job.state = "failed" if error is not None else "done"
