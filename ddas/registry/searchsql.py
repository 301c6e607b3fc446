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
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    column,
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

from ddas.registry.metasearch import Shape, word_branches, word_predicate
from ddas.registry.models import Content, Digest, Source

#: How a names or URLs branch is asked: "fts" (SQLite FTS5 candidates), "like" (pg_trgm's own
#: plan, or a scan), the number of rare trigrams (PostgreSQL), or None (no row can match).
Narrowing = str | int | None
#: A BLAKE3 prefix range: None (not hex), "lo" (no upper bound: all "f"), "lohi".
Prefix = str | None
#: (names, urls, blake3 prefix, metadata words rarest first, words in order)
Key = tuple[Narrowing, Narrowing, Prefix, Shape, Shape]
#: What a row predicate depends on: (blake3 prefix, words in order)
RowKey = tuple[Prefix, Shape]
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
def parts(key: Key, distinct: bool = True) -> tuple[Select, ...]:
    """One index-driven SELECT of content ids per way a text of this shape can match
    (``distinct`` False: an id may come more than once, as a content's URLs or words do)."""
    names, urls, prefix, meta, words = key
    out = [select(Digest.content_id).where(Digest.value == bindparam("q_text"))]
    out += _names(names) + [u.distinct() if distinct else u for u in _urls(urls)]
    if prefix is not None:
        out.append(select(Content.id).where(*_prefix(prefix)))
    return (*out, *word_branches(meta, words, distinct))


@lru_cache(maxsize=CACHED_SHAPES)
def limited(key: Key, distinct: bool = True) -> tuple[Select, ...]:
    """:func:`parts`, each asked for at most ``cap`` rows."""
    return tuple(p.limit(bindparam("cap", type_=Integer)) for p in parts(key, distinct))


@lru_cache(maxsize=CACHED_SHAPES)
def union_of(key: Key) -> CompoundSelect:
    """All the content ids the branches find, each once: the UNION removes duplicates, so its
    branches need not (a DISTINCT each cost PostgreSQL a hash of every id first)."""
    return union(*parts(key, distinct=False))


@lru_cache(maxsize=CACHED_SHAPES)
def row_predicate(key: RowKey) -> ColumnElement[bool]:
    """The same match as :func:`parts`, as a filter on one ``contents`` row.

    For a text that matches a large share of all datasets ("era5", ".nc"), testing rows in the
    page's sort order until the page is full reads a few thousand rows, where building the whole
    match set reads every match (see ``Datasets._window_page`` in :mod:`ddas.registry.queries`).
    """
    prefix, words = key
    in_url = select(Source.id).where(Source.content_id == Content.id, _holds(Source.url))
    alias = select(Digest.id).where(
        Digest.content_id == Content.id, Digest.value == bindparam("q_text")
    )
    arms = [_like(Content.name), in_url.exists(), alias.exists()]
    if prefix is not None:
        arms.append(and_(*_prefix(prefix)))
    if (in_words := word_predicate(words)) is not None:
        arms.append(in_words)
    return or_(*arms)
