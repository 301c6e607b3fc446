"""People's metadata in the registry: tags, description, license and DOI of a dataset.

An annotation is keyed by the dataset's normalized URL, so when the remote publishes a new version
(a new content under the same URL) the annotation still applies; a file that has no URL (found by a
scan) is annotated by its content. Only owners of a present copy and admins may annotate: the rule
lives here so the library and the REST API enforce the same one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from sqlalchemy import delete, select

from ddas.errors import NotAllowedError
from ddas.metadata.describe import words_of
from ddas.records import AnnotationInfo
from ddas.registry.database import RegistryPart
from ddas.registry.models import (
    Annotation,
    AnnotationWord,
    Collection,
    CollectionMember,
    Copy,
    Source,
)
from ddas.registry.rows import annotation_info

FIELDS = ("tags", "description", "license", "doi")


def annotation_words(info: AnnotationInfo) -> list[str]:
    """What a search finds an annotation by: its tags, description and license."""
    texts = [*info.tags, info.description, info.license]
    return sorted({w for text in texts for w in words_of(text)})


class Annotations(RegistryPart):
    """Writes and reads of annotations (see the module docstring)."""

    def _owners_of(self, s, url: str | None, content_id: int | None) -> set[str]:
        contents = (
            select(Source.content_id).where(Source.url == url)
            if url is not None
            else select(Copy.content_id).where(Copy.content_id == content_id)
        )
        owners = set(
            s.scalars(
                select(Copy.owner)
                .where(Copy.content_id.in_(contents), Copy.state == "present")
                .distinct()
            )
        )
        if url is not None and not owners:  # a collection URL: owners of its members
            members = (
                select(CollectionMember.content_id)
                .join(Collection, Collection.id == CollectionMember.collection_id)
                .where(Collection.url == url)
            )
            owners = set(
                s.scalars(
                    select(Copy.owner)
                    .where(Copy.content_id.in_(members), Copy.state == "present")
                    .distinct()
                )
            )
        return owners

    def annotate(
        self,
        *,
        url: str | None = None,
        content_id: int | None = None,
        user: str,
        admin: bool = False,
        tags: Sequence[str] | None = None,
        description: str | None = None,
        license: str | None = None,
        doi: str | None = None,
    ) -> AnnotationInfo:
        """Set the given fields (None: keep) of the annotation of ``url`` (normalized) or of
        ``content_id``; raises :class:`NotAllowedError` unless ``user`` owns a present copy or
        is an ``admin``, and :class:`KeyError` for a URL or content the registry does not know."""
        if (url is None) == (content_id is None):
            raise ValueError("annotate one thing: a URL or a content")
        now = time.time()
        with self._write() as s:
            owners = self._owners_of(s, url, content_id)
            known = bool(owners) or (
                s.scalar(select(Source.id).where(Source.url == url).limit(1)) is not None
                if url is not None
                else s.scalar(select(Copy.id).where(Copy.content_id == content_id).limit(1))
                is not None
            )
            if not known:
                raise KeyError(url if url is not None else content_id)
            if not admin and user not in owners:
                who = ", ".join(sorted(owners)) or "nobody (no present copy)"
                raise NotAllowedError(
                    f"only owners of a copy ({who}) or a DDAS admin may annotate this dataset"
                )
            key = Annotation.url == url if url is not None else Annotation.content_id == content_id
            row = s.scalar(select(Annotation).where(key))
            if row is None:
                row = Annotation(url=url, content_id=content_id, tags="[]", description="")
                row.license, row.doi = "", ""
                s.add(row)
            if tags is not None:
                row.tags = json.dumps(list(dict.fromkeys(tags)))
            for name, value in (("description", description), ("license", license), ("doi", doi)):
                if value is not None:
                    setattr(row, name, value)
            row.updated_by, row.updated_at = user, now
            s.flush()
            info = annotation_info(row)
            s.execute(delete(AnnotationWord).where(AnnotationWord.annotation_id == row.id))
            words = annotation_words(info)
            if words:
                s.execute(
                    self._insert(AnnotationWord).values(
                        [{"word": w, "annotation_id": row.id} for w in words]
                    )
                )
            return info

    def annotations_for_content(self, content_id: int) -> list[AnnotationInfo]:
        """Annotations that apply to a content: those of each of its URLs, and its own."""
        urls = select(Source.url).where(Source.content_id == content_id)
        with self._read() as s:
            rows = s.scalars(
                select(Annotation)
                .where((Annotation.url.in_(urls)) | (Annotation.content_id == content_id))
                .order_by(Annotation.id)
            ).all()
            return [annotation_info(r) for r in rows]

    def annotation_for_url(self, url: str) -> AnnotationInfo | None:
        with self._read() as s:
            row = s.scalar(select(Annotation).where(Annotation.url == url))
            return annotation_info(row) if row is not None else None


__all__ = ["AnnotationInfo", "Annotations", "annotation_words"]
