"""One streaming download into the store's temp area: resumed, retried, and only of the dataset.

HTTP(S) goes through ``requests`` directly: fsspec's async HTTP bridge costs 2-3x a plain streaming
copy on fast links, and the download is the one place DDAS must not be slower than what it replaces.
Every other protocol (s3, gcs, abfs, ...) goes through fsspec, so anything fsspec can open, DDAS can
deduplicate. An HTTP download is a short sequence of steps (:meth:`HTTPDownload.attempt`):

1. ask for the body — from the partial's end with ``Range`` + ``If-Range`` carrying the validators
   the partial was fetched under (:mod:`ddas.partials`), never today's;
2. accept a 206 only if it continues *that* version, else restart from zero;
3. refuse what is not the dataset (an HTML page for a URL that does not name one);
4. stream, write, hash (:mod:`ddas.streaming`); decoded, if the server insists on a Content-Encoding;
5. check the body is whole (announced size; a close-delimited body ending early).

Connection resets, read timeouts and short bodies are retried with urllib3's backoff, each retry
resuming from the partial; the number of retries and the time spent waiting are bounded.
"""

from __future__ import annotations

import http.client
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import requests
import urllib3
from urllib3.exceptions import MaxRetryError, ProtocolError

from ddas import http_client, partials
from ddas.config import DownloadSettings
from ddas.content_checks import refuse_html
from ddas.errors import IncompleteDownloadError, RemoteError
from ddas.hashes import StreamHasher
from ddas.identity import Validators, redact
from ddas.partials import PartialMeta
from ddas.probe import Probe, from_response, fsspec_fs, is_http, probe
from ddas.streaming import CHUNK, ProgressFn, RateWatch, copy_stream

__all__ = ["Probe", "Received", "Target", "download", "is_http", "probe"]
log = logging.getLogger("ddas")
Opener = Callable[[Path, bool], BinaryIO]
#: Failures in the middle of a body that a resumed retry can get past.
_TRANSIENT = (
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.Timeout,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
    IncompleteDownloadError,
)


@dataclass
class Target:
    """Where a download writes: the temp file, how much of it is there, and which version that is."""

    path: Path
    offset: int = 0
    meta: PartialMeta | None = None


@dataclass(frozen=True)
class Received:
    """A finished transfer: the digests of the whole file and what the final answer said."""

    hasher: StreamHasher
    validators: Validators  # the version the bytes are (to register them under)
    answer: Probe  # what the body's response said (redirect chain, file name, encoding)


def download(
    url: str,
    nurl: str,
    target: Target,
    opener: Opener,
    hasher: StreamHasher,
    known: Probe,
    *,
    settings: DownloadSettings,
    storage_options: Mapping[str, Any] | None = None,
    on_chunk: ProgressFn | None = None,
) -> Received:
    """Stream ``url`` into ``target`` (continuing it when it holds the same version), hashing
    every byte. ``hasher`` must already have seen the target's first ``offset`` bytes."""
    if is_http(url):
        job = HTTPDownload(url, nurl, target, opener, hasher, known, settings, storage_options)
        return job.run(on_chunk)
    return _download_fsspec(url, target, opener, hasher, known, storage_options, on_chunk)


