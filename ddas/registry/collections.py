"""Collections in the registry: a folder-like dataset is one row per version plus its members.

A collection is identified by its normalized URL (an S3 prefix, an HTTP listing, a glob) and the
BLAKE3 of its sorted member list (relative path and BLAKE3 of each file): the same files under the same
names are the same version wherever and whenever they were fetched, and one changed member makes a new
version (a new row) while the old one stays listed. Members point at contents, so a member file is
stored and counted once however many collections (or single fetches) include it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from blake3 import blake3 as _blake3
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ddas.identity import NormalizedURL
from ddas.records import CollectionDetail, CollectionSummary, MemberInfo, Page
from ddas.registry.database import RegistryPart, as_normalized
from ddas.registry.models import Collection, CollectionMember, Content, Copy
from ddas.registry.rows import collection_detail, collection_summary, member_info

MAX_MEMBERS_SHOWN = 10_000  # a details view lists this many members at most


def collection_digest(members: Sequence[tuple[str, str]]) -> str:
    """BLAKE3 of the sorted ``relative path <TAB> blake3`` lines: the version's identity."""
    lines = "".join(f"{path}\t{b3}\n" for path, b3 in sorted(members))
    return _blake3(lines.encode("utf-8", "surrogateescape")).hexdigest()


def _owners(s: Session, collection_ids: list[int]) -> dict[int, list[str]]:
    """Owners of present copies of each collection's members."""
    out: dict[int, set[str]] = defaultdict(set)
    if collection_ids:
        for cid, owner in s.execute(
            select(CollectionMember.collection_id, Copy.owner)
            .join(Copy, Copy.content_id == CollectionMember.content_id)
            .where(CollectionMember.collection_id.in_(collection_ids), Copy.state == "present")
            .distinct()
        ):
            out[cid].add(owner)
    return {cid: sorted(v) for cid, v in out.items()}


