"""``ddas.fetch`` as a client of the JupyterHub service: the service downloads, the kernel watches.

``POST fetches`` hands the URL (secrets included: the service needs them for the transfer and drops
them when it ends) and any ``storage_options`` to the service, which answers with a job; the kernel
polls ``GET fetches/{id}`` and moves its progress bar until the job is done, then gets the stored
path, which it can read (the store is mounted read-only in user servers). If the kernel dies the job
goes on; if the poll reaches a replica that does not know the job, fetching again joins the running
download through its registry lease.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ddas import errors
from ddas.alerts import Alert, announce
from ddas.fetching import FetchResult
from ddas.identity import normalize_url
from ddas.netpolicy import BlockedAddressError
from ddas.progress import ProgressBar
from ddas.remote.client import ServiceClient, client

POLL_EVERY = 0.2
MAX_RESTARTS = 5


def remote_fetch(
    url: str,
    *,
    policy: str | None = None,
    known_hash: str | None = None,
    progress: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    quiet: bool = False,
    service: ServiceClient | None = None,
) -> FetchResult:
    """Fetch through the service; the same :class:`~ddas.fetching.FetchResult` as embedded mode."""
    nurl = normalize_url(url)
    if nurl.is_local:  # as embedded: a local path is handed back, never sent to be fetched
        path = Path(unquote(nurl.url[len("file://") :]))
        if not path.is_file():
            raise errors.RemoteError(f"{path} does not exist (local paths are looked up)")
        return FetchResult(path, False, None, path.stat().st_size, nurl.url)
    service = service or client()
    body = {"url": url, "policy": policy, "known_hash": known_hash}
    if storage_options:
        body["storage_options"] = dict(storage_options)
    watch = _Watch(progress, nurl.name)
    try:
        job = _finish(service, body, watch)
    finally:
        watch.close()
    return _result(job, nurl.name, quiet)


class _Watch:
    """The notebook's bar, moved to the job's progress at every poll (created at the first one,
    once the service knows the size)."""

    def __init__(self, progress: Any, name: str) -> None:
        self.progress, self.name = progress, name
        self.bar: ProgressBar | None = None

    def __call__(self, job: dict[str, Any]) -> None:
        done, total = job["progress"]["bytes"], job["progress"]["total"]
        if job["state"] == "done" and job.get("result"):
            done = total = job["result"]["size"]  # finished (or joined and reused): all there
        if self.bar is None:
            holder = job["progress"].get("holder")
            desc = self.name if holder in (None, job["user"]) else f"waiting for {holder}"
            self.bar = ProgressBar(self.progress, total, desc)
        self.bar.update_to(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _finish(service: ServiceClient, body: dict[str, Any], on_poll: Any) -> dict[str, Any]:
    """Start the job and poll it to its end; restart it if its replica no longer knows it."""
    for _ in range(MAX_RESTARTS):
        job = service.post("fetches", body)
        try:
            while job["state"] == "running":
                on_poll(job)
                time.sleep(POLL_EVERY)
                job = service.get(f"fetches/{job['id']}")
        except LookupError:
            continue
        on_poll(job)
        return job
    raise errors.ServiceError("the DDAS service kept losing this fetch's job; retry later")


def _result(job: dict[str, Any], name: str, quiet: bool) -> FetchResult:
    """The job's outcome as a FetchResult (and its alert shown here, in the notebook)."""
    if job["state"] == "failed":
        raise _as_error(job.get("error") or {})
    result = job["result"]
    alert = result.get("alert")
    shown = None
    if alert:
        shown = Alert(alert["kind"], name, result["source"], alert["message"], [], result["size"])
        announce(shown, quiet=quiet)
    return FetchResult(
        Path(result["path"]),
        bool(result["reused"]),
        result.get("blake3"),
        int(result["size"]),
        result["source"],
        None,
        shown,
    )


def _as_error(error: dict[str, Any]) -> Exception:
    """The service's typed error, raised again in the kernel with the service's message."""
    kind, message = error.get("type", "DDASError"), error.get("message", "the fetch failed")
    if kind == "ValueError":
        return ValueError(message)
    cls = BlockedAddressError if kind == "BlockedAddressError" else getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.DDASError)):
        cls = errors.DDASError
    fields = dict(error.get("fields") or {})
    if fields:
        from ddas.remote.api import copy_from_dict

        if "copies" in fields:
            fields["copies"] = [copy_from_dict(c) for c in fields["copies"]]
        try:
            return cls(**fields)
        except TypeError:  # a newer service's fields: keep its message at least
            pass
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)  # the typed error, without re-running its constructor
    return exc
