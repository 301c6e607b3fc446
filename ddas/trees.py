"""``ddas.fetch_tree(url)``: a folder-like dataset (prefix, directory listing, glob) as one collection.

Real datasets are many files: a CMIP6 experiment, a Sentinel scene folder, Parquet shards under an S3
prefix. ``fetch_tree`` lists the members with fsspec (``find`` for a prefix or an HTTP listing,
``glob`` for ``…/*.nc``), then fetches each one through :func:`ddas.fetch` — so each member is
downloaded at most once for the whole institution under the usual lease, and members that anyone
already has cost one HEAD each — in a bounded thread pool with one progress bar. The registry then
records the collection version (see :mod:`ddas.registry.collections`), and the caller gets a local
folder of hard links (else symlinks) to the shared copies, laid out as the remote is.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ddas.alerts import Alert, announce
from ddas.errors import DDASError, InvalidURLError, RemoteError
from ddas.identity import normalize_url, redact
from ddas.links import place
from ddas.progress import ProgressBar
from ddas.registry import Registry
from ddas.store import Store, shared_mkdir
from ddas.units import human_size

if TYPE_CHECKING:  # pragma: no cover
    from ddas.fetching import FetchResult
    from ddas.records import CollectionSummary

GLOB = re.compile(r"[*?\[]")
MAX_WORKERS = 8
MAX_MEMBERS = 100_000  # a listing larger than this is a mistake (a whole bucket), not a dataset


@dataclass(frozen=True)
class Member:
    """One file of a listing: its path inside the tree and the URL it is fetched from."""

    path: str
    url: str
    size: int | None = None


@dataclass(frozen=True)
class TreeResult:
    """What a ``fetch_tree`` did: the folder, the collection version, and who moved which bytes."""

    path: Path
    collection: CollectionSummary
    reused: int
    downloaded: int
    downloaded_bytes: int
    new_version: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "collection": self.collection.to_dict(),
            "reused": self.reused,
            "downloaded": self.downloaded,
            "downloaded_bytes": self.downloaded_bytes,
            "new_version": self.new_version,
        }


def _static_prefix(path: str) -> str:
    """The folder part of a glob before its first wildcard (``a/b/*.nc`` -> ``a/b``)."""
    head = GLOB.split(path, maxsplit=1)[0]
    return head.rsplit("/", 1)[0] if "/" in head else ""


def list_members(url: str, storage_options: Mapping[str, Any] | None = None) -> list[Member]:
    """The files under ``url`` (recursively), or those matching it when it is a glob."""
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(url, **dict(storage_options or {}))
    except (ValueError, ImportError) as exc:
        raise RemoteError(f"no filesystem for {redact(url)}: {exc}") from None
    fs.invalidate_cache()  # a listing cached by an earlier call would hide a changed remote
    is_glob = bool(GLOB.search(path))
    base = (_static_prefix(path) if is_glob else path).rstrip("/")
    try:
        found = fs.glob(path, detail=True) if is_glob else fs.find(path, detail=True)
    except FileNotFoundError:
        raise RemoteError(f"{redact(url)} does not exist") from None
    except Exception as exc:  # fsspec backends raise many types for auth/network trouble
        raise RemoteError(f"cannot list {redact(url)}: {type(exc).__name__}: {exc}") from None
    members = []
    for name, info in sorted(found.items()):
        if info.get("type") == "directory" or not name.startswith(base + "/"):
            continue
        rel = name[len(base) + 1 :]
        if not rel or "?" in rel or "#" in rel or any(p in ("", ".", "..") for p in rel.split("/")):
            continue  # a listing's sort links (?C=N), a parent link, an empty segment
        full = name if "://" in name else fs.unstrip_protocol(name)
        members.append(Member(rel, full, info.get("size")))
    if not members:
        raise RemoteError(
            f"{redact(url)} lists no files: fetch_tree wants a folder-like URL (an S3/GCS prefix, "
            "an HTTP directory listing or a glob such as .../*.nc); use ddas.fetch for one file"
        )
    if len(members) > MAX_MEMBERS:
        raise RemoteError(
            f"{redact(url)} lists {len(members)} files (more than {MAX_MEMBERS}): "
            "narrow it down with a sub-prefix or a glob"
        )
    return members


class _SharedBar:
    """One tqdm for the whole tree: each member's fetch reports into it (thread-safe)."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar, self.lock, self.done = bar, threading.Lock(), 0

    def update(self, n: int) -> None:
        with self.lock:
            self.done += n
            self.bar.update_to(self.done)

    def close(self) -> None:  # a member's bar closing must not close the tree's
        pass


def _fetch_all(
    members: list[Member],
    *,
    policy: str | None,
    progress: Any,
    storage_options: Mapping[str, Any] | None,
    registry: Registry,
    store: Store,
    workers: int,
    desc: str,
) -> list[FetchResult]:
    from ddas.api import fetch_result

    sizes = [m.size for m in members]
    total = sum(s for s in sizes if s) if all(s is not None for s in sizes) else None
    bar = ProgressBar(progress, total, desc)
    shared = _SharedBar(bar) if bar.bar is not None else False

    def one(member: Member) -> FetchResult | DDASError:
        try:
            return fetch_result(
                member.url,
                policy=policy,
                progress=shared,
                storage_options=storage_options,
                registry=registry,
                store=store,
                quiet=True,
            )
        except DDASError as exc:  # the others go on: what they fetched is registered
            return exc

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(members)))) as pool:
            results = list(pool.map(one, members))
    finally:
        bar.close()
    failed = [(m, r) for m, r in zip(members, results, strict=True) if isinstance(r, DDASError)]
    if failed:
        first, why = failed[0]
        raise RemoteError(
            f"{len(failed)} of {len(members)} files of {desc} could not be fetched (first: "
            f"{first.path}: {why}); the {len(members) - len(failed)} others are registered, so "
            "calling fetch_tree again downloads only what is still missing"
        )
    return [r for r in results if not isinstance(r, DDASError)]


def _link_tree(root: Path, members: list[tuple[str, Path]]) -> None:
    for rel, src in members:
        target = root.joinpath(*PurePosixPath(rel).parts)
        shared_mkdir(target.parent)
        place(src, target, target.name)


def tree_folder(store: Store, digest: str, members: list[tuple[str, Path]]) -> Path:
    """The shared folder of this collection version in the store, built once (atomically: in a
    temp folder renamed into place, so nobody sees half a tree)."""
    final = store.root / "trees" / digest[:2] / digest
    if final.is_dir():
        return final
    shared_mkdir(final.parent)
    temp = store.tmp / f"tree-{digest[:16]}.{uuid.uuid4().hex}"
    shared_mkdir(temp)
    try:
        _link_tree(temp, members)
        os.rename(temp, final)
    except OSError:
        if not final.is_dir():  # not "someone else built it first"
            raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(temp)
    return final


def fetch_tree_result(
    url: str,
    dest: str | os.PathLike[str] | None = None,
    *,
    policy: str | None = None,
    progress: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    workers: int = MAX_WORKERS,
    registry: Registry | None = None,
    store: Store | None = None,
    quiet: bool = False,
) -> TreeResult:
    """Like :func:`fetch_tree` but returns the whole :class:`TreeResult` (for the CLI)."""
    nurl = normalize_url(url)
    if nurl.is_local:
        raise InvalidURLError(
            "fetch_tree is for remote folders; a local folder is already here "
            "(register it with `ddas scan`)"
        )
    registry, store = registry or Registry(), store or Store()
    members = list_members(url, storage_options)
    before = registry.collections_of_url(nurl)
    results = _fetch_all(
        members,
        policy=policy,
        progress=progress,
        storage_options=storage_options,
        registry=registry,
        store=store,
        workers=workers,
        desc=nurl.name or "collection",
    )
    pairs = [(m.path, r.blake3 or "") for m, r in zip(members, results, strict=True)]
    collection = registry.record_collection(nurl, pairs)
    located = [(m.path, r.path) for m, r in zip(members, results, strict=True)]
    if dest is None:
        folder = tree_folder(store, collection.digest, located)
    else:
        folder = Path(dest).expanduser()
        _link_tree(folder, located)
    downloaded = [r for r in results if not r.reused]
    new_version = bool(before) and all(c.digest != collection.digest for c in before)
    result = TreeResult(
        folder,
        collection,
        len(results) - len(downloaded),
        len(downloaded),
        sum(r.size for r in downloaded),
        new_version,
    )
    _announce(nurl.url, nurl.name, result, quiet)
    return result


def _announce(url: str, name: str, result: TreeResult, quiet: bool) -> None:
    """One line (or card) for the whole tree: how much was already there, what moved."""
    total = result.reused + result.downloaded
    if result.downloaded == 0:
        kind, text = "reuse", f"all {total} files already present; reused, nothing downloaded"
    elif result.reused == 0:
        kind, text = "collection", f"downloaded all {total} files"
    else:
        kind = "collection"
        text = (
            f"{result.reused} of {total} files already present (reused); downloaded only the "
            f"{result.downloaded} missing ({human_size(result.downloaded_bytes)})"
        )
    if result.new_version:
        text += "; the collection changed: this is a new version, older ones stay registered"
    saved = result.collection.size - result.downloaded_bytes
    alert = Alert(kind, name or url, url, text, [], result.collection.size, max(0, saved))
    announce(alert, quiet=quiet)


def fetch_tree(
    url: str,
    dest: str | os.PathLike[str] | None = None,
    *,
    policy: str | None = None,
    progress: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    workers: int = MAX_WORKERS,
) -> Path:
    """A local folder holding the collection at ``url``, each file downloaded only if nobody has it.

    Parameters
    ----------
    url:
        A folder-like URL: an object-store prefix (``s3://bucket/run1/``), an HTTP directory
        listing (``https://host/data/``) or an fsspec glob (``https://host/data/*.nc``).
    dest:
        Where to lay the tree out (hard links, else symlinks, to the shared copies). By default
        a shared, read-only folder in the store for this exact version.
    policy, progress, storage_options:
        As for :func:`ddas.fetch`; one progress bar covers the whole tree.
    workers:
        Members fetched at once (a bounded thread pool).
    """
    return fetch_tree_result(
        url,
        dest,
        policy=policy,
        progress=progress,
        storage_options=storage_options,
        workers=workers,
    ).path
