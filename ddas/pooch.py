"""A pooch downloader that asks the DDAS registry first: pooch users switch in one argument.

pooch keeps a private cache per user (``~/.cache/<project>``), so ten people using the same pooch
registry download the same files ten times. Passed as ``downloader=``, :class:`DDASDownloader` makes
each download go through :func:`ddas.fetch`: if anyone already has the file, pooch's cache gets a hard
link to that copy (no bytes transferred, no second copy on disk); otherwise it is downloaded once into
the shared store. pooch still verifies its ``known_hash`` and still owns its cache layout::

    import pooch
    import ddas.pooch

    path = pooch.retrieve(url, known_hash, downloader=ddas.pooch.DDASDownloader())
    mylib = pooch.create(path=pooch.os_cache("mylib"), base_url=..., registry={...})
    mylib.fetch("data.csv", downloader=ddas.pooch.DDASDownloader())

This module follows pooch's downloader protocol (a callable ``(url, output_file, pooch,
check_only=False)``) and never imports pooch itself.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ddas.hashes import ALGORITHMS

__all__ = ["DDASDownloader", "downloader"]


class DDASDownloader:
    """Fetch through the DDAS registry on behalf of pooch.

    Parameters
    ----------
    policy:
        What to do when a copy exists (``"reuse"`` by default, see :func:`ddas.fetch`).
    progressbar:
        ``True``/``False``, a tqdm-like object, or ``None`` (default) for DDAS's automatic choice:
        shown when a person is watching, silent in batch jobs.
    known_hash:
        A digest for :func:`pooch.retrieve`, which does not tell downloaders its hash. With it, DDAS
        also finds copies of the same bytes under other URLs. ``Pooch.fetch`` needs no such
        argument: the hash in the Pooch's registry is used.
    storage_options:
        fsspec options for non-HTTP URLs (``s3://`` ...), as in :func:`ddas.fetch`.
    link_mode:
        How pooch's file refers to the shared copy: ``"auto"`` (hard link, else symlink, else copy),
        ``"hardlink"``, ``"symlink"`` or ``"copy"``; default ``DDAS_LINK_MODE``.
    """

    def __init__(
        self,
        *,
        policy: str | None = None,
        progressbar: Any = None,
        known_hash: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        link_mode: str | None = None,
    ) -> None:
        self.policy = policy
        self.progressbar = progressbar
        self.known_hash = known_hash
        self.storage_options = dict(storage_options or {})
        self.link_mode = link_mode

    def __repr__(self) -> str:
        return f"DDASDownloader(policy={self.policy!r}, link_mode={self.link_mode!r})"

    def __call__(
        self, url: str, output_file: Any, pooch: Any = None, check_only: bool = False
    ) -> bool | None:
        """pooch's downloader protocol: put ``url``'s bytes at ``output_file`` (a path or a binary
        file object), or with ``check_only`` only say whether ``url`` can be had."""
        if check_only:
            return self.is_available(url)
        from ddas.api import fetch

        stored = fetch(
            url,
            policy=self.policy,
            known_hash=self._hash_for(url, pooch),
            progress=self.progressbar,
            storage_options=self.storage_options,
        )
        if hasattr(output_file, "write"):
            with open(stored, "rb") as src:
                shutil.copyfileobj(src, output_file, 1 << 20)
            return None
        from ddas.links import place

        place(Path(stored), os.fspath(output_file), Path(stored).name, self.link_mode)
        return None

    def is_available(self, url: str) -> bool:
        """True when a copy is registered (no network) or the remote answers for ``url``."""
        from ddas import transfer
        from ddas.api import lookup
        from ddas.errors import DDASError

        try:
            if lookup(url):
                return True
            transfer.probe(url, self.storage_options)
        except (DDASError, OSError):
            return False
        return True

    def _hash_for(self, url: str, pooch: Any) -> str | None:
        """The digest pooch will check afterwards, when DDAS understands its algorithm.

        ``Pooch.fetch`` passes its Pooch; the file name whose URL is ``url`` gives the registry
        hash. Hashes DDAS does not compute (e.g. ``xxh128``) are left to pooch alone.
        """
        digest = self.known_hash
        if digest is None and pooch is not None:
            for fname, value in getattr(pooch, "registry", {}).items():
                if value and _url_of(pooch, fname) == url:
                    digest = value
                    break
        if not digest:
            return None
        if ":" not in digest:  # pooch's rule for bare hex is sha256; ours is BLAKE3: spell it out
            digest = f"sha256:{digest.strip()}"
        return digest if digest.split(":", 1)[0].lower() in ALGORITHMS else None


def _url_of(pooch: Any, fname: str) -> str | None:
    try:
        return pooch.get_url(fname)
    except Exception:  # an odd registry entry must not break the download of another file
        return None


#: A ready-made instance: ``downloader=ddas.pooch.downloader``.
downloader = DDASDownloader()
