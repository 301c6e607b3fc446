"""What a scan found: files, duplicate groups, wasted bytes, errors - as pandas DataFrames.

The report keeps plain tuples and builds DataFrames only when asked (``report.files``), so the CLI's
``--json`` summary never imports pandas. *Wasted bytes* follow the registry's definition: a content
with ``n`` copies on distinct inodes wastes ``size * (n - 1)``; hard links are one copy. To say
*where* the waste is, each group keeps its oldest copy as the original and marks the others
``redundant`` - those are the rows summed by :meth:`ScanReport.wasted_by`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from ddas.scanning.walk import ScanError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ddas.scanning.plan import Plan


class FileRecord(NamedTuple):
    path: str
    root: str
    size: int
    mtime_ns: int | None
    device: int | None
    inode: int | None
    owner: str
    etag: str | None
    status: str
    blake3: str | None
    ident: tuple


@dataclass
class ScanReport:
    """The outcome of :func:`ddas.scan`; ``summary()`` for numbers, DataFrames for detail."""

    roots: list[str]
    plan: Plan = field(repr=False)
    error_list: list[ScanError] = field(default_factory=list)
    hashed_bytes: int = 0
    registered: int = 0
    missing: int = 0
    skipped_symlinks: int = 0
    outside_roots: int = 0  #: followed links (or roots) resolving outside the scan's roots
    workers: dict[str, dict[str, int]] = field(default_factory=dict)  #: cluster scans: per worker
    seconds: float = 0.0
    owner_of: Callable[[int | None], str] = field(default=str, repr=False)

    @classmethod
    def build(
        cls, *, roots: list[str], plan: Plan, errors: list[ScanError], **kw: Any
    ) -> ScanReport:
        return cls(roots=roots, plan=plan, error_list=list(errors), **kw)

    @cached_property
    def _tally(self) -> tuple[int, int, int, int]:
        """(paths, bytes with hard links once, hashed paths, hard-linked paths) of the identities
        not lost to an error: one pass, once (summaries are asked for several times)."""
        plan = self.plan
        entries, blake3, failed = plan.entries, plan.blake3, plan.failed
        files = nbytes = hashed = linked = 0
        for ident, paths in plan.paths.items():
            if ident in failed:
                continue
            n = 1 if paths.__class__ is int else len(paths)  # type: ignore[arg-type]
            files += n
            nbytes += entries[paths if n == 1 else paths[0]].size  # type: ignore[index]
            if ident in blake3:
                hashed += n
            if n > 1:
                linked += n
        return files, nbytes, hashed, linked

    @cached_property
    def records(self) -> list[FileRecord]:
        """One record per path (hard links: one per link), in walk order."""
        plan, owner_of, roots = self.plan, self.owner_of, self.roots
        ordered = sorted(roots, key=len, reverse=True)
        records = []
        for entry, status in zip(plan.entries, plan.status, strict=True):
            ident = entry.ident
            if ident in plan.failed:
                continue
            root = roots[0]
            if len(roots) > 1:
                root = next((r for r in ordered if entry.location.startswith(r)), root)
            records.append(
                FileRecord(
                    entry.location,
                    root,
                    entry.size,
                    entry.mtime_ns,
                    entry.device,
                    entry.inode,
                    owner_of(entry.uid),
                    entry.etag,
                    status,
                    plan.blake3.get(ident),
                    ident,
                )
            )
        return records

    @cached_property
    def _by_hash(self) -> dict[str, list[tuple]]:
        """Contents with two or more identities not lost to an error (what a summary counts).

        Copies of a content have its size, so each size group is sorted out on its own: no
        dictionary of every content hash at once (a million files: 40 MB at a scan's end)."""
        by_hash: dict[str, list[tuple]] = {}
        blake3, failed = self.plan.blake3, self.plan.failed
        for idents in self.plan.by_size.values():  # each identity is in one size group
            if len(idents) < 2:
                continue
            first: dict[str, tuple] = {}  # no list per content: most have one identity
            for ident in idents:
                b3 = blake3.get(ident)
                if b3 is None or ident in failed:
                    continue
                other = first.setdefault(b3, ident)
                if other is not ident:
                    members = by_hash.get(b3)
                    if members is None:
                        by_hash[b3] = [other, ident]
                    else:
                        members.append(ident)
        return by_hash

    @cached_property
    def _groups(self) -> list[dict[str, Any]]:
        return _groups(self.plan, self._by_hash)

    # -- numbers (no pandas) ----------------------------------------------------------------------

    def summary(self) -> dict[str, int]:
        """``files`` (paths), ``bytes`` (hard links once), ``hashed_bytes`` (read to hash),
        ``duplicate_groups`` and ``wasted_bytes`` (of the contents found under the roots)."""
        rep = self.plan.rep
        files, nbytes, _, _ = self._tally
        return {
            "files": files,
            "bytes": nbytes,
            "hashed_bytes": self.hashed_bytes,
            "duplicate_groups": len(self._by_hash),
            "wasted_bytes": sum(rep[m[0]].size * (len(m) - 1) for m in self._by_hash.values()),
        }

    def counts(self) -> dict[str, Any]:
        """Everything else worth a log line: statuses, registrations, errors, time."""
        plan = self.plan
        status: dict[str, int] = defaultdict(int)
        for st in plan.status:
            status[st] += 1
        for ident in plan.failed:
            for i in plan.indexes(ident):
                status[plan.status[i]] -= 1
        return {
            "new": status["new"],
            "changed": status["changed"],
            "unchanged": status["unchanged"],
            "hashed_files": self._tally[2],
            "linked": self._tally[3],
            "described_hashed": len(plan.described - plan.failed),
            "describe_left": plan.describe_left,
            "registered": self.registered,
            "missing": self.missing,
            "errors": len(self.error_list),
            "skipped_symlinks": self.skipped_symlinks,
            "outside_roots": self.outside_roots,
            "seconds": round(self.seconds, 3),
        }

    def groups(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Duplicate groups, most wasteful first: blake3, size, copy_count, wasted_bytes, paths."""
        return [dict(g) for g in self._groups[:limit]]

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<ScanReport {s['files']} files, {s['duplicate_groups']} duplicate groups, "
            f"{s['wasted_bytes']} wasted bytes, {len(self.error_list)} errors>"
        )

    # -- DataFrames ----------------------------------------------------------------------------------

    @cached_property
    def files(self) -> pd.DataFrame:
        """One row per path: where, whose, how big, its hash (if read), status, duplicate group."""
        import pandas as pd

        from ddas.registry.rows import file_type

        group_of: dict[str, int] = {g["blake3"]: i for i, g in enumerate(self._groups)}
        redundant = {p for g in self._groups for p in g["redundant"]}
        per_ident: dict[tuple, int] = defaultdict(int)
        for r in self.records:
            per_ident[r.ident] += 1
        rows = []
        for r in self.records:
            rel = os.path.relpath(r.path, r.root) if "://" not in r.path else r.path[len(r.root) :]
            rel = rel.lstrip("/")
            name = r.path.rsplit("/", 1)[-1]
            rows.append(
                {
                    "path": r.path,
                    "root": r.root,
                    "folder": r.path.rsplit("/", 1)[0],
                    "top": rel.split("/", 1)[0] if "/" in rel else ".",
                    "name": name,
                    "ext": file_type(name) or "(none)",
                    "size": r.size,
                    "owner": r.owner,
                    "mtime": pd.Timestamp(r.mtime_ns, unit="ns", tz="UTC")
                    if r.mtime_ns
                    else pd.NaT,
                    "device": r.device,
                    "inode": r.inode,
                    "etag": r.etag,
                    "status": r.status,
                    "blake3": r.blake3,
                    "linked": per_ident[r.ident] > 1,
                    "group": group_of.get(r.blake3, -1) if r.blake3 else -1,
                    "redundant": r.path in redundant,
                }
            )
        columns = [
            "path",
            "root",
            "folder",
            "top",
            "name",
            "ext",
            "size",
            "owner",
            "mtime",
            "device",
            "inode",
            "etag",
            "status",
            "blake3",
            "linked",
            "group",
            "redundant",
        ]
        return pd.DataFrame(rows, columns=columns)

    @cached_property
    def duplicates(self) -> pd.DataFrame:
        """One row per duplicate group (a content on two or more inodes), most waste first."""
        import pandas as pd

        rows = [
            {
                "group": i,
                "blake3": g["blake3"],
                "size": g["size"],
                "copy_count": g["copy_count"],
                "wasted_bytes": g["wasted_bytes"],
                "name": g["paths"][0].rsplit("/", 1)[-1],
                "paths": g["paths"],
            }
            for i, g in enumerate(self._groups)
        ]
        columns = ["group", "blake3", "size", "copy_count", "wasted_bytes", "name", "paths"]
        return pd.DataFrame(rows, columns=columns)

    @cached_property
    def errors(self) -> pd.DataFrame:
        """What could not be scanned and why (unreadable, broken-symlink, special-file...)."""
        import pandas as pd

        return pd.DataFrame(
            [e._asdict() for e in self.error_list], columns=["path", "kind", "message"]
        )

    def wasted_by(self, by: str = "folder") -> pd.DataFrame:
        """Wasted bytes per ``folder``, ``top`` (first level under the root), ``owner`` or ``ext``."""
        files = self.files
        if by not in files.columns:
            raise ValueError(f"by must be one of folder, top, owner, ext; not {by!r}")
        extra = files[files["redundant"]]
        table = extra.groupby(by, as_index=False).agg(
            wasted_bytes=("size", "sum"), files=("path", "count")
        )
        return table.sort_values(["wasted_bytes", by], ascending=[False, True], ignore_index=True)

    def _repr_html_(self) -> str:
        import pandas as pd

        table = pd.DataFrame([self.summary() | {"errors": len(self.error_list)}])
        return f"<b>ddas scan</b> of {', '.join(self.roots)}" + table.to_html(index=False)


def _groups(plan: Plan, by_hash: dict[str, list[tuple]]) -> list[dict[str, Any]]:
    """Each duplicate content with its paths; the oldest identity is the original."""
    entries, indexes, rep = plan.entries, plan.indexes, plan.rep
    groups = []
    for b3, members in by_hash.items():
        members = sorted(members, key=lambda i: (rep[i].mtime_ns or 0, rep[i].location))
        size = rep[members[0]].size
        groups.append(
            {
                "blake3": b3,
                "size": size,
                "copy_count": len(members),
                "wasted_bytes": size * (len(members) - 1),
                "paths": sorted(entries[k].location for i in members for k in indexes(i)),
                "redundant": [rep[i].location for i in members[1:]],
            }
        )
    groups.sort(key=lambda g: (-g["wasted_bytes"], g["paths"][0]))
    return groups
