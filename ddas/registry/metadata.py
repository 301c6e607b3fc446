"""Scientific metadata in the registry: one document per content, its search words, near-duplicates.

The document is stored as JSON (what the details view shows); the words go to ``metadata_words``
(word, content_id) whose primary key leads with the word, so a search for a variable name or a word
of a title is a btree range however many copies there are. "Same data, different files" groups are
contents sharing a metadata signature (see :func:`ddas.metadata.describe.signature`), never mixed
with exact duplicates (same BLAKE3), which :meth:`Reports.duplicates <ddas.registry.reports.Reports.duplicates>` reports.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from ddas.records import MetadataInfo, Page, SameDataGroup
from ddas.registry.database import RegistryPart
from ddas.registry.models import Content, ContentMetadata, Copy, MetadataWord
from ddas.registry.rows import metadata_info

if TYPE_CHECKING:  # pragma: no cover
    from ddas.metadata import Extracted


class Metadata(RegistryPart):
    """Writes and reads of extracted metadata (see the module docstring)."""

    def record_metadata(self, content_id: int, found: Extracted) -> None:
        """Store one content's metadata and words (replacing older ones) in one transaction."""
        values = {
            "content_id": content_id,
            "format": found.format[:32],
            "summary": found.summary,
            "doc": json.dumps(found.doc, default=str),
            "signature": found.signature,
            "extracted_at": time.time(),
            "seconds": found.seconds,
        }
        with self._write() as s:
            if s.get(Content, content_id) is None:
                return  # forgotten meanwhile: a row must never point at nothing
            stmt = self._insert(ContentMetadata).values(**values)
            s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["content_id"],
                    set_={k: getattr(stmt.excluded, k) for k in values if k != "content_id"},
                )
            )
            s.execute(delete(MetadataWord).where(MetadataWord.content_id == content_id))
            words = sorted(set(found.words))
            if words:
                s.execute(
                    self._insert(MetadataWord).values(
                        [{"word": w, "content_id": content_id} for w in words]
                    )
                )

    def has_metadata(self, content_id: int) -> bool:
        with self._read() as s:
            return s.get(ContentMetadata, content_id) is not None

    def metadata(self, content_id: int) -> MetadataInfo | None:
        """The extracted document of a content, or None (not extracted, or not a known format)."""
        with self._read() as s:
            row = s.get(ContentMetadata, content_id)
            return metadata_info(row) if row is not None else None

    def metadata_summaries(self, content_ids: list[int]) -> dict[int, str]:
        """``{content_id: one-line summary}`` for a page of contents (one query)."""
        if not content_ids:
            return {}
        with self._read() as s:
            return dict(
                s.execute(
                    select(ContentMetadata.content_id, ContentMetadata.summary).where(
                        ContentMetadata.content_id.in_(content_ids)
                    )
                ).all()
            )

    def same_data(self, *, offset: int = 0, limit: int = 50) -> Page:
        """Groups of 2+ contents with one metadata signature and present copies: the same data
        in different files (re-compressed, re-chunked, converted). Largest first."""
        has_copy = (
            select(Copy.id)
            .where(Copy.content_id == ContentMetadata.content_id, Copy.state == "present")
            .exists()
        )
        groups = (
            select(ContentMetadata.signature)
            .where(ContentMetadata.signature.is_not(None), has_copy)
            .group_by(ContentMetadata.signature)
            .having(func.count(ContentMetadata.content_id) >= 2)
        )
        with self._read() as s:
            rows = s.execute(
                select(ContentMetadata, Content)
                .join(Content, Content.id == ContentMetadata.content_id)
                .where(ContentMetadata.signature.in_(groups), has_copy)
            ).all()
            owners: dict[int, set[str]] = defaultdict(set)
            for cid, owner in s.execute(
                select(Copy.content_id, Copy.owner)
                .where(Copy.content_id.in_([c.id for _, c in rows]), Copy.state == "present")
                .distinct()
            ):
                owners[cid].add(owner)
        by_sig: dict[str, list[tuple[ContentMetadata, Content]]] = defaultdict(list)
        for meta, content in rows:
            by_sig[meta.signature or ""].append((meta, content))
        out = [
            SameDataGroup(
                signature=sig,
                summary=members[0][0].summary,
                format=members[0][0].format,
                contents=[
                    {
                        "id": c.id,
                        "name": c.name,
                        "blake3": c.blake3,
                        "size": c.size,
                        "owners": sorted(owners[c.id]),
                    }
                    for _, c in sorted(members, key=lambda mc: mc[1].id)
                ],
                bytes=sum(c.size for _, c in members),
            )
            for sig, members in by_sig.items()
        ]
        out.sort(key=lambda g: (-g.bytes, g.signature))
        return Page(total=len(out), offset=offset, limit=limit, items=out[offset : offset + limit])


__all__ = ["Metadata", "MetadataInfo", "SameDataGroup"]
