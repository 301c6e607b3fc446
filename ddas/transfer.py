"""Talking to the remote: one probe for validators, then (only on a miss) one streaming download.

HTTP(S) goes through ``requests`` directly: fsspec's async HTTP bridge costs 2-3x a plain streaming
copy on fast links, and the download is the one place DDAS must not be slower than what it replaces.
Every other protocol (s3, gcs, abfs, ...) goes through fsspec, so anything fsspec can open, DDAS can
deduplicate. Bytes are hashed as they are written (no second read), and an interrupted HTTP download
resumes with ``Range`` + ``If-Range`` so a changed remote never splices two versions together.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ddas.errors import RemoteError
from ddas.hashes import StreamHasher
from ddas.identity import Validators, redact, validators_from_headers, validators_from_info

log = logging.getLogger("ddas")
CHUNK = 1 << 20
TIMEOUT = (10.0, 60.0)  # connect, read: a stalled server must not hang a notebook forever
_SESSION = None


def _http_session():
    global _SESSION
    if _SESSION is None:
        import requests

        _SESSION = requests.Session()
        _SESSION.headers["User-Agent"] = "ddas (dataset download deduplication)"
    return _SESSION


def is_http(url: str) -> bool:
    return url.split("://", 1)[0].lower() in ("http", "https")


@dataclass(frozen=True)
class Probe:
    """What one HEAD / ``info()`` told us about the remote's current version."""

    validators: Validators
    accepts_ranges: bool = False


def probe(
    url: str, storage_options: Mapping[str, Any] | None = None, *, session: Any = None
) -> Probe:
    """Ask the remote for its validators: exactly one HEAD (HTTP) or ``info()`` call (fsspec).

    ``session``: the ``requests.Session`` to send it with; the server passes one that refuses
    internal addresses (:func:`ddas.netpolicy.guarded_session`).
    """
    if is_http(url):
        import requests

        try:
            resp = (session or _http_session()).head(url, allow_redirects=True, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise RemoteError(f"cannot reach {redact(url)}: {type(exc).__name__}") from None
        if resp.status_code >= 400:
            raise RemoteError(f"{redact(url)} answered HTTP {resp.status_code} {resp.reason}")
        return Probe(
            validators_from_headers(resp.headers),
            resp.headers.get("Accept-Ranges", "").lower() == "bytes",
        )
    fs, path = _fs(url, storage_options)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise RemoteError(f"{redact(url)} does not exist") from None
    except Exception as exc:  # fsspec backends raise many types for auth/network trouble
        raise RemoteError(f"cannot read {redact(url)}: {type(exc).__name__}: {exc}") from None
    if info.get("type") == "directory":
        raise RemoteError(f"{redact(url)} is a directory; fetch one file at a time")
    return Probe(validators_from_info(info), accepts_ranges=True)


def _fs(url: str, storage_options: Mapping[str, Any] | None):
    from fsspec.core import url_to_fs

    try:
        return url_to_fs(url, **dict(storage_options or {}))
    except (ValueError, ImportError) as exc:
        raise RemoteError(f"no filesystem for {redact(url)}: {exc}") from None


ProgressFn = Callable[[int], None]


def download(
    url: str,
    temp: Path,
    opener: Callable[[Path, bool], BinaryIO],
    hasher: StreamHasher,
    *,
    validators: Validators,
    offset: int = 0,
    on_chunk: ProgressFn | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> StreamHasher:
    """Stream ``url`` into ``temp`` (appending from ``offset`` if the remote allows), hashing
    every byte. Returns the hasher holding the digests of the *whole* file.

    ``hasher`` must already have seen the first ``offset`` bytes (the caller re-reads a resumed
    partial file). If the remote refuses the range (or changed), the file restarts from zero.
    """
    if is_http(url):
        return _download_http(url, temp, opener, hasher, validators, offset, on_chunk)
    return _download_fsspec(url, temp, opener, hasher, offset, on_chunk, storage_options)


def _copy_stream(
    read: Callable[[int], bytes], out: BinaryIO, hasher: StreamHasher, on_chunk: ProgressFn | None
) -> None:
    """Receive, write and hash each chunk exactly once, with hashing on a second thread.

    Receiving and writing release the GIL, and so does BLAKE3 on large buffers: hashing in a
    pipeline thread overlaps it with the network instead of adding to it. The queue is bounded
    (a few chunks), so memory stays flat whatever the dataset's size.
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
    try:
        while chunk := read(CHUNK):
            out.write(chunk)
            pending.put(chunk)
            received += len(chunk)
            if on_chunk is not None:
                on_chunk(received)
    finally:
        pending.put(None)
        worker.join()
    if failure:
        raise failure[0]


def _download_http(
    url: str,
    temp: Path,
    opener: Callable[[Path, bool], BinaryIO],
    hasher: StreamHasher,
    validators: Validators,
    offset: int,
    on_chunk: ProgressFn | None,
) -> StreamHasher:
    import requests
    import urllib3

    headers = {"Accept-Encoding": "identity"}  # hash the bytes the server stores, not gzip of them
    if offset and validators.etag:
        headers.update(Range=f"bytes={offset}-", **{"If-Range": validators.etag})
    try:
        with _http_session().get(url, headers=headers, stream=True, timeout=TIMEOUT) as resp:
            if resp.status_code >= 400:
                raise RemoteError(f"{redact(url)} answered HTTP {resp.status_code} {resp.reason}")
            resumed = resp.status_code == 206 and offset > 0
            if not resumed and offset:
                log.info("ddas: %s does not resume here; restarting the download", redact(url))
                hasher = StreamHasher(name for name in hasher.hexdigests() if name != "blake3")
            elif resumed:
                log.info("ddas: resuming %s at byte %d", redact(url), offset)
            with opener(temp, resumed) as out:
                _copy_stream(resp.raw.read, out, hasher, on_chunk)
                out.flush()
                with contextlib.suppress(OSError):
                    os.fsync(out.fileno())
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise RemoteError(f"download of {redact(url)} failed: {type(exc).__name__}") from None
    expected = validators.size
    if expected is not None and hasher.bytes != expected:
        raise RemoteError(
            f"download of {redact(url)} ended after {hasher.bytes} of {expected} bytes; "
            "run fetch again to resume"
        )
    return hasher


def _download_fsspec(
    url: str,
    temp: Path,
    opener: Callable[[Path, bool], BinaryIO],
    hasher: StreamHasher,
    offset: int,
    on_chunk: ProgressFn | None,
    storage_options: Mapping[str, Any] | None,
) -> StreamHasher:
    fs, path = _fs(url, storage_options)
    try:
        with fs.open(path, "rb", block_size=CHUNK) as src, opener(temp, offset > 0) as out:
            if offset:
                src.seek(offset)
            _copy_stream(src.read, out, hasher, on_chunk)
            out.flush()
            with contextlib.suppress(OSError):
                os.fsync(out.fileno())
    except (OSError, RemoteError):
        raise
    except Exception as exc:
        raise RemoteError(
            f"download of {redact(url)} failed: {type(exc).__name__}: {exc}"
        ) from None
    return hasher
