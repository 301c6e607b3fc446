"""Search by what files say and what people wrote: metadata and annotation words.

``datasets?q=temperature`` finds a NetCDF file whose variable ``t2m`` has the long name "2 metre
temperature", and ``q=reanalysis`` one tagged so. Each word of ``q`` is a *prefix* of a stored word
(``temp`` finds ``temperature``), all words must match, and each is answered by a btree range on the
(word, id) primary keys of ``metadata_words`` / ``annotation_words`` (migration 0005) — the same
index-driven shape as :mod:`ddas.registry.search`'s branches, which add these to their union.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, intersect, or_, select

from ddas.metadata.describe import words_of
from ddas.registry.models import Annotation, AnnotationWord, Content, MetadataWord, Source

MAX_QUERY_WORDS = 8
SHORT = 3  # words shorter than this must match whole (a prefix "m" would match half the index)


def query_words(text: str) -> list[str]:
    """The distinct words of a search text (see :func:`ddas.metadata.describe.words_of`)."""
    return list(dict.fromkeys(words_of(text)))[:MAX_QUERY_WORDS]


def _range(column: ColumnElement[str], word: str) -> ColumnElement[bool]:
    """``column`` starts with ``word`` (or equals it, for a short word), as a btree range."""
    if len(word) < SHORT:
        return column == word
    upper = word[:-1] + chr(ord(word[-1]) + 1)
    return and_(column >= word, column < upper)


def _metadata_ids(words: list[str]) -> Select:
    parts = [select(MetadataWord.content_id).where(_range(MetadataWord.word, w)) for w in words]
    return parts[0] if len(parts) == 1 else intersect(*parts)  # type: ignore[return-value]


def _annotation_ids(words: list[str]) -> Select:
    parts = [
        select(AnnotationWord.annotation_id).where(_range(AnnotationWord.word, w)) for w in words
    ]
    return parts[0] if len(parts) == 1 else intersect(*parts)  # type: ignore[return-value]


def word_branches(text: str) -> list[Select]:
    """SELECTs of content ids whose metadata, or whose annotation, holds every word of ``text``."""
    words = query_words(text)
    if not words:
        return []
    annotated = _annotation_ids(words).subquery()
    by_url = (
        select(Source.content_id)
        .join(Annotation, Annotation.url == Source.url)
        .where(Annotation.id.in_(select(annotated)), Source.content_id.is_not(None))
        .distinct()
    )
    by_content = select(Annotation.content_id).where(
        Annotation.id.in_(select(annotated)), Annotation.content_id.is_not(None)
    )
    meta = _metadata_ids(words).subquery()
    return [select(meta.c[0]), by_url, by_content]


def word_predicate(text: str) -> ColumnElement[bool] | None:
    """The same match as :func:`word_branches`, as a filter on one ``contents`` row."""
    words = query_words(text)
    if not words:
        return None
    in_meta = and_(
        *(
            select(MetadataWord.word)
            .where(MetadataWord.content_id == Content.id, _range(MetadataWord.word, w))
            .exists()
            for w in words
        )
    )
    annotated = _annotation_ids(words)
    in_note = or_(
        select(Annotation.id)
        .join(Source, Source.url == Annotation.url)
        .where(Source.content_id == Content.id, Annotation.id.in_(annotated))
        .exists(),
        select(Annotation.id)
        .where(Annotation.content_id == Content.id, Annotation.id.in_(annotated))
        .exists(),
    )
    return or_(in_meta, in_note)
