"""Search by what files say and what people wrote: metadata and annotation words.

``datasets?q=temperature`` finds a NetCDF file whose variable ``t2m`` has the long name "2 metre
temperature", and ``q=reanalysis`` one tagged so. Each word of ``q`` is a *prefix* of a stored word
(``temp`` finds ``temperature``), all words must match, and each is answered by a btree range on the
(word, id) primary keys of ``metadata_words`` / ``annotation_words`` (migration 0005) — the same
index-driven shape as :mod:`ddas.registry.search`'s branches, which add these to their union.

Several words are matched from the *rarest* one: its range gives the candidates, and each other word
is an ``EXISTS`` on the (content, word) index for that candidate. An ``INTERSECT`` of the ranges
would read every entry of each: ``reanalysis var042`` read the 250,000 contents with "reanalysis"
to keep the 3,750 that also have ``var042``. How rare a word is comes from the first :data:`PROBE`
entries of its range (see :func:`rarest_first`).

Statements are built once per *shape* and hold bound parameters only: a shape is which words are
short (matched whole) in the order they are asked (:func:`shape_of`), and a word's bounds are the
parameters ``<prefix><i>_lo`` / ``_hi`` (:func:`word_params`). Building and compiling a statement
costs far more CPU than running it, so a search for other words of the same shape reuses both.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
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
#: Which words of a search are short (matched whole), in the order they are asked.
Shape = tuple[bool, ...]


def query_words(text: str) -> list[str]:
    """The distinct words of a search text (see :func:`ddas.metadata.describe.words_of`)."""
    return list(dict.fromkeys(words_of(text)))[:MAX_QUERY_WORDS]


def by_shape(words: list[str]) -> list[str]:
    """``words`` with the long ones first, then the short ones, each in the order given: all
    words must match whatever their order, and texts whose words differ only in where their
    short ones are then share one shape (one statement to build and compile)."""
    return sorted(words, key=lambda w: len(w) < SHORT)


class Words(NamedTuple):
    """The words of a search text as its statements ask them (see :func:`ordered_words`)."""

    meta: list[str]  # the metadata branch's: the rarest first ([]: some word is in none)
    words: list[str]  # the other statements': long ones first (:func:`by_shape`)
    noted: bool  # an annotation may hold them all (each word is in some annotation)
    #: how many of its first PROBE entries the rarest word has, and the largest content id among
    #: them: the share of contents a match can have at most (None: not probed, one word)
    reach: tuple[int, int] | None


def ordered_words(conn: Connection | None, text: str) -> Words:
    """The words of ``text`` as the metadata branch asks them (the rarest first: its range
    gives the candidates; then :func:`by_shape`; [] when some word is in no metadata, so that
    the branch, several semi-joins for a URL fragment's words, is not even planned), as the
    other word statements ask them, and what the probe of :func:`rarest_first` found."""
    words = by_shape(query_words(text))
    rarest, missing, noted, reach = rarest_first(conn, words)
    if missing:  # some word is in no content's metadata: the branch would find nothing
        return Words([], words, noted, reach)
    return Words(rarest[:1] + by_shape(rarest[1:]), words, noted, reach)


def shape_of(words: list[str]) -> Shape:
    """The statement shape of these words: which of them match whole."""
    return tuple(len(w) < SHORT for w in words)


def word_params(prefix: str, words: list[str]) -> dict[str, str]:
    """The bound values of :func:`_range` for ``words`` under ``prefix``: a word ``w`` at ``i`` is
    ``<prefix><i>_lo = w`` and, unless short, ``<prefix><i>_hi`` = ``w`` with its last character
    incremented (every string starting with ``w`` sorts in ``[lo, hi)``)."""
    out = {}
    for i, word in enumerate(words):
        out[f"{prefix}{i}_lo"] = word
        if len(word) >= SHORT:
            out[f"{prefix}{i}_hi"] = word[:-1] + chr(ord(word[-1]) + 1)
    return out


def _range(column: ColumnElement[str], name: str, short: bool) -> ColumnElement[bool]:
    """``column`` starts with word ``name`` (or equals it, when short), as a btree range."""
    if short:
        return column == bindparam(f"{name}_lo")
    return and_(column >= bindparam(f"{name}_lo"), column < bindparam(f"{name}_hi"))


def _has_word(content_id: ColumnElement[int], name: str, short: bool) -> ColumnElement[bool]:
    """The content ``content_id`` has a metadata word starting with word ``name`` (one probe)."""
    other = aliased(MetadataWord)
    return (
        select(other.word)
        .where(other.content_id == content_id, _range(other.word, name, short))
        .exists()
    )


@lru_cache(maxsize=64)
def _probes(shape: Shape) -> Select:
    """One statement counting the first PROBE entries of each word's range (``r<k>``), and
    whether any annotation holds each word (as ``k + MAX_QUERY_WORDS``)."""
    probes = []
    for k, short in enumerate(shape):
        first = (
            select(MetadataWord.content_id)
            .where(_range(MetadataWord.word, f"r{k}", short))
            .order_by(MetadataWord.word, MetadataWord.content_id)
            .limit(bindparam("probe", type_=Integer))
            .subquery()
        )
        probes.append(select(literal(k), func.count(), func.max(first.c.content_id)))
        noted = (
            select(AnnotationWord.annotation_id)
            .where(_range(AnnotationWord.word, f"r{k}", short))
            .limit(1)
            .subquery()
        )
        probes.append(
            select(literal(k + MAX_QUERY_WORDS), func.count(), literal(0)).select_from(noted)
        )
    return union_all(*probes)  # type: ignore[return-value]


def rarest_first(
    conn: Connection | None, words: list[str]
) -> tuple[list[str], bool, bool, tuple[int, int] | None]:
    """``words`` ordered by how many contents have them, from the first :data:`PROBE` entries of
    each range: fewer entries is rarer; among words with that many, the one whose PROBE-th entry
    has the larger content id is rarer (its entries are spread thinner over the ids). Whether
    some word has no entry at all (then no content has every word: a URL fragment's ``data23``),
    whether every word is in some annotation (else no annotation holds them all), and the
    rarest word's (entries, largest id) of its probe (see :class:`Words`)."""
    if conn is None or len(words) < 2:
        return words, False, True, None
    # one statement for all words: a URL fragment has up to MAX_QUERY_WORDS of them
    params = {"probe": PROBE, **word_params("r", words)}
    rows = conn.execute(_probes(shape_of(words)), params).all()
    rank = {words[k]: (n, -(last or 0)) for k, n, last in rows if k < MAX_QUERY_WORDS}
    noted = all(n for k, n, _ in rows if k >= MAX_QUERY_WORDS)
    ordered = sorted(words, key=rank.__getitem__)
    n, last = rank[ordered[0]]
    return ordered, n == 0, noted, (n, -last)


def _metadata_ids(shape: Shape, distinct: bool) -> Select:
    """Contents with every word (``m<i>``): the first word's range, the others probed per
    candidate (``distinct``: each content once)."""
    first, *rest = shape
    probes = (_has_word(MetadataWord.content_id, f"m{i}", s) for i, s in enumerate(rest, 1))
    found = select(MetadataWord.content_id).where(_range(MetadataWord.word, "m0", first), *probes)
    return found.distinct() if distinct else found


def _annotation_ids(shape: Shape) -> Select:
    """Annotations with every word (``a<i>``)."""
    parts = [
        select(AnnotationWord.annotation_id).where(_range(AnnotationWord.word, f"a{i}", s))
        for i, s in enumerate(shape)
    ]
    return parts[0] if len(parts) == 1 else intersect(*parts)  # type: ignore[return-value]


def note_branches(notes: Shape, distinct: bool = True) -> list[Select]:
    """SELECTs of content ids one of whose URLs, or which itself, has an annotation holding
    every word (``a<i>`` of shape ``notes``); [] for no words. ``distinct`` False: an id may
    come more than once (in a UNION, or where duplicates are dealt with after)."""
    if not notes:
        return []
    annotated = _annotation_ids(notes).subquery()
    by_url = (
        select(Source.content_id)
        .join(Annotation, Annotation.url == Source.url)
        .where(Annotation.id.in_(select(annotated)), Source.content_id.is_not(None))
    )
    by_url = by_url.distinct() if distinct else by_url
    by_content = select(Annotation.content_id).where(
        Annotation.id.in_(select(annotated)), Annotation.content_id.is_not(None)
    )
    return [by_url, by_content]


def meta_branch(meta: Shape, distinct: bool = True) -> list[Select]:
    """The SELECT of content ids whose metadata holds every word (``m<i>`` of shape ``meta``,
    rarest first); [] when ``meta`` is empty (no words, or one no metadata has)."""
    if not meta:
        return []
    found = _metadata_ids(meta, distinct).subquery()
    return [select(found.c[0])]


def meta_predicate(notes: Shape) -> ColumnElement[bool] | None:
    """The metadata branch (:func:`meta_branch`) as a filter on one ``contents`` row: its
    metadata holds every word (``a<i>``, in the query's order); None for no words."""
    if not notes:
        return None
    return and_(*(_has_word(Content.id, f"a{i}", s) for i, s in enumerate(notes)))


def note_predicate(notes: Shape) -> ColumnElement[bool] | None:
    """The annotation branches (:func:`note_branches`) as a filter on one ``contents`` row: an
    annotation of one of its URLs, or of the content itself, holds every word (``a<i>``)."""
    if not notes:
        return None
    annotated = _annotation_ids(notes)
    return or_(
        select(Annotation.id)
        .join(Source, Source.url == Annotation.url)
        .where(Source.content_id == Content.id, Annotation.id.in_(annotated))
        .exists(),
        select(Annotation.id)
        .where(Annotation.content_id == Content.id, Annotation.id.in_(annotated))
        .exists(),
    )
