"""The life of ``ddas.fetch(url)``: look up, verify, reuse — or download once under a lease.

1. ``identity`` normalizes the URL (secrets stripped); ``probe`` asks the remote for validators
   (unless ``offline``). If the origin cannot be asked, the newest verified copy is handed out with
   a notice (stale-if-error, RFC 5861), unless ``on_error="refuse"``.
2. ``registry`` finds copies of that URL at that version (and of a content the caller's
   ``known_hash`` names). ``store`` verifies each cheaply; the first good one is a *hit*.
3. On a miss, the registry's download lease makes sure one process in the whole institution downloads;
   everyone else waits (seeing the holder's progress) and then reuses.
4. The holder runs a :class:`~ddas.downloading.Download`: resume a partial of the same version,
   transfer, check, commit atomically, register content and sources, then release the lease.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ddas import config, transfer
from ddas.alerts import frontend_attached
from ddas.config import DownloadSettings
from ddas.downloading import Download
from ddas.errors import (
    DuplicateDownloadError,
    LeaseTimeoutError,
    OfflineError,
    OriginUnavailableError,
    RegistryPermissionError,
    RemoteError,
)
from ddas.hashes import KnownHash, file_digests, parse_known_hash
from ddas.identity import NormalizedURL, Validators, normalize_url
from ddas.outcome import FetchResult, tell
from ddas.progress import WaitNotice
from ddas.records import CopyInfo
from ddas.registry import Registry, lease_key, new_holder
from ddas.store import Store

__all__ = ["FetchResult", "Fetcher"]
log = logging.getLogger("ddas")
WAIT_POLL = 0.25


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
        settings: DownloadSettings | None = None,
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
        self.settings = settings or DownloadSettings.from_env()

    # -- the decision procedure ----------------------------------------------------------------

    def fetch(self, url: str) -> FetchResult:
        """Ask the origin which version it has (unless offline), then reuse or download once."""
        nurl = normalize_url(url)
        if nurl.is_local:
            return self._local(nurl)
        if self.settings.offline:
            return self._without_origin(nurl, "offline (offline= / DDAS_OFFLINE)", None)
        try:
            probe = transfer.probe(url, self.storage_options, self.settings)
        except OriginUnavailableError as exc:
            if self.settings.on_error == "refuse":
                raise
            return self._without_origin(nurl, str(exc), exc)
        return self._reuse_or_download(url, nurl, probe)

    def _reuse_or_download(
        self, url: str, nurl: NormalizedURL, probe: transfer.Probe
    ) -> FetchResult:
        """A verified copy of this version is a hit; else one process downloads under the lease
        while the others wait (seeing its progress) and then reuse."""
        key, holder = lease_key(nurl.url), new_holder()
        deadline = time.monotonic() + config.lease_wait()
        waiting: WaitNotice | None = None
        try:
            while True:
                hit = self._find_hit(nurl, probe.validators)
                if hit is not None and self.policy != "warn":
                    return self._on_hit(url, nurl, probe, hit)
                if self.registry.acquire_lease(key, holder, total_bytes=probe.validators.size):
                    if waiting:
                        waiting.close()
                        waiting = None
                    return self._under_lease(url, nurl, probe, key, holder)
                current = self.registry.current_lease(key)
                if current is not None:
                    waiting = waiting or WaitNotice(nurl, current, self.progress, self.quiet)
                    waiting.update(current.progress_bytes)
                if time.monotonic() > deadline:
                    raise LeaseTimeoutError(nurl.url, current.to_dict() if current else {})
                time.sleep(WAIT_POLL)
        finally:
            if waiting:
                waiting.close()

    def _under_lease(
        self, url: str, nurl: NormalizedURL, probe: transfer.Probe, key: str, holder: str
    ) -> FetchResult:
        try:
            hit = self._find_hit(nurl, probe.validators)  # finished while we queued?
            if hit is not None and self.policy != "warn":
                return self._on_hit(url, nurl, probe, hit)
            if hit is not None:
                tell(
                    "warn",
                    nurl,
                    [hit],
                    probe.validators.size,
                    "policy 'warn': downloading again although a copy exists",
                    quiet=self.quiet,
                )
            return Download(self, url, nurl, probe, key, holder).run()
        finally:
            self.registry.release_lease(key, holder)

    def _without_origin(
        self, nurl: NormalizedURL, reason: str, error: RemoteError | None
    ) -> FetchResult:
        """Stale-if-error (RFC 5861) and offline mode: the newest verified registered copy of
        this URL, with a notice saying the origin was not checked; else the error."""
        copy = self._find_hit(nurl, None)
        if copy is None and error is not None:
            raise error
        if copy is None:
            raise OfflineError(
                f"{nurl.url} is not in the DDAS registry and DDAS is offline (offline=True / "
                "DDAS_OFFLINE=1), so the origin was not asked. Fetch it once where there is "
                "internet access (a login node), or unset DDAS_OFFLINE."
            )
        when = dt.datetime.fromtimestamp(copy.created, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        host = urlsplit(nurl.url).netloc
        notice = (
            f"could not check {host} for a newer version ({reason}); "
            f"using {copy.owner}'s copy from {when}"
            if error is not None
            else f"{reason}: did not check {host} for a newer version; "
            f"using {copy.owner}'s copy from {when}"
        )
        return self._on_hit("", nurl, None, copy, notice=notice)

    def _find_hit(self, nurl: NormalizedURL, validators: Validators | None) -> CopyInfo | None:
        """The first present, verified, locally readable copy of this URL version (any version,
        newest first, when ``validators`` is None), or of the content known_hash names."""
        exact = validators is not None and validators.known
        candidates = self.registry.copies_for_url(nurl, validators if exact else None)
        if validators is None:
            candidates.sort(key=lambda c: c.created, reverse=True)
        if self.known is not None:
            candidates += self.registry.copies_for_digest(str(self.known))
        seen: set[int] = set()
        for copy in candidates:
            if copy.id in seen or "://" in copy.location:
                continue
            seen.add(copy.id)
            if self._usable(copy):
                return copy
        return None

    def _usable(self, copy: CopyInfo) -> bool:
        """Verify cheaply; a missing or corrupt copy is marked (and quarantined), never used.
        The marks are bookkeeping: a user who may read but not write the registry still gets a
        good copy, and a bad one is skipped whether or not it could be marked."""
        verdict = self.store.verify(copy)
        if verdict.state in ("missing", "corrupt"):
            with contextlib.suppress(PermissionError):  # read-only for this user
                self.registry.mark_copy(copy.id, verdict.state, detail={"by": "fetch"})
                if verdict.state == "corrupt" and copy.in_store:
                    self.store.quarantine(copy.location)
            return False
        if not verdict.ok:
            return False  # unreadable for this user: someone else may still use it
        if verdict.rehashed:
            st = os.stat(copy.location)
            with contextlib.suppress(RegistryPermissionError):
                self.registry.mark_verified(copy.id, size=st.st_size, mtime_ns=st.st_mtime_ns)
        return self.known is None or self._matches_known(copy)

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
        self,
        url: str,
        nurl: NormalizedURL,
        probe: transfer.Probe | None,
        copy: CopyInfo,
        notice: str | None = None,
    ) -> FetchResult:
        if self.policy == "error":
            raise DuplicateDownloadError(nurl.url, [copy])
        shown = False
        if self.policy == "ask" and probe is not None and frontend_attached():
            from ddas.alerts import ask

            if not ask.can_block():
                ask.offer_download(nurl, copy, lambda: self._download_now(url, nurl, probe).path)
                shown = True  # the card with the buttons is the alert
            elif ask.ask_user(nurl, copy) == "download":
                return self._download_now(url, nurl, probe)
        message = notice or f"{copy.owner} already has it; reused, nothing downloaded"
        try:
            self._record_reuse(nurl, probe, copy, notice)
        except RegistryPermissionError as denied:  # the copy is readable: hand it out anyway
            log.warning("ddas: %s", denied)
            message += f" (this reuse was not recorded: {denied})"
        alert = tell(
            "reuse",
            nurl,
            [copy],
            copy.size,
            message,
            saved=copy.size,
            quiet=self.quiet or shown,
            summary=self._summary(copy),
        )
        return FetchResult(Path(copy.location), True, copy.blake3, copy.size, nurl.url, copy, alert)

    def _summary(self, copy: CopyInfo) -> str:
        """What the data is, from its extracted metadata ("t2m (K), 2020-…"), for the alert."""
        if copy.content_id is None:
            return ""
        return self.registry.metadata_summaries([copy.content_id]).get(copy.content_id, "")

    def _record_reuse(
        self,
        nurl: NormalizedURL,
        probe: transfer.Probe | None,
        copy: CopyInfo,
        notice: str | None,
    ) -> None:
        """The reuse event (and this URL version as a source of the content), in the registry."""
        assert copy.content_id is not None
        source_id = None
        if probe is not None:
            source_id = self.registry.add_source(copy.content_id, nurl, probe.validators).id
        previous = self.registry.last_download(copy.content_id)
        detail = {"url": nurl.url, "location": copy.location, "owner": copy.owner}
        self.registry.record_event(
            "reuse",
            content_id=copy.content_id,
            source_id=source_id,
            copy_id=copy.id,
            nbytes=copy.size,
            seconds=previous.seconds if previous else 0.0,
            detail={**detail, "stale": notice} if notice else detail,
        )

    def _download_now(self, url: str, nurl: NormalizedURL, probe: transfer.Probe) -> FetchResult:
        """Download although a copy exists (the user asked to), still under the lease."""
        key, holder = lease_key(nurl.url), new_holder()
        self.registry.acquire_lease(key, holder, total_bytes=probe.validators.size)
        try:
            return Download(self, url, nurl, probe, key, holder).run()
        finally:
            self.registry.release_lease(key, holder)

    def _local(self, nurl: NormalizedURL) -> FetchResult:
        """Local paths are looked up, never downloaded: tell the user about other copies."""
        path = Path(unquote(nurl.url[len("file://") :]))
        if not path.is_file():
            raise RemoteError(f"{path} does not exist (local paths are looked up, not downloaded)")
        copies = [c for c in self.registry.copies_for_url(nurl) if c.location != str(path)]
        return FetchResult(
            path, False, copies[0].blake3 if copies else None, path.stat().st_size, nurl.url
        )
