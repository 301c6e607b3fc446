"""One dataset's details and one copy: what the sidebar's details view and ``DELETE copies/{id}`` read.

Every copy in any state, every source version, the alias digests and the recent events of one
content, read in one transaction by primary and foreign keys (no search, no report): the listing
and its search live in :mod:`ddas.registry.queries`.
"""

from __future__ import annotations

from sqlalchemy import select

from ddas.records import CopyInfo, DatasetDetail
from ddas.registry.database import RegistryPart
from ddas.registry.models import Content, Copy, Digest, Event, Source
from ddas.registry.rows import copy_info, event_info, source_info


class Details(RegistryPart):
    """One content's details, or one copy; each method opens and closes its own read transaction."""

    def copy(self, copy_id: int) -> CopyInfo | None:
        """One copy by id, any state (None: no such copy, or it was forgotten)."""
        with self._read() as s:
            row = s.get(Copy, copy_id)
            if row is None:
                return None
            b3 = s.scalar(select(Content.blake3).where(Content.id == row.content_id))
            return copy_info(row, b3)

    def dataset(self, content_id: int, *, events: int = 50) -> DatasetDetail | None:
        """One content with every copy (any state), every source version and recent events."""
        with self._read() as s:
            content = s.get(Content, content_id)
            if content is None:
                return None
            copies = [
                copy_info(r, content.blake3)
                for r in s.scalars(
                    select(Copy).where(Copy.content_id == content_id).order_by(Copy.id)
                )
            ]
            sources = [
                source_info(r)
                for r in s.scalars(
                    select(Source)
                    .where(Source.content_id == content_id)
                    .order_by(Source.first_seen)
                )
            ]
            digests = {
                d.algorithm: d.value
                for d in s.scalars(select(Digest).where(Digest.content_id == content_id))
            }
            evts = [
                event_info(r, content.name)
                for r in s.scalars(
                    select(Event)
                    .where(Event.content_id == content_id)
                    .order_by(Event.id.desc())
                    .limit(events)
                )
            ]
            present = [c for c in copies if c.state == "present"]
            return DatasetDetail(
                id=content.id,
                blake3=content.blake3,
                size=content.size,
                name=content.name,
                copy_count=len(present),
                owners=sorted({c.owner for c in present}),
                last_used=content.last_used_at,
                urls=list(dict.fromkeys(x.url for x in sources)),
                digests={"blake3": content.blake3, **digests},
                copy_list=copies,
                sources=sources,
                events=evts,
            )
