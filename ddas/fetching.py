"""The life of ``ddas.fetch(url)``: look up, verify, reuse — or download once under a lease.

1. ``identity`` normalizes the URL (secrets stripped); ``transfer`` asks the remote for validators.
2. ``registry`` finds copies of that URL at that version (and of a content the caller's
   ``known_hash`` names). ``store`` verifies each cheaply; the first good one is a *hit*.
3. On a miss, the registry's download lease makes sure one process in the whole institution downloads;
   everyone else waits (seeing the holder's progress) and then reuses.
4. The holder streams into the store hashing on the fly, commits atomically, and registers content,
   source, copy and event in one transaction, then releases the lease.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ddas import config, transfer
from ddas.alerts import Alert, announce, frontend_attached
from ddas.errors import (
    DuplicateDownloadError,
    HashMismatchError,
    LeaseTimeoutError,
    RegistryPermissionError,
    RemoteError,
    StoreFullError,
)
from ddas.hashes import KnownHash, StreamHasher, file_digests, parse_known_hash
from ddas.identity import NormalizedURL, Validators, normalize_url
from ddas.progress import ProgressBar, WaitNotice
from ddas.records import CopyInfo
from ddas.registry import Registry, lease_key, new_holder
from ddas.store import Store

log = logging.getLogger("ddas")
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # the store's disk or the user's quota is full

HEARTBEAT_EVERY = 1.0
WAIT_POLL = 0.25


@dataclass(frozen=True)
class FetchResult:
    """What a fetch did: where the data is, whether it was reused, and its identity."""

    path: Path
    reused: bool
    blake3: str | None
    size: int
    source: str  # the normalized, secret-free URL
    copy: CopyInfo | None = None
    alert: Alert | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "reused": self.reused,
            "blake3": self.blake3,
            "size": self.size,
            "source": self.source,
        }


class Fetcher:
    """One fetch's collaborators and options; :meth:`fetch` runs the decision procedure."""

    def __init__(
        self,
        registry: Registry | None = None,
        store: Store | None = None,
        *,
        policy: str | None = None,
        known_hash: str | None = None,
        progress: Any = None,
        storage_options: Mapping[str, Any] | None = None,
        quiet: bool = False,
    ) -> None:
        self.registry = registry or Registry()
        self.store = store or Store()
        self.policy = (policy or config.default_policy()).lower()
        if self.policy not in config.POLICIES:
            raise ValueError(f"policy must be one of {config.POLICIES}, not {policy!r}")
        self.known: KnownHash | None = parse_known_hash(known_hash)
        self.progress = progress
        self.storage_options = dict(storage_options or {})
        self.quiet = quiet

    # -- the decision procedure ----------------------------------------------------------------

    def fetch(self, url: str) -> FetchResult:
        nurl = normalize_url(url)
        if nurl.is_local:
            return self._local(nurl)
        probe = transfer.probe(url, self.storage_options)
        key, holder = lease_key(nurl.url), new_holder()
        deadline = time.monotonic() + config.lease_wait()
        waiting: WaitNotice | None = None
        while True:
            hit = self._find_hit(nurl, probe.validators)
            if hit is not None and self.policy != "warn":
                if waiting:
                    waiting.close()
                return self._on_hit(url, nurl, probe, hit)
            lease = self.registry.acquire_lease(key, holder, total_bytes=probe.validators.size)
            if lease is not None:
                if waiting:
                    waiting.close()
                try:
                    hit = self._find_hit(nurl, probe.validators)  # finished while we queued?
                    if hit is not None and self.policy != "warn":
                        return self._on_hit(url, nurl, probe, hit)
                    if hit is not None:
                        self._tell(
                            "warn",
                            nurl,
                            [hit],
                            probe.validators.size,
                            "policy 'warn': downloading again although a copy exists",
                        )
                    return self._download(url, nurl, probe, key, holder)
                finally:
                    self.registry.release_lease(key, holder)
            current = self.registry.current_lease(key)
            if current is not None:
                waiting = waiting or WaitNotice(nurl, current, self.progress, self.quiet)
                waiting.update(current.progress_bytes)
            if time.monotonic() > deadline:
                raise LeaseTimeoutError(nurl.url, current.to_dict() if current else {})
            time.sleep(WAIT_POLL)

    def _find_hit(self, nurl: NormalizedURL, validators: Validators) -> CopyInfo | None:
        """The first present, verified, locally readable copy of this URL version (or of the
        content the caller's known_hash names)."""
        candidates = self.registry.copies_for_url(nurl, validators if validators.known else None)
        if self.known is not None:
            candidates += self.registry.copies_for_digest(str(self.known))
        seen: set[int] = set()
        for copy in candidates:
            if copy.id in seen or "://" in copy.location:
                continue
            seen.add(copy.id)
            verdict = self.store.verify(copy)
            if verdict.state in ("missing", "corrupt"):
                with contextlib.suppress(PermissionError):  # read-only for this user
                    self.registry.mark_copy(copy.id, verdict.state, detail={"by": "fetch"})
                    if verdict.state == "corrupt" and copy.in_store:
                        self.store.quarantine(copy.location)
                continue
            if not verdict.ok:
                continue  # unreadable for this user: someone else may still use it
            if verdict.rehashed:  # bookkeeping only: a read-only user still gets the copy
                st = os.stat(copy.location)
                with contextlib.suppress(RegistryPermissionError):
                    self.registry.mark_verified(copy.id, size=st.st_size, mtime_ns=st.st_mtime_ns)
            if self.known is not None and not self._matches_known(copy):
                continue
            return copy
        return None

    def _matches_known(self, copy: CopyInfo) -> bool:
        """Does this copy have the digest the caller promised? Computes and remembers an alias
        digest from the local file when the registry does not know it yet (no download)."""
        assert self.known is not None
        if self.known.algorithm == "blake3":
            return copy.blake3 == self.known.value
        content_id = self.registry.content_id_for_digest(str(self.known))
        if content_id is not None:
            return content_id == copy.content_id
        actual = file_digests(copy.location, [self.known.algorithm])[self.known.algorithm]
        return actual == self.known.value

    # -- outcomes --------------------------------------------------------------------------------

    def _on_hit(
        self, url: str, nurl: NormalizedURL, probe: transfer.Probe, copy: CopyInfo
    ) -> FetchResult:
        if self.policy == "error":
            raise DuplicateDownloadError(nurl.url, [copy])
        shown = False
        if self.policy == "ask" and frontend_attached():
            from ddas.alerts import ask

            if not ask.can_block():
                ask.offer_download(nurl, copy, lambda: self._download_now(url, nurl, probe).path)
                shown = True  # the card with the buttons is the alert
            elif ask.ask_user(nurl, copy) == "download":
                return self._download_now(url, nurl, probe)
        message = f"{copy.owner} already has it; reused, nothing downloaded"
        try:
            self._record_reuse(nurl, probe, copy)
        except RegistryPermissionError as denied:  # the copy is readable: hand it out anyway
            log.warning("ddas: %s", denied)
            message += f" (this reuse was not recorded: {denied})"
        alert = self._tell("reuse", nurl, [copy], copy.size, message, saved=copy.size, quiet=shown)
        return FetchResult(Path(copy.location), True, copy.blake3, copy.size, nurl.url, copy, alert)

    def _record_reuse(self, nurl: NormalizedURL, probe: transfer.Probe, copy: CopyInfo) -> None:
        assert copy.content_id is not None
        source = self.registry.add_source(copy.content_id, nurl, probe.validators)
        previous = self.registry.last_download(copy.content_id)
        self.registry.record_event(
            "reuse",
            content_id=copy.content_id,
            source_id=source.id,
            copy_id=copy.id,
            nbytes=copy.size,
            seconds=previous.seconds if previous else 0.0,
            detail={"url": nurl.url, "location": copy.location, "owner": copy.owner},
        )

    def _download_now(self, url: str, nurl: NormalizedURL, probe: transfer.Probe) -> FetchResult:
        """Download although a copy exists (the user asked to), still under the lease."""
        key, holder = lease_key(nurl.url), new_holder()
        self.registry.acquire_lease(key, holder, total_bytes=probe.validators.size)
        try:
            return self._download(url, nurl, probe, key, holder)
        finally:
            self.registry.release_lease(key, holder)

    def _download(
        self, url: str, nurl: NormalizedURL, probe: transfer.Probe, key: str, holder: str
    ) -> FetchResult:
        self.store.check_writable()  # before any byte is transferred
        self.store.cleanup()
        previous_versions = [
            s for s in self.registry.sources_for_url(nurl) if s.content_id is not None
        ]
        extra = [self.known.algorithm] if self.known and self.known.algorithm != "blake3" else []
        hasher = StreamHasher(extra)  # BLAKE3 always; others only when promised
        temp, offset = self._resume_point(key, probe, hasher)
        started = time.monotonic()
        bar = ProgressBar(self.progress, probe.validators.size, nurl.name, initial=offset)
        last_beat = [time.monotonic()]

        def on_chunk(done: int) -> None:
            bar.update_to(done)
            now = time.monotonic()
            if now - last_beat[0] >= HEARTBEAT_EVERY:
                last_beat[0] = now
                self.registry.heartbeat(key, holder, progress_bytes=done)

        try:
            hasher = transfer.download(
                url,
                temp,
                lambda p, append: self.store.open_temp(p, append=append),
                hasher,
                validators=probe.validators,
                offset=offset,
                on_chunk=on_chunk,
                storage_options=self.storage_options,
            )
        except BaseException as exc:
            if not (transfer.is_http(url) and probe.accepts_ranges and probe.validators.etag):
                temp.unlink(missing_ok=True)  # cannot be resumed: keep nothing
            if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
                kept = temp.exists()
                received = temp.stat().st_size if kept else 0
                raise StoreFullError(str(self.store.root), nurl.url, received, kept) from exc
            raise
        finally:
            bar.close()
        digests = hasher.hexdigests()
        if self.known and digests.get(self.known.algorithm) != self.known.value:
            temp.unlink(missing_ok=True)
            raise HashMismatchError(
                nurl.url,
                self.known.algorithm,
                self.known.value,
                digests.get(self.known.algorithm, "?"),
            )
        b3 = digests["blake3"]
        known = self.registry.content_id_for_digest(b3)
        detail = self.registry.dataset(known, events=0) if known is not None else None
        mirrors = [s.url for s in detail.sources if s.url != nurl.url] if detail else []
        final = self.store.commit(temp, b3, nurl.name)
        st = os.stat(final)
        copy = self.registry.record_download(
            url=nurl,
            validators=probe.validators,
            blake3=b3,
            size=hasher.bytes,
            location=str(final),
            name=nurl.name,
            digests=digests,
            in_store=True,
            mtime_ns=st.st_mtime_ns,
            device=st.st_dev,
            inode=st.st_ino,
            seconds=time.monotonic() - started,
        )
        alert = None
        if mirrors:
            alert = self._tell(
                "mirror",
                nurl,
                self.registry.copies_for_content(copy.content_id or 0),
                hasher.bytes,
                f"this is a mirror of {mirrors[0]}: same bytes, one "
                "stored copy kept; next time this URL is a hit",
            )
            self.registry.record_event(
                "alert",
                content_id=copy.content_id,
                copy_id=copy.id,
                detail={"kind": "mirror", "url": nurl.url, "mirror_of": mirrors[0]},
            )
        older = [s for s in previous_versions if s.content_id != copy.content_id]
        if older and alert is None:
            old_copies = self.registry.copies_for_content(older[0].content_id or 0)
            alert = self._tell(
                "new_version",
                nurl,
                old_copies,
                hasher.bytes,
                "the remote changed; downloaded the new version, older version(s) kept",
            )
        return FetchResult(final, False, b3, hasher.bytes, nurl.url, copy, alert)

    def _resume_point(
        self, key: str, probe: transfer.Probe, hasher: StreamHasher
    ) -> tuple[Path, int]:
        """Adopt a dead holder's partial file when the remote can continue it; else start fresh."""
        partial = self.store.adopt_partial(key)
        if partial is None:
            return self.store.temp_path(key), 0
        size = partial.stat().st_size
        if not (probe.accepts_ranges and probe.validators.etag) or (
            probe.validators.size is not None and size >= probe.validators.size
        ):
            partial.unlink(missing_ok=True)
            return self.store.temp_path(key), 0
        with open(partial, "rb") as f:  # re-hash the prefix locally: cheap next to the network
            while chunk := f.read(1 << 20):
                hasher.update(chunk)
        return partial, size

    def _local(self, nurl: NormalizedURL) -> FetchResult:
        """Local paths are looked up, never downloaded: tell the user about other copies."""
        path = Path(unquote(nurl.url[len("file://") :]))
        if not path.is_file():
            raise RemoteError(f"{path} does not exist (local paths are looked up, not downloaded)")
        copies = [c for c in self.registry.copies_for_url(nurl) if c.location != str(path)]
        return FetchResult(
            path, False, copies[0].blake3 if copies else None, path.stat().st_size, nurl.url
        )

    def _tell(
        self,
        kind: str,
        nurl: NormalizedURL,
        copies: list[CopyInfo],
        size: int | None,
        message: str,
        saved: int = 0,
        quiet: bool = False,
    ) -> Alert:
        alert = Alert(kind, nurl.name, nurl.url, message, copies, size, saved)
        announce(alert, quiet=self.quiet or quiet)
        return alert
