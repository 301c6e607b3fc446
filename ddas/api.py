"""The functions researchers call: ``fetch``, ``open``, ``lookup``, ``forget``, ``duplicates``,
``stats``, and ``lookup_status`` (what a fetch would do now: the REST ``GET lookup``).

Each is a thin, documented front over :class:`ddas.fetching.Fetcher` and :class:`ddas.registry.Registry`
so that notebooks, the CLI, the ``ddas::`` fsspec protocol and the server extension share one logic.
"""

from __future__ import annotations

import builtins
import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ddas import config, metadata
from ddas.config import DownloadSettings
from ddas.errors import DDASError
from ddas.fetching import Fetcher, FetchResult
from ddas.identity import normalize_url
from ddas.links import place
from ddas.records import CopyInfo
from ddas.registry import Registry, lease_key
from ddas.vocabulary import LookupStatus

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ddas.store import Store


def fetch_result(
    url: str,
    dest: str | os.PathLike[str] | None = None,
    *,
    policy: str | None = None,
    known_hash: str | None = None,
    progress: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
    store: Store | None = None,
    quiet: bool = False,
    **settings: Any,
) -> FetchResult:
    """Like :func:`fetch` but returns the whole :class:`~ddas.fetching.FetchResult` (for the CLI).

    With ``DDAS_REGISTRY`` naming the JupyterHub service, the service fetches (see ddas.remote).
    """
    if registry is None and store is None and config.registry_service():
        from ddas.remote.fetch import remote_fetch

        result = remote_fetch(
            url,
            policy=policy,
            known_hash=known_hash,
            progress=progress,
            storage_options=storage_options,
            quiet=quiet,
        )
        return _placed(result, url, dest)
    fetcher = Fetcher(
        registry,
        store,
        policy=policy,
        known_hash=known_hash,
        progress=progress,
        storage_options=storage_options,
        quiet=quiet,
        settings=DownloadSettings.from_env(**settings),
    )
    result = fetcher.fetch(url)
    if result.copy is not None:  # off the critical path: a queue drained by a background thread
        metadata.schedule(fetcher.registry.url, result.blake3, result.path, result.path.name)
    return _placed(result, url, dest)


def _placed(result: FetchResult, url: str, dest: str | os.PathLike[str] | None) -> FetchResult:
    """The result with its path at ``dest`` (a link to the stored copy), when one was asked for."""
    if dest is None:
        return result
    path = place(result.path, dest, normalize_url(url).name or result.path.name)
    return FetchResult(
        path, result.reused, result.blake3, result.size, result.source, result.copy, result.alert
    )


def fetch(
    url: str,
    dest: str | os.PathLike[str] | None = None,
    *,
    policy: str | None = None,
    known_hash: str | None = None,
    progress: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    **settings: Any,
) -> Path:
    """Return a local path to the dataset at ``url``, downloading it only if nobody has it.

    Parameters
    ----------
    url:
        Any fsspec URL (``https://``, ``s3://``, ...). Local paths and ``file://`` are looked up,
        never copied. Credentials and signing parameters in the URL are used for the transfer but
        never stored, logged or shown.
    dest:
        Optional file or folder where you want the dataset; it gets a hard link (else symlink, else
        copy: ``DDAS_LINK_MODE``) to the shared copy rather than a second download.
    policy:
        What to do when a copy exists: ``"reuse"`` (default, ``DDAS_POLICY``), ``"warn"`` (download
        anyway), ``"error"`` (raise :class:`ddas.DuplicateDownloadError`), ``"ask"`` (buttons in a
        live notebook; ``reuse`` without a front end).
    known_hash:
        ``"sha256:…"``, ``"md5:…"`` or ``"blake3:…"`` (pooch style); a mismatch raises
        :class:`ddas.HashMismatchError` and keeps nothing.
    progress:
        ``True``/``False``, ``None`` for automatic (shown when a person is watching), or a
        tqdm-like object.
    storage_options:
        For HTTP(S): ``headers``, ``auth=(user, password)``, ``token`` (a bearer token),
        ``verify`` (False, or a CA bundle path), ``cert``, ``timeout`` (seconds, or a
        ``(connect, read)`` pair); ``~/.netrc`` is read when no ``auth`` is given. For other
        protocols, passed to fsspec (e.g. s3fs ``key``/``secret``/``client_kwargs``).
    settings:
        Download settings, each also a ``DDAS_<NAME>`` environment variable (see
        :class:`ddas.config.DownloadSettings`): ``offline``, ``on_error`` (``"stale"``/
        ``"refuse"``), ``allow_html``, ``retries``, ``retry_seconds``, ``backoff``,
        ``connect_timeout``, ``read_timeout``, ``min_rate``, ``stall_seconds``,
        ``verify_checksum``, ``ca_bundle``.
    """
    return fetch_result(
        url,
        dest,
        policy=policy,
        known_hash=known_hash,
        progress=progress,
        storage_options=storage_options,
        **settings,
    ).path


