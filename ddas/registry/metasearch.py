"""Search by what files say and what people wrote: metadata and annotation words.

``datasets?q=temperature`` finds a NetCDF file whose variable ``t2m`` has the long name "2 metre
temperature", and ``q=reanalysis`` one tagged so. Each word of ``q`` is a *prefix* of a stored word
(``temp`` finds ``temperature``), all words must match, and each is answered by a btree range on the
(word, id) primary keys of ``metadata_words`` / ``annotation_words`` (migration 0005) — the same
index-driven shape as :mod:`ddas.registry.search`'s branches, which add these to their union.

Several words are matched from the *rarest* one: its range gives the candidates, and each other word
is an ``EXISTS`` on the (content, word) index for that candidate. An ``INTERSECT`` of the ranges
would read every entry of each: ``reanalysis var042`` read the 250,000 contents with "reanalysis"
to keep the 3,750 that also have ``var042`` (1.6 s at 1M copies). How rare a word is comes from
the first :data:`PROBE` entries of its range (see :func:`rarest_first`).
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    intersect,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from ddas.metadata.describe import words_of
from ddas.registry.models import Annotation, AnnotationWord, Content, MetadataWord, Source

MAX_QUERY_WORDS = 8
SHORT = 3  # words shorter than this must match whole (a prefix "m" would match half the index)
PROBE = 1000  # index entries counted per word to tell the rarest of several words


def query_words(text: str) -> list[str]:
    """The distinct words of a search text (see :func:`ddas.metadata.describe.words_of`)."""
    return list(dict.fromkeys(words_of(text)))[:MAX_QUERY_WORDS]


def _range(column: ColumnElement[str], word: str) -> ColumnElement[bool]:
    """``column`` starts with ``word`` (or equals it, for a short word), as a btree range."""
    if len(word) < SHORT:
        return column == word
    upper = word[:-1] + chr(ord(word[-1]) + 1)
    return and_(column >= word, column < upper)


def _has_word(content_id: ColumnElement[int], word: str) -> ColumnElement[bool]:
    """The content ``content_id`` has a metadata word starting with ``word`` (one index probe)."""
    other = aliased(MetadataWord)
    return (
        select(other.word).where(other.content_id == content_id, _range(other.word, word)).exists()
    )


def rarest_first(conn: Connection | None, words: list[str]) -> list[str]:
    """``words`` ordered by how many contents have them, from the first :data:`PROBE` entries of
    each range: fewer entries is rarer; among words with that many, the one whose PROBE-th entry
    has the larger content id is rarer (its entries are spread thinner over the ids)."""
    if conn is None or len(words) < 2:
        return words
    probes = []
    for k, w in enumerate(words):
        first = (
            select(MetadataWord.content_id)
            .where(_range(MetadataWord.word, w))
            .order_by(MetadataWord.word, MetadataWord.content_id)
            .limit(PROBE)
            .subquery()
        )
        probes.append(select(literal(k), func.count(), func.max(first.c.content_id)))
    # one statement for all words: a URL fragment has up to MAX_QUERY_WORDS of them
    rank = {words[k]: (n, -(last or 0)) for k, n, last in conn.execute(union_all(*probes))}
    return sorted(words, key=rank.__getitem__)


def _metadata_ids(words: list[str]) -> Select:
    """Contents with every word: the first word's range, the others probed per candidate."""
    first, *rest = words
    return (
        select(MetadataWord.content_id)
        .where(
            _range(MetadataWord.word, first), *(_has_word(MetadataWord.content_id, w) for w in rest)
        )
        .distinct()
    )


def _annotation_ids(words: list[str]) -> Select:
    parts = [
        select(AnnotationWord.annotation_id).where(_range(AnnotationWord.word, w)) for w in words
    ]
    return parts[0] if len(parts) == 1 else intersect(*parts)  # type: ignore[return-value]


def word_branches(text: str, conn: Connection | None = None) -> list[Select]:
    """SELECTs of content ids whose metadata, or whose annotation, holds every word of ``text``
    (``conn``: to order several words rarest first)."""
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
    meta = _metadata_ids(rarest_first(conn, words)).subquery()
    return [select(meta.c[0]), by_url, by_content]


def word_predicate(text: str) -> ColumnElement[bool] | None:
    """The same match as :func:`word_branches`, as a filter on one ``contents`` row."""
    words = query_words(text)
    if not words:
        return None
    in_meta = and_(*(_has_word(Content.id, w) for w in words))
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