class HTTPDownload:
    """The state of one HTTP download across its retries (offset, hasher, partial's version)."""

    def __init__(
        self,
        url: str,
        nurl: str,
        target: Target,
        opener: Opener,
        hasher: StreamHasher,
        known: Probe,
        settings: DownloadSettings,
        storage_options: Mapping[str, Any] | None,
    ) -> None:
        self.url, self.nurl, self.target, self.opener = url, nurl, target, opener
        self.hasher, self.known, self.settings = hasher, known, settings
        self.options = http_client.HTTPOptions.parse(storage_options, settings)
        self.resumable = False

    def run(self, on_chunk: ProgressFn | None) -> Received:
        """Attempts until one completes, resuming after each transient failure (bounded)."""
        retry = http_client.make_retry(self.settings).new(
            read=self.settings.retries, connect=self.settings.retries
        )  # failures mid-body: each one resumes, so all the retries are worth it
        deadline = time.monotonic() + self.settings.retry_seconds
        while True:
            try:
                return self.attempt(on_chunk)
            except _TRANSIENT as exc:
                retry = self._before_retry(retry, exc, deadline)

    def _before_retry(self, retry: Any, exc: BaseException, deadline: float) -> Any:
        """Count the failure against the retry budget, keep the partial, wait the backoff."""
        reason = (
            f"{type(exc).__name__}: {exc}" if isinstance(exc, RemoteError) else type(exc).__name__
        )
        try:
            retry = retry.increment("GET", self.url, error=ProtocolError(reason))
        except MaxRetryError:
            raise self._final_error(exc, f"after {self.settings.retries} retries") from None
        wait = retry.get_backoff_time()
        if time.monotonic() + wait > deadline:
            raise self._final_error(exc, "retry_seconds / DDAS_RETRY_SECONDS used up") from None
        self._keep_or_reset()
        log.info("ddas: %s failed (%s); retrying in %.1f s", redact(self.url), reason, wait)
        time.sleep(wait)
        return retry

    def _final_error(self, exc: BaseException, why: str) -> RemoteError:
        path = self.target.path
        kept = self.resumable and path.exists() and path.stat().st_size > 0
        then = "the partial is kept and the next fetch resumes it" if kept else "nothing was kept"
        message = f"download of {redact(self.url)} failed ({type(exc).__name__}, {why}); {then}"
        if isinstance(exc, IncompleteDownloadError):
            return IncompleteDownloadError(
                f"{exc} ({why}); {then}", received=exc.received, expected=exc.expected, kept=kept
            )
        return RemoteError(message)

    def _keep_or_reset(self) -> None:
        """After a failure: trim the partial to what was hashed (a failed write may leave a torn
        chunk) and resume from there, or start over when the server cannot continue it."""
        path = self.target.path
        if self.resumable and path.exists():
            os.truncate(path, self.hasher.bytes)
            self.target.offset = self.hasher.bytes
            return
        self._forget_partial()

    # -- one attempt, as named steps -----------------------------------------------------------

    def attempt(self, on_chunk: ProgressFn | None) -> Received:
        meta = self.target.meta
        if meta is not None and meta.size is not None and self.target.offset == meta.size:
            return Received(self.hasher, meta.validators, self.known)  # all there: just commit
        resp = http_client.request("GET", self.url, self.options, self.settings, self._ranges())
        with resp:
            if resp.status_code == 416 and self.target.offset:  # the partial is not of this file
                self._forget_partial()
                return self.attempt(on_chunk)
            http_client.check_status(self.url, resp)
            answer = from_response(self.url, resp)
            if self.target.offset and not self._continues_partial(resp, answer):
                if resp.status_code == 206:  # a range of something else: ask again, whole
                    self._forget_partial()
                    return self.attempt(on_chunk)
                self._forget_partial()  # a 200 answer to If-Range: the whole new version
            read = _reader(resp, decode=answer.encoded)
            first = b"" if self.target.offset else read(CHUNK)
            if not self.target.offset:
                refuse_html(self.url, self.nurl, answer, first, self.settings)
                self._start_fresh(answer)
            self._stream(first, read, on_chunk)
        self._check_whole(answer)
        return Received(self.hasher, self._version(answer), answer)

    def _ranges(self) -> dict[str, str]:
        meta = self.target.meta
        if not self.target.offset or meta is None or not meta.if_range:
            return {}
        return {"Range": f"bytes={self.target.offset}-", "If-Range": meta.if_range}

    def _continues_partial(self, resp: Any, answer: Probe) -> bool:
        """A 206 continues our partial only if it starts at our offset and is our version."""
        meta = self.target.meta
        start = resp.headers.get("Content-Range", "").removeprefix("bytes ").split("-", 1)[0]
        now = answer.validators
        if meta is not None and meta.location is None:
            now = Validators(now.etag, now.last_modified, now.size)
        resumed = resp.status_code == 206 and start == str(self.target.offset)
        if resumed and meta is not None and meta.same_version(now):
            log.info("ddas: resuming %s at byte %d", redact(self.url), self.target.offset)
            return True
        log.info("ddas: %s changed or cannot resume; restarting from zero", redact(self.url))
        return False

    def _forget_partial(self) -> None:
        self.target.offset, self.target.meta = 0, None
        self.hasher = _fresh(self.hasher)

    def _start_fresh(self, answer: Probe) -> None:
        """Record which version the new partial holds before its first byte is written."""
        self.resumable = answer.accepts_ranges and not answer.encoded
        meta = PartialMeta.of(self.nurl, self._version(answer))
        self.resumable = self.resumable and bool(meta.if_range)
        self.target.meta = meta
        if self.resumable:
            partials.write_meta(self.target.path, meta)
        else:
            partials.remove(self.target.path)

    def _stream(
        self, first: bytes, read: Callable[[int], bytes], on_chunk: ProgressFn | None
    ) -> None:
        self.resumable = self.resumable or self.target.offset > 0
        pending = [first] if first else []

        def source(n: int) -> bytes:
            return pending.pop() if pending else read(n)

        watch = RateWatch(
            self.settings.min_rate, self.settings.stall_seconds, self.hasher.bytes, redact(self.url)
        )
        with self.opener(self.target.path, self.target.offset > 0) as out:
            copy_stream(source, out, self.hasher, on_chunk, watch)

    def _check_whole(self, answer: Probe) -> None:
        """The body must be as long as announced: by this answer, or (for a close-delimited body)
        by the probe. A short one is an error — retried, resuming — never a registered file."""
        expected = None if answer.encoded else answer.validators.size
        if expected is None and not answer.encoded:
            expected = self.known.validators.size
        got = self.hasher.bytes
        if expected is None or got == expected:
            return
        if got > expected:
            self.resumable = False
            raise RemoteError(
                f"{redact(self.url)} sent {got} bytes, more than the {expected} it announced; "
                "nothing was kept. Fetch again."
            )
        raise IncompleteDownloadError(
            f"download of {redact(self.url)} ended after {got} of {expected} bytes",
            received=got,
            expected=expected,
            kept=self.resumable,
        )

    def _version(self, answer: Probe) -> Validators:
        """The probe's validators, unless the body's answer names another version (the remote
        changed between the two requests): then the body's, which describe the bytes."""
        ours, theirs = self.known.validators, answer.validators
        if self.target.meta is not None and self.target.offset:
            return self.target.meta.validators
        conflict = any(
            a is not None and b is not None and a != b
            for a, b in ((ours.etag, theirs.etag), (ours.last_modified, theirs.last_modified))
        )
        return theirs if conflict else ours