def open(
    url: str,
    mode: str = "rb",
    *,
    policy: str | None = None,
    known_hash: str | None = None,
    progress: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> IO[Any]:
    """Open the dataset at ``url`` for reading (``"rb"`` or ``"r"``); a context manager.

    The file comes from an existing copy when there is one, else from a fresh single download.
    Download settings (``offline``, ``on_error``, ...: see :func:`fetch`) are used for the fetch;
    other keyword arguments (``encoding``, ``newline``...) go to :func:`open`.
    """
    if any(c in mode for c in "wax+"):
        raise ValueError("ddas.open is read-only: datasets in the shared store are immutable")
    names = {f.name for f in dataclasses.fields(DownloadSettings)}
    settings = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    path = fetch(
        url,
        policy=policy,
        known_hash=known_hash,
        progress=progress,
        storage_options=storage_options,
        **settings,
    )
    return builtins.open(path, mode, **kwargs)


def lookup(url: str, *, registry: Registry | None = None) -> list[CopyInfo]:
    """Every present copy of what ``url`` gave (any version), without touching the network."""
    if registry is None and config.registry_service():
        from ddas.remote.api import lookup as remote_lookup

        return remote_lookup(url)
    return (registry or Registry()).copies_for_url(normalize_url(url))


def forget(copy_id: int, *, registry: Registry | None = None) -> None:
    """Forget copy ``copy_id`` (its file is left alone). On the JupyterHub service only its owner
    or a DDAS admin may (:class:`ddas.NotAllowedError` otherwise); embedded, you are trusted."""
    if registry is None and config.registry_service():
        from ddas.remote.api import forget as remote_forget

        remote_forget(copy_id)
        return
    try:
        (registry or Registry()).forget_copy(copy_id)
    except KeyError:
        raise DDASError(f"no copy with id {copy_id}; ddas find lists copies") from None


def lookup_status(
    url: str, *, registry: Registry | None = None, probe: bool = True, session: Any = None
) -> dict:
    """What ``fetch`` would do for ``url`` — ``hit``, ``miss``, ``in_progress``, ``new_version`` or
    ``local`` — without downloading (one HEAD when ``probe``, sent with ``session`` if given: the
    REST API passes one that refuses internal addresses)."""
    from ddas import transfer

    registry = registry or Registry()
    nurl = normalize_url(url)
    lease = registry.current_lease(lease_key(nurl.url))
    lease_dict = (
        {
            "user": lease.user,
            "progress_bytes": lease.progress_bytes,
            "total_bytes": lease.total_bytes,
        }
        if lease
        else None
    )
    all_copies = registry.copies_for_url(nurl)
    status: LookupStatus
    if nurl.is_local:
        status, copies = "local", all_copies
    else:
        validators = transfer.probe(url, session=session).validators if probe else None
        known = validators is not None and validators.known
        copies = registry.copies_for_url(nurl, validators) if known else all_copies
        if copies:
            status = "hit"
        elif lease is not None:
            status = "in_progress"
        elif all_copies:
            status = "new_version"
        else:
            status = "miss"
    return {
        "url": nurl.url,
        "status": status,
        "copies": [c.to_dict() for c in copies],
        "lease": lease_dict,
    }


def duplicates(*, registry: Registry | None = None) -> pd.DataFrame:
    """Contents with two or more present copies on distinct inodes, largest waste first."""
    import pandas as pd

    groups = (registry or Registry()).duplicates().items
    return pd.DataFrame(
        [
            {
                "name": g.name,
                "blake3": g.blake3,
                "size": g.size,
                "copy_count": g.copy_count,
                "wasted_bytes": g.wasted_bytes,
                "owners": g.owners,
                "paths": g.paths,
            }
            for g in groups
        ],
        columns=["name", "blake3", "size", "copy_count", "wasted_bytes", "owners", "paths"],
    )


def stats(*, registry: Registry | None = None) -> pd.DataFrame:
    """Downloads and bytes saved per user; institution-wide totals are in ``df.attrs``."""
    import pandas as pd

    data = (registry or Registry()).stats().to_dict()
    columns = ["user", "downloads", "bytes_downloaded", "reuses", "bytes_saved"]
    frame = pd.DataFrame(data["by_user"], columns=columns)
    frame.attrs.update({k: v for k, v in data.items() if k not in ("by_user",)})
    return frame
