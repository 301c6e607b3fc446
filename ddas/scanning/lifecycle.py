"""The store's lifecycle, for admins: ``gc`` and ``verify`` (``reclaim`` is in :mod:`.reclaim`).

Each is a dry run by default: it reports what it found and what it *would* do, and acts only with
``apply=True`` (``--apply`` on the command line), so an admin can read the report first.

* :func:`gc` finds files in the store's content folders that no registered copy points to (left by a
  crash between the rename into place and the registration, or by a hand-edited registry), and
  temp files and partial downloads in ``.tmp`` older than their age, and the registry's contents
  no present copy is left of; applied, it removes the files and forgets those contents.
* :func:`verify` re-hashes registered copies on this host (all, or a random ``sample``); applied, it
  marks vanished ones ``missing`` and mismatching ones ``corrupt``, and moves corrupt *store* files
  to ``.corrupt/`` (quarantine). A user's own file is only ever marked, never moved or deleted.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddas import config
from ddas.hashes import file_blake3

if TYPE_CHECKING:  # pragma: no cover
    from ddas.registry import Registry
    from ddas.registry.scans import KnownCopy
    from ddas.store import Store


def partial_age_limit() -> float:
    """Seconds after which a temp file or partial download in ``.tmp`` is stale: twice the
    download lease's lifetime (a live download heartbeats its lease, so its file is younger)."""
    return config.float_env("DDAS_PARTIAL_MAX_AGE", 2 * config.lease_ttl())


def is_stale_partial(path: Path, now: float, max_age: float | None = None) -> bool:
    """Whether a file of the store's temp area is past its age (by its mtime)."""
    try:
        mtime = path.lstat().st_mtime
    except FileNotFoundError:
        return False
    return now - mtime > (partial_age_limit() if max_age is None else max_age)


@dataclass
class GcReport:
    """What ``gc`` found (paths) and, when applied, removed."""

    orphans: list[str] = field(default_factory=list)
    stale_temps: list[str] = field(default_factory=list)
    #: contents no present copy is left of: {"id", "blake3", "size", "name"} each
    contents_without_copies: list[dict[str, Any]] = field(default_factory=list)
    freed_bytes: int = 0
    applied: bool = False
    removed: int = 0
    forgotten_contents: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _open(registry: Registry | str | None, store: Store | str | None) -> tuple[Registry, Store]:
    from ddas.registry import Registry
    from ddas.store import Store

    reg = registry if isinstance(registry, Registry) else Registry(registry)
    return reg, store if isinstance(store, Store) else Store(store)


def _store_files(store: Store) -> list[Path]:
    """Files in the content folders ``<b3[:2]>/<b3>/<name>`` (not ``.tmp``, not ``.corrupt``)."""
    out = []
    for prefix in sorted(store.root.iterdir()):
        if prefix.name.startswith(".") or not prefix.is_dir() or len(prefix.name) != 2:
            continue
        for folder in prefix.iterdir():
            if folder.is_dir() and not folder.is_symlink():
                out.extend(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    return out


def gc(
    registry: Registry | str | None = None,
    store: Store | str | None = None,
    *,
    apply: bool = False,
    max_age: float | None = None,
) -> GcReport:
    """Find (and with ``apply``, remove) orphan store files, stale temp files, and the
    registry's contents with no copy left (``apply`` forgets them: see
    ``Registry.forget_contents``; a content with a present copy is never touched)."""
    reg, st = _open(registry, store)
    root = str(st.root.resolve())
    known = reg.locations_under(root) | reg.locations_under(str(st.root))
    report = GcReport(applied=apply)
    now = time.time()
    for path in _store_files(st):
        if str(path) not in known and str(path.resolve()) not in known:
            report.orphans.append(str(path))
    report.stale_temps = [
        str(p)
        for p in sorted(st.tmp.iterdir())
        if p.is_file() and is_stale_partial(p, now, max_age)
    ]
    for name in report.orphans + report.stale_temps:
        try:
            size = os.lstat(name).st_size
            if apply:
                os.unlink(name)
                report.removed += 1
        except FileNotFoundError:
            continue
        report.freed_bytes += size
    left = reg.contents_without_copies()
    report.contents_without_copies = [c._asdict() for c in left]
    if apply and left:
        report.forgotten_contents = len(reg.forget_contents([c.id for c in left]))
    if apply and (report.removed or report.forgotten_contents):
        reg.record_event(
            "verify", nbytes=report.freed_bytes, detail={"action": "gc", **report.to_dict()}
        )
    return report


@dataclass
class VerifyReport:
    """Copies checked, and which were missing or corrupt (and, applied, what was done)."""

    checked: int = 0
    ok: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    hashed_bytes: int = 0
    applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(
    registry: Registry | str | None = None,
    store: Store | str | None = None,
    *,
    sample: int | None = None,
    roots: list[str] | None = None,
    apply: bool = False,
    seed: int | None = None,
) -> VerifyReport:
    """Re-hash this host's present copies (under ``roots``, default all; ``sample`` at random)."""
    reg, st = _open(registry, store)
    host = config.hostname()
    copies = [
        k
        for root in (roots or ["/"])
        for k in reg.known_copies_under(host, os.path.realpath(root) if root != "/" else root)
        if k.state == "present" and k.blake3
    ]
    if sample is not None and sample < len(copies):
        copies = random.Random(seed).sample(copies, sample)
    report = VerifyReport(applied=apply)
    for k in copies:
        _check(k, report)
    if apply:
        _apply_verdicts(reg, st, copies, report)
    return report


def _check(k: KnownCopy, report: VerifyReport) -> None:
    report.checked += 1
    try:
        size = os.stat(k.location).st_size
        digest = file_blake3(k.location) if size == k.size else None
    except FileNotFoundError:
        report.missing.append(k.location)
        return
    except OSError:
        report.unreadable.append(k.location)  # not ours to judge: e.g. another user's 0600 file
        return
    report.hashed_bytes += size if digest is not None else 0
    if digest == k.blake3:
        report.ok += 1
    else:
        report.corrupt.append(k.location)


def _apply_verdicts(
    reg: Registry, st: Store, copies: list[KnownCopy], report: VerifyReport
) -> None:
    by_location = {k.location: k for k in copies}
    if report.missing:
        reg.mark_missing([by_location[p].id for p in report.missing])
    for path in report.corrupt:
        moved = st.quarantine(path) if st.contains(path) else None  # never a user's own file
        detail = {"action": "verify"} | ({"quarantined": str(moved)} if moved else {})
        reg.mark_copy(by_location[path].id, "corrupt", detail=detail)
        if moved is not None:
            report.quarantined.append(str(moved))
