"""One download under a held lease, as the sequence of steps it is.

:meth:`Download.run` reads as the life of a download: make room in the store, find where to start
(a partial of the *same version*, or zero), transfer, check the bytes against every digest we were
promised or told, commit atomically, register content and every URL of the redirect chain, and say
what happened (a mirror, a new version). Nothing is registered unless every step succeeded.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ddas import checksums, partials, transfer
from ddas.errors import HashMismatchError, StoreFullError
from ddas.hashes import StreamHasher
from ddas.identity import NormalizedURL, Validators, normalize_url
from ddas.outcome import FetchResult, tell
from ddas.probe import Probe
from ddas.progress import ProgressBar
from ddas.records import CopyInfo

if TYPE_CHECKING:  # pragma: no cover
    from ddas.fetching import Fetcher

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # the store's disk or the user's quota is full
HEARTBEAT_EVERY = 1.0


class Download:
    """Download ``url`` (at the version ``probe`` saw) into the store; ``run`` does it."""

    def __init__(
        self, fetcher: Fetcher, url: str, nurl: NormalizedURL, probe: Probe, key: str, holder: str
    ) -> None:
        self.f, self.url, self.nurl, self.probe = fetcher, url, nurl, probe
        self.key, self.holder = key, holder
        self.registry, self.store = fetcher.registry, fetcher.store

    def run(self) -> FetchResult:
        self.store.check_writable()  # before any byte is transferred
        self.store.cleanup(need_bytes=self.probe.validators.size or 0)
        previous = [s for s in self.registry.sources_for_url(self.nurl) if s.content_id]
        target, hasher = self._resume_point()
        started = time.monotonic()
        received = self._transfer(target, hasher)
        digests = self._verify(received, target)
        name = self._file_name(received)
        final = self.store.commit(target.path, digests["blake3"], name)
        partials.remove(target.path)  # the sidecar: the bytes are now the stored file
        copy = self._register(final, received, digests, name, time.monotonic() - started)
        alert = self._tell_outcome(copy, received, [s.content_id for s in previous])
        return FetchResult(
            final, False, digests["blake3"], received.hasher.bytes, self.nurl.url, copy, alert
        )

    # -- steps -----------------------------------------------------------------------------------

    def _file_name(self, received: transfer.Received) -> str:
        """What a browser would call it: Content-Disposition, else where redirects led."""
        chain = received.answer.chain or self.probe.chain
        final = normalize_url(chain[-1]).name if len(chain) > 1 else None
        return received.answer.filename or self.probe.filename or final or self.nurl.name

    def _algorithms(self) -> list[str]:
        """Digests to compute besides BLAKE3: the promised one (and, for a bare digest, what else
        it could have meant, to say so on a mismatch), and the server's checksum."""
        known = self.f.known
        wanted = [known.algorithm, *known.other_readings()] if known else []
        if self.probe.checksum and self.f.settings.verify_checksum:
            wanted.append(self.probe.checksum.algorithm)
        return [a for a in dict.fromkeys(wanted) if a != "blake3"]

    def _resume_point(self) -> tuple[transfer.Target, StreamHasher]:
        """Continue a partial of this very version (by any earlier holder, any user); else zero."""
        hasher = StreamHasher(self._algorithms())
        partial = self.store.adopt_partial(self.key)
        if partial is None:
            return transfer.Target(self.store.temp_path(self.key)), hasher
        meta, size = partials.read_meta(partial), partial.stat().st_size
        usable = (
            meta is not None
            and meta.url == self.nurl.url
            and bool(meta.if_range)
            and self.probe.accepts_ranges
            and meta.same_version(self.probe.validators)
            and (meta.size is None or size <= meta.size)
        )
        if not usable:
            partials.remove(partial)  # another version, or nobody knows which: never splice
            return transfer.Target(self.store.temp_path(self.key)), hasher
        with open(partial, "rb") as f:  # re-hash the prefix locally: cheap next to the network
            while chunk := f.read(1 << 20):
                hasher.update(chunk)
        return transfer.Target(partial, size, meta), hasher

    def _transfer(self, target: transfer.Target, hasher: StreamHasher) -> transfer.Received:
        size = self.probe.validators.size
        bar = ProgressBar(self.f.progress, size, self.nurl.name, initial=target.offset)
        last_beat = [time.monotonic()]

        def on_chunk(done: int) -> None:
            bar.update_to(done)
            now = time.monotonic()
            if now - last_beat[0] >= HEARTBEAT_EVERY:
                last_beat[0] = now
                self.registry.heartbeat(self.key, self.holder, progress_bytes=done)

        try:
            return transfer.download(
                self.url,
                self.nurl.url,
                target,
                lambda p, append: self.store.open_temp(p, append=append),
                hasher,
                self.probe,
                settings=self.f.settings,
                storage_options=self.f.storage_options,
                on_chunk=on_chunk,
            )
        except BaseException as exc:
            self._after_failure(target.path, exc)
            raise
        finally:
            bar.close()

    def _after_failure(self, path: Path, exc: BaseException) -> None:
        """Keep a partial only when it knows its version (a sidecar): the next fetch resumes it."""
        kept = path.exists() and path.stat().st_size > 0 and partials.meta_path(path).exists()
        if not kept:
            partials.remove(path)
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            received = path.stat().st_size if kept else 0
            raise StoreFullError(str(self.store.root), self.nurl.url, received, kept) from exc

    def _verify(self, received: transfer.Received, target: transfer.Target) -> dict[str, str]:
        """The promised hash and the server's whole-object checksum; on mismatch keep nothing."""
        digests = received.hasher.hexdigests()
        known = self.f.known
        try:
            if known and digests.get(known.algorithm) != known.value:
                actual = digests.get(known.algorithm, "?")
                raise HashMismatchError(
                    self.nurl.url,
                    known.algorithm,
                    known.value,
                    actual,
                    known.spelling_hint(digests),
                )
            checksum = self._announced_checksum(received, target)
            if checksum is not None and self.f.settings.verify_checksum:
                checksum.verify(self.nurl.url, digests)
        except BaseException:
            partials.remove(target.path)
            raise
        return digests

    def _announced_checksum(
        self, received: transfer.Received, target: transfer.Target
    ) -> checksums.Checksum | None:
        if received.answer.encoded:
            return None  # a digest of the encoded bytes, not of what we store
        if received.answer.checksum is not None:
            return received.answer.checksum
        meta = target.meta
        return checksums.parse(meta.checksum if meta else None) or self.probe.checksum

    def _register(
        self,
        final: Path,
        received: transfer.Received,
        digests: dict[str, str],
        name: str,
        seconds: float,
    ) -> CopyInfo:
        """Content, source, copy and event in one transaction; then each other URL of the
        redirect chain as a source of the same content (a later fetch of the target is a hit)."""
        st = os.stat(final)
        copy = self.registry.record_download(
            url=self.nurl,
            validators=received.validators,
            blake3=digests["blake3"],
            size=received.hasher.bytes,
            location=str(final),
            name=name,
            digests=digests,
            in_store=True,
            mtime_ns=st.st_mtime_ns,
            device=st.st_dev,
            inode=st.st_ino,
            seconds=seconds,
        )
        chain = received.answer.chain if len(received.answer.chain) > 1 else self.probe.chain
        v = received.validators
        for hop in chain:
            if hop == self.nurl.url or copy.content_id is None:
                continue
            last = hop == chain[-1]
            hop_validators = Validators(v.etag, v.last_modified, v.size, v.checksum)
            self.registry.add_source(copy.content_id, hop, hop_validators if last else v)
        return copy

    def _tell_outcome(
        self, copy: CopyInfo, received: transfer.Received, previous: list[int | None]
    ) -> object:
        """A mirror (same bytes known under another URL) or a new version of this URL."""
        detail = self.registry.dataset(copy.content_id, events=0) if copy.content_id else None
        chain = set(received.answer.chain) | set(self.probe.chain) | {self.nurl.url}
        mirrors = [s.url for s in detail.sources if s.url not in chain] if detail else []
        quiet = self.f.quiet
        if mirrors:
            self.registry.record_event(
                "alert",
                content_id=copy.content_id,
                copy_id=copy.id,
                detail={"kind": "mirror", "url": self.nurl.url, "mirror_of": mirrors[0]},
            )
            return tell(
                "mirror",
                self.nurl,
                self.registry.copies_for_content(copy.content_id or 0),
                received.hasher.bytes,
                f"this is a mirror of {mirrors[0]}: same bytes, one stored copy kept; next time "
                "this URL is a hit",
                quiet=quiet,
            )
        older = [c for c in previous if c != copy.content_id]
        if older:
            return tell(
                "new_version",
                self.nurl,
                self.registry.copies_for_content(older[0] or 0),
                received.hasher.bytes,
                "the remote changed; downloaded the new version, older version(s) kept",
                quiet=quiet,
            )
        return None
