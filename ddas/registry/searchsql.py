"""The statements of a search, built once per shape, with every value of the search text bound.

:mod:`ddas.registry.search` decides *how* a text is matched — which branches, how many trigrams
each asks for, which words are short — and that decision is a hashable :data:`Key`; the values
(the text, its LIKE pattern, the FTS query, the trigrams, the words' bounds) are bound parameters
whose names this module fixes:

=================  =========================================================================
``q_text``         the lower-cased text (alias digests, ``strpos``)
``q_like``         ``%text%``, its wildcards escaped
``names_match``    SQLite: the FTS5 query narrowing ``contents`` (``urls_match``: ``sources``)
``names_g<i>``     PostgreSQL: ``%unit%`` of a rare trigram of the text (``urls_g<i>``)
``b3_lo/b3_hi``    the BLAKE3 range of a hex text
``m<i>_lo/_hi``    the words of the text, rarest first (metadata branch)
``a<i>_lo/_hi``    the words of the text, in order (annotations, and the row predicate)
``cap``            the LIMIT each branch is asked with
=================  =========================================================================

Building a SELECT (``select()``, ``aliased``, ``exists``) and compiling it costs 10-30 ms of CPU
for a search at a million copies, several times what the database spends; the statement objects
here are built once per key (``lru_cache``) and SQLAlchemy compiles each one once, so a search
for other words of a known shape costs only the execution.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import CompoundSelect, Executable
from sqlalchemy.sql.functions import FunctionElement

from ddas.registry.metasearch import (
    Shape,
    meta_branch,
    meta_predicate,
    note_branches,
    note_predicate,
)
from ddas.registry.models import Content, Digest, Source

#: How a names or URLs branch is asked: "fts" (SQLite FTS5 candidates), "like" (pg_trgm's own
#: plan, or a scan), the number of rare trigrams (PostgreSQL), or None (no row can match).
Narrowing = str | int | None
#: A BLAKE3 prefix range: None (not hex), "lo" (no upper bound: all "f"), "lohi".
Prefix = str | None


class Key(NamedTuple):
    """The shape of a text's match: how each branch is asked, and which may find rows at all.

    ``alias`` and ``notes`` are False, ``names``/``urls``/``prefix`` None and ``meta`` empty
    where the branch is known to find nothing (:func:`ddas.registry.search.ids_upto` asked it),
    so that neither the union nor the row predicate pays for it: a metadata word's row test
    is one index probe instead of six (the name's LIKE, a URL, an alias, two annotations).
    """

    names: Narrowing
    urls: Narrowing
    prefix: Prefix
    meta: Shape  # metadata words, rarest first
    words: Shape  # the words in the query's order (annotations, the row predicate)
    alias: bool = True
    notes: bool = True


class RowKey(NamedTuple):
    """What a row predicate depends on: the BLAKE3 prefix, the words in order, and which arms
    may match (a name, a URL, an alias digest, the metadata, an annotation)."""

    prefix: Prefix
    words: Shape
    names: bool = True
    urls: bool = True
    alias: bool = True
    meta: bool = True
    notes: bool = True


CACHED_SHAPES = 512  # a few dozen in practice; the bound keeps odd texts from growing it forever


@lru_cache(maxsize=4 * CACHED_SHAPES)
def _bind_names(statement: Executable) -> frozenset[str]:
    return frozenset(statement.compile().params)


def bound(statement: Executable, params: dict[str, Any]) -> dict[str, Any]:
    """The values of ``params`` that ``statement`` binds, and no others: SQLAlchemy keys its
    compiled cache on the *names* of the parameters passed too, so passing a search's other
    values would compile the statement again for every set of names."""
    names = _bind_names(statement)
    return {k: v for k, v in params.items() if k in names}


def _like(col: ColumnElement[str], name: str = "q_like") -> ColumnElement[bool]:
    return func.lower(col).like(bindparam(name), escape="\\")


class _Holds(FunctionElement[bool]):
    """``lower(col)`` contains the bound ``q_text``, as no index can answer it.

    The row predicate's URL test is a correlated EXISTS; written as ``LIKE``, PostgreSQL may
    instead run it once for the whole table through the pg_trgm index and hash the result (at
    1M copies, 46 ms of a 51 ms sample of 200 rows: every trigram of a long URL fragment read),
    where probing each row's few URLs by content id costs microseconds. ``strpos``/``instr``
    answer the same as ``LIKE '%text%'`` with its wildcards escaped.
    """

    type = Boolean()
    inherit_cache = True
    name = "ddas_holds"


@compiles(_Holds)
def _holds_sqlite(element: _Holds, compiler: Any, **kw: Any) -> str:
    return f"(instr({compiler.process(element.clauses, **kw)}) > 0)"


@compiles(_Holds, "postgresql")
def _holds_postgresql(element: _Holds, compiler: Any, **kw: Any) -> str:
    return f"(strpos({compiler.process(element.clauses, **kw)}) > 0)"


def _holds(col: ColumnElement[str]) -> ColumnElement[bool]:
    return _Holds(func.lower(col), bindparam("q_text"))


def _prefix(prefix: Prefix) -> list[ColumnElement[bool]]:
    """Conditions selecting contents whose BLAKE3 starts with ``b3_lo`` (below ``b3_hi``)."""
    if prefix is None:
        return []
    low = [Content.blake3 >= bindparam("b3_lo")]
    return low + ([Content.blake3 < bindparam("b3_hi")] if prefix == "lohi" else [])


def _fts(fts: str, match: str, key: ColumnElement[int], rows: ColumnElement[int]) -> Select:
    """``key`` of the rows whose id the FTS5 query ``match`` finds, as a join from the index.

    Not ``id IN (SELECT rowid ... MATCH)``: SQLite builds that list whole before the LIMIT of
    :func:`limited` applies (all 50,000 rows of a topic, 10 ms); the join stops at the LIMIT.
    Each rowid appears once in an FTS5 result, so the join adds no row.
    """
    index = table(fts, column("rowid"))
    found = literal_column(fts).op("MATCH")(bindparam(match))
    return select(key).select_from(index).join(rows.table, rows == index.c.rowid).where(found)


def _narrowed(col: ColumnElement[str], key: ColumnElement[int], name: str, grams: int) -> Select:
    """PostgreSQL: ``key`` of the rows whose ``col`` contains the text, found by its rarest
    trigrams ``<name>_g<i>`` and re-checked by ``strpos`` (see ``search._pg_narrowed``)."""
    narrow = [_like(col, f"{name}_g{i}") for i in range(grams)]
    # ``key + 0``: a DISTINCT over the bare key lets the planner walk key's btree in order and
    # filter every row (0.5 s at 1M rows) when it overestimates the matches; this keeps the
    # trigram index in charge.
    recheck = func.strpos(func.lower(col), bindparam("q_text")) > 0
    return select((key + 0).label(key.key)).where(*narrow, recheck)


def _names(how: Narrowing) -> list[Select]:
    if how is None:
        return []
    if how == "fts":
        fts = _fts("contents_fts", "names_match", Content.id, Content.id)
        return [fts.where(_like(Content.name))]
    if how == "like":
        return [select(Content.id).where(_like(Content.name))]
    return [_narrowed(Content.name, Content.id, "names", int(how))]


def _urls(how: Narrowing) -> list[Select]:
    if how is None:
        return []
    if how == "fts":
        fts = _fts("sources_fts", "urls_match", Source.content_id, Source.id)
        return [fts.where(_like(Source.url))]
    if how == "like":
        return [select(Source.content_id).where(_like(Source.url))]
    return [_narrowed(Source.url, Source.content_id, "urls", int(how))]


@lru_cache(maxsize=CACHED_SHAPES)
def _kinded(key: Key, distinct: bool) -> tuple[tuple[str, Select], ...]:
    """Each branch of :func:`parts` with the way it matches: ``alias``, ``names``, ``urls``,
    ``prefix``, ``notes`` (two branches) or ``meta``. The metadata branch comes last: a metadata
    word is often broad, and the branches asked before the first broad one are the ones known
    empty (see ``search.ids_upto``)."""
    out = [("alias", select(Digest.content_id).where(Digest.value == bindparam("q_text")))]
    out = out if key.alias else []
    out += [("names", n) for n in _names(key.names)]
    out += [("urls", u.distinct() if distinct else u) for u in _urls(key.urls)]
    if key.prefix is not None:
        out.append(("prefix", select(Content.id).where(*_prefix(key.prefix))))
    out += [("notes", n) for n in (note_branches(key.words, distinct) if key.notes else [])]
    return (*out, *(("meta", m) for m in meta_branch(key.meta, distinct)))


@lru_cache(maxsize=CACHED_SHAPES)
def parts(key: Key, distinct: bool = True) -> tuple[Select, ...]:
    """One index-driven SELECT of content ids per way a text of this shape can match
    (``distinct`` False: an id may come more than once, as a content's URLs or words do), in
    the order of :func:`kinds`."""
    return tuple(branch for _, branch in _kinded(key, distinct))


def kinds(key: Key) -> tuple[str, ...]:
    """Which way each of :func:`parts` matches (see :func:`_kinded`)."""
    return tuple(kind for kind, _ in _kinded(key, True))


def without(key: Key, empty: set[str]) -> Key:
    """``key`` without the kinds of branch found ``empty`` (see :class:`Key`)."""
    return key._replace(
        names=None if "names" in empty else key.names,
        urls=None if "urls" in empty else key.urls,
        prefix=None if "prefix" in empty else key.prefix,
        meta=() if "meta" in empty else key.meta,
        alias=key.alias and "alias" not in empty,
        notes=key.notes and "notes" not in empty,
    )


def row_key(key: Key) -> RowKey:
    """The shape of :func:`row_predicate` for the match of shape ``key``."""
    return RowKey(
        key.prefix,
        key.words,
        key.names is not None,
        key.urls is not None,
        key.alias,
        bool(key.meta),
        key.notes,
    )


@lru_cache(maxsize=CACHED_SHAPES)
def limited(key: Key, distinct: bool = True) -> tuple[Select, ...]:
    """:func:`parts`, each asked for at most ``cap`` rows."""
    return tuple(p.limit(bindparam("cap", type_=Integer)) for p in parts(key, distinct))


@lru_cache(maxsize=CACHED_SHAPES)
def union_of(key: Key) -> CompoundSelect:
    """All the content ids the branches find, each once: the UNION removes duplicates, so its
    branches need not (a DISTINCT each cost PostgreSQL a hash of every id first)."""
    return union(*parts(key, distinct=False))


#: Index probes a row test of every arm makes for a one-word text: the name's LIKE, a URL, an
#: alias, the metadata word and two annotations (the cost ``queries.ROW_COST`` was measured at).
FULL_PROBES = 6


def probes(key: RowKey) -> int:
    """Index probes (or LIKE tests) :func:`row_predicate` makes per row, at most: what testing
    a row costs, relative to :data:`FULL_PROBES`."""
    words = len(key.words)
    live = (key.names, key.urls, key.alias, key.prefix is not None)
    return max(1, sum(live) + (words if key.meta else 0) + (2 if key.notes and words else 0))


def words_only(key: RowKey) -> bool:
    """Whether the row predicate tests no name or URL (only words, an alias, a prefix): one that
    PostgreSQL plans well over a subquery of the rows (see ``pagesql.window_hits``)."""
    return not (key.names or key.urls)


@lru_cache(maxsize=CACHED_SHAPES)
def row_predicate(key: RowKey) -> ColumnElement[bool]:
    """The same match as :func:`parts`, as a filter on one ``contents`` row: only the arms
    that may match (see :class:`RowKey`).

    For a text that matches a large share of all datasets ("era5", ".nc"), testing rows in the
    page's sort order until the page is full reads a few thousand rows, where building the whole
    match set reads every match (see ``Datasets._window_page`` in :mod:`ddas.registry.queries`).
    """
    arms = [_like(Content.name)] if key.names else []
    if key.urls:
        in_url = select(Source.id).where(Source.content_id == Content.id, _holds(Source.url))
        arms.append(in_url.exists())
    if key.alias:
        alias = select(Digest.id).where(
            Digest.content_id == Content.id, Digest.value == bindparam("q_text")
        )
        arms.append(alias.exists())
    if key.prefix is not None:
        arms.append(and_(*_prefix(key.prefix)))
    if key.meta and (in_meta := meta_predicate(key.words)) is not None:
        arms.append(in_meta)
    if key.notes and (in_note := note_predicate(key.words)) is not None:
        arms.append(in_note)
    return or_(*arms) if arms else false()
