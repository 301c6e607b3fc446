"""The ``ddas::`` fsspec protocol: ``pd.read_csv("ddas::https://…")`` goes through ``ddas.fetch``.

It wraps another filesystem by composition, exactly like fsspec's ``filecache::``: the chained URL's
inner part names the target (``https://…``, ``s3://…``), its options arrive as ``target_options`` (so
``storage_options={"s3": {...}}`` works), and opening a file means "fetch it through the registry, then
read the local copy". Registered through the ``fsspec.specs`` entry point, so no import is needed.

Options for the ``ddas`` layer itself (``policy``, ``known_hash``, ``progress``) can be passed as
``storage_options={"ddas": {"policy": "warn"}}``.

Every file it opens is a local file (the registry's copy), so the filesystem says ``local_file``:
``fsspec.open_local("ddas::…")`` returns that path, for readers that only take paths (netCDF4's
C library). Readers that take a filesystem *object* instead of a URL (pyarrow) get one from
:func:`filesystem`: a ``ddas`` filesystem whose paths are whole URLs, each naming its own target.
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
    """Read-only filesystem that deduplicates downloads of the files it opens.

    Chained (``ddas::https://…``) it has one target filesystem; made by :func:`filesystem` it has
    none, and each path, a full URL, picks its own (``https://…``, ``s3://…``).
    """

    protocol = "ddas"
    root_marker = ""
    local_file = True  # what _open hands out is the registry's local copy (fsspec.open_local)

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
        if fs is None and target_protocol is not None:
            from fsspec import filesystem as fsspec_filesystem

            fs = fsspec_filesystem(target_protocol, **(target_options or {}))
        self.fs = fs  # None: every path is a whole URL naming its own target
        if target_protocol is None and fs is not None:
            target_protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        self.target_protocol = target_protocol
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
        if "://" in path:
            return path
        if self.target_protocol is None:
            raise ValueError(
                f"{path!r} is not a URL: paths of ddas.filesystem() are whole URLs, "
                "e.g. 'https://host/file.parquet'"
            )
        return f"{self.target_protocol}://{path}"

    def _target(self, path: str) -> tuple[Any, str]:
        """The target filesystem of ``path`` and the path it knows the file by."""
        url = self.target_url(path)
        if self.fs is not None:
            return self.fs, self.fs._strip_protocol(url)
        from fsspec.core import url_to_fs

        return url_to_fs(url, **self.target_options)

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
        fs, inner = self._target(path)
        return fs.info(inner, **kwargs)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        fs, inner = self._target(path)
        return fs.ls(inner, detail=detail, **kwargs)

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


def filesystem(
    target_options: dict[str, Any] | None = None,
    *,
    policy: str | None = None,
    known_hash: str | None = None,
    progress: Any = None,
) -> DDASFileSystem:
    """A ``ddas`` filesystem object for readers that take one, whose paths are whole URLs.

    ``pq.read_table("https://host/grid.parquet", filesystem=ddas.filesystem())`` reads through the
    registry as ``pd.read_parquet("ddas::https://…")`` does: pyarrow's own URL parser knows no
    ``ddas::``, but it accepts any fsspec filesystem. ``target_options`` go to each URL's filesystem
    (e.g. s3fs ``client_kwargs``); the other options are those of :func:`ddas.fetch`.
    """
    return DDASFileSystem(
        target_options=target_options, policy=policy, known_hash=known_hash, progress=progress
    )