class Collections(RegistryPart):
    """Writes and reads of collections (see the module docstring)."""

    def _upsert_id(
        self,
        session: Session,
        model: type,
        values: Mapping[str, Any],
        keys: list[str],
        update_cols: list[str],
    ) -> int:
        """Insert or update on the natural key; returns the row id in one round trip (a no-op
        update still RETURNs the existing row's id)."""
        stmt = self._insert(model).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={c: getattr(stmt.excluded, c) for c in update_cols}
        ).returning(model.id)
        return int(session.execute(stmt).scalar_one())

    def record_collection(
        self, url: str | NormalizedURL, members: Sequence[tuple[str, str]]
    ) -> CollectionSummary:
        """Register (or touch) the version of ``url`` made of ``members`` ((path, blake3) pairs
        of already registered contents), in one transaction."""
        nurl = as_normalized(url)
        if not members:
            raise ValueError("a collection needs at least one member")
        digest, now = collection_digest(members), time.time()
        with self._write() as s:
            wanted = {b3 for _, b3 in members}
            ids: dict[str, tuple[int, int]] = {}
            for chunk in _chunks(sorted(wanted), 500):
                for cid, b3, size in s.execute(
                    select(Content.id, Content.blake3, Content.size).where(
                        Content.blake3.in_(chunk)
                    )
                ):
                    ids[b3] = (cid, size)
            if wanted - set(ids):
                raise ValueError("every member must be a registered content before its collection")
            values = {
                "url": nurl.url,
                "digest": digest,
                "members": len(members),
                "size": sum(ids[b3][1] for _, b3 in members),
                "created_at": now,
                "last_used_at": now,
            }
            cid = self._upsert_id(s, Collection, values, ["url", "digest"], ["last_used_at"])
            rows = [
                {"collection_id": cid, "path": p, "content_id": ids[b3][0], "size": ids[b3][1]}
                for p, b3 in members
            ]
            for chunk in _chunks(rows, 500):
                stmt = self._insert(CollectionMember).values(list(chunk))
                s.execute(stmt.on_conflict_do_nothing(index_elements=["collection_id", "path"]))
            row = s.get_one(Collection, cid)
            return collection_summary(row, _owners(s, [cid]).get(cid, []))

    def collections(self, q: str = "", *, offset: int = 0, limit: int = 50) -> Page:
        """The newest version of each collection URL (``q``: a substring of the URL), newest
        use first."""
        text = q.replace("\x00", "").strip().lower()
        newest = select(func.max(Collection.id).label("id"), func.count().label("n")).group_by(
            Collection.url
        )
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            newest = newest.where(func.lower(Collection.url).like(pattern + "%", escape="\\"))
        sub = newest.subquery()
        with self._read() as s:
            total = s.scalar(select(func.count()).select_from(sub)) or 0
            rows = s.execute(
                select(Collection, sub.c.n)
                .join(sub, sub.c.id == Collection.id)
                .order_by(Collection.last_used_at.desc(), Collection.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            owners = _owners(s, [r.id for r, _ in rows])
            items = [collection_summary(r, owners.get(r.id, []), int(n)) for r, n in rows]
        return Page(total=int(total), offset=offset, limit=limit, items=items)

    def collection(self, collection_id: int) -> CollectionDetail | None:
        """One collection version with its members (present copies and owners of each)."""
        with self._read() as s:
            row = s.get(Collection, collection_id)
            if row is None:
                return None
            members = s.execute(
                select(CollectionMember, Content.blake3)
                .join(Content, Content.id == CollectionMember.content_id)
                .where(CollectionMember.collection_id == collection_id)
                .order_by(CollectionMember.path)
                .limit(MAX_MEMBERS_SHOWN)
            ).all()
            copies: dict[int, set[str]] = defaultdict(set)
            counts: dict[int, int] = defaultdict(int)
            content_ids = [m.content_id for m, _ in members]
            for chunk in _chunks(content_ids, 500):
                for content_id, owner in s.execute(
                    select(Copy.content_id, Copy.owner).where(
                        Copy.content_id.in_(chunk), Copy.state == "present"
                    )
                ):
                    copies[content_id].add(owner)
                    counts[content_id] += 1
            versions = s.scalars(
                select(Collection).where(Collection.url == row.url).order_by(Collection.id.desc())
            ).all()
            owners = _owners(s, [v.id for v in versions])
            return collection_detail(
                row,
                owners.get(row.id, []),
                [
                    member_info(m, b3, counts[m.content_id], copies[m.content_id])
                    for m, b3 in members
                ],
                [collection_summary(v, owners.get(v.id, []), len(versions)) for v in versions],
            )

    def collections_of_url(self, url: str | NormalizedURL) -> list[CollectionSummary]:
        """Every registered version of the collection at ``url``, newest first."""
        nurl = as_normalized(url)
        with self._read() as s:
            rows = s.scalars(
                select(Collection).where(Collection.url == nurl.url).order_by(Collection.id.desc())
            ).all()
            owners = _owners(s, [r.id for r in rows])
            return [collection_summary(r, owners.get(r.id, []), len(rows)) for r in rows]

    def collections_with_content(self, content_id: int) -> list[CollectionSummary]:
        """The collections a content is a member of (for its details view)."""
        with self._read() as s:
            rows = s.scalars(
                select(Collection)
                .join(CollectionMember, CollectionMember.collection_id == Collection.id)
                .where(CollectionMember.content_id == content_id)
                .order_by(Collection.id.desc())
                .limit(50)
            ).all()
            owners = _owners(s, [r.id for r in rows])
            return [collection_summary(r, owners.get(r.id, [])) for r in rows]

    def collection_members(self, collection_id: int) -> list[tuple[str, str]]:
        """(relative path, blake3) of every member: what a tree of this version must hold."""
        with self._read() as s:
            return [
                (p, b3)
                for p, b3 in s.execute(
                    select(CollectionMember.path, Content.blake3)
                    .join(Content, Content.id == CollectionMember.content_id)
                    .where(CollectionMember.collection_id == collection_id)
                    .order_by(CollectionMember.path)
                )
            ]


def _chunks(items: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


__all__ = [
    "CollectionDetail",
    "CollectionSummary",
    "Collections",
    "MemberInfo",
    "collection_digest",
]
