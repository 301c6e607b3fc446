"""The ``ddas::`` fsspec protocol: ``pd.read_csv("ddas::https://…")`` goes through ``ddas.fetch``.

It wraps another filesystem by composition, exactly like fsspec's ``filecache::``: the chained URL's
inner part names the target (``https://…``, ``s3://…``), its options arrive as ``target_options`` (so
``storage_options={"s3": {...}}`` works), and opening a file means "fetch it through the registry, then
read the local copy". Registered through the ``fsspec.specs`` entry point, so no import is needed.

Options for the ``ddas`` layer itself (``policy``, ``known_hash``, ``progress``) can be passed as
``storage_options={"ddas": {"policy": "warn"}}``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from fsspec.implementations.chained import ChainedFileSystem
from fsspec.implementations.local import LocalFileOpener, LocalFileSystem

MEMO_SECONDS = 10.0
_RECENT: dict[tuple[str, str, str], tuple[str, float]] = {}


class DDASFileSystem(ChainedFileSystem):
    """Read-only filesystem that deduplicates downloads of the files it opens."""

    protocol = "ddas"
    root_marker = ""

    def __init__(
        self,
        target_protocol: str | None = None,
        target_options: dict[str, Any] | None = None,
        fs: Any = None,
        policy: str | None = None,
        known_hash: str | None = None,
        progress: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("fo", None)
        super().__init__(**kwargs)
        if fs is None and target_protocol is None:
            raise ValueError("use ddas as a chained protocol, e.g. 'ddas::https://host/file.csv'")
        if fs is None:
            from fsspec import filesystem

            fs = filesystem(target_protocol, **(target_options or {}))
        self.fs = fs
        self.target_protocol = target_protocol or (
            fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        )
        self.target_options = dict(target_options or {})
        self.policy, self.known_hash, self.progress = policy, known_hash, progress

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        for prefix in ("ddas::", "ddas://"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
        return text

    def target_url(self, path: str) -> str:
        """The full URL of ``path`` on the target filesystem (s3fs strips ``s3://``; put it back)."""
        path = self._strip_protocol(path)
        return path if "://" in path else f"{self.target_protocol}://{path}"

    def local_path(self, path: str) -> str:
        """Fetch ``path`` through the registry (reusing any existing copy); the local path.

        Readers such as pyarrow open one file several times for one ``read_parquet``; a short
        per-process memo makes that one fetch (one alert, one ``reuse`` event), not three.
        """
        from ddas import config
        from ddas.api import fetch

        url = self.target_url(path)
        key = (url, config.current_user(), config.registry_url())
        memo = _RECENT.get(key)
        if memo and time.monotonic() - memo[1] < MEMO_SECONDS and os.path.exists(memo[0]):
            return memo[0]
        local = str(
            fetch(
                url,
                policy=self.policy,
                known_hash=self.known_hash,
                progress=self.progress,
                storage_options=self.target_options,
            )
        )
        _RECENT[key] = (local, time.monotonic())
        return local

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> LocalFileOpener:
        if mode != "rb":
            raise ValueError("the ddas:: protocol is read-only")
        return LocalFileOpener(self.local_path(path), "rb", fs=LocalFileSystem())

    # Metadata questions go to the target: they cost a HEAD/info, never a body transfer.
    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.fs.info(self.fs._strip_protocol(self.target_url(path)), **kwargs)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        return self.fs.ls(self.fs._strip_protocol(self.target_url(path)), detail=detail, **kwargs)

    def glob(self, path: str, **kwargs: Any) -> Any:
        """Expand ``ddas::https://host/multi/*.nc`` on the target (an HTTP listing, an S3 prefix);
        each name keeps the target's scheme, so opening it goes through :func:`ddas.fetch`."""
        found = self.fs.glob(self.fs._strip_protocol(self.target_url(path)), **kwargs)
        if isinstance(found, dict):
            return {self._target_name(k): v for k, v in found.items()}
        return [self._target_name(k) for k in found]

    def _target_name(self, name: str) -> str:
        return name if "://" in name else self.fs.unstrip_protocol(name)

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kw: Any
    ) -> bytes:
        return LocalFileSystem().cat_file(self.local_path(path), start=start, end=end)