def _reader(resp: Any, *, decode: bool) -> Callable[[int], bytes]:
    """``read1`` returns what the socket has (so a dripping server is seen dripping, not hidden
    inside a blocking 1 MiB read); decoded when the server applied a Content-Encoding."""
    raw = resp.raw
    if hasattr(raw, "read1"):
        return lambda n: raw.read1(n, decode_content=decode)
    return lambda n: raw.read(n, decode_content=decode)


def _fresh(hasher: StreamHasher) -> StreamHasher:
    return StreamHasher(name for name in hasher.hexdigests() if name != "blake3")


def _download_fsspec(
    url: str,
    target: Target,
    opener: Opener,
    hasher: StreamHasher,
    known: Probe,
    storage_options: Mapping[str, Any] | None,
    on_chunk: ProgressFn | None,
) -> Received:
    fs, path = fsspec_fs(url, storage_options)
    try:
        with (
            fs.open(path, "rb", block_size=CHUNK) as src,
            opener(target.path, target.offset > 0) as out,
        ):
            if target.offset:
                src.seek(target.offset)
            copy_stream(src.read, out, hasher, on_chunk)
    except (OSError, RemoteError):
        raise
    except Exception as exc:
        raise RemoteError(
            f"download of {redact(url)} failed: {type(exc).__name__}: {exc}"
        ) from None
    return Received(hasher, known.validators, known)
