"""The statements of the dataset listing's pages, built once per sort and match shape.

A dataset page is a few statements (the page itself, its count, the owners and URLs of its rows);
building each SELECT anew costs more CPU than running it, so each is built here once (``lru_cache``)
with its values bound: ``owner``, ``page_offset``, ``page_limit``, ``ids`` (an expanding list),
``window``, and the match's own (:mod:`ddas.registry.searchsql`). Run them through
:func:`scalar` / :func:`scalars`, which pass only the parameters a statement binds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    ScalarResult,
    Select,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.util import ClauseAdapter

from ddas.registry import searchsql as _searchsql
from ddas.registry.models import Content, Copy, TypeTally

SORTS = {
    "name": Content.name,
    "size": Content.size,
    "last_used": Content.last_used_at,
    "created": Content.created_at,
    "copies": Content.copy_count,  # present copies, kept by ddas.registry.tallies
    "id": Content.id,
}


def ordering(sort: str) -> list[ColumnElement]:
    """ORDER BY for a ``sort`` name (``-`` for descending). The id breaks ties in the key's
    direction, so that one (key, id) index serves both directions."""
    key = sort.removeprefix("-")
    if key not in SORTS:
        raise ValueError(f"sort must be one of {sorted(SORTS)}, optionally with '-'")
    column = SORTS[key]
    return [column.desc(), Content.id.desc()] if sort.startswith("-") else [column, Content.id]


def _expression(key: Any) -> ColumnElement:
    """An ORDER BY key as a SQL expression (an ORM attribute gives its column), which a
    ``ClauseAdapter`` can move onto a subquery's columns."""
    return key.__clause_element__() if hasattr(key, "__clause_element__") else key


def _owned() -> ColumnElement[bool]:
    """Contents of which the bound ``owner`` holds a copy."""
    mine = Copy.owner == bindparam("owner")
    return select(Copy.id).where(Copy.content_id == Content.id, mine).exists()


@dataclass
class Ask:
    """What a search asks beside its text: the sort, whether an owner filters, and the values
    every statement of the search may bind (``owner``, ``page_offset``, ``page_limit``, and the
    match's own, see :mod:`ddas.registry.searchsql`)."""

    sort: str
    owned: bool
    params: dict[str, Any]


def _paged(query: Select) -> Select:
    return query.offset(bindparam("page_offset", type_=Integer)).limit(
        bindparam("page_limit", type_=Integer)
    )


def scalar(s: Session, statement: Select, params: dict[str, Any]) -> Any:
    return s.scalar(statement, _searchsql.bound(statement, params))


def scalars(s: Session, statement: Select, params: dict[str, Any]) -> ScalarResult[Any]:
    return s.scalars(statement, _searchsql.bound(statement, params))


@lru_cache(maxsize=128)
def statement(kind: str, sort: str, owned: bool) -> Select:
    """The statements of a search that do not depend on its match, built once each: a SELECT
    compiles in milliseconds, several times what running this one costs."""
    cond = [_owned()] if owned else []
    if kind in ("listed", "count_listed", "by_ids"):
        cond.insert(0, Content.id.in_(bindparam("ids", expanding=True)))
    if kind == "listed":
        # The list is looked up by primary key first, then sorted: ``OFFSET 0`` keeps PostgreSQL's
        # planner from walking the sort order's index backwards and filtering every row by the
        # list (it expects the list's rows to be spread evenly; that reads the whole table).
        listed = select(Content).where(*cond).offset(0).subquery()
        row, adapter = aliased(Content, listed), ClauseAdapter(listed)
        keys = [adapter.traverse(_expression(key)) for key in ordering(sort)]
        return _paged(select(row, func.count().over().label("total")).order_by(*keys))
    if kind in ("count", "count_listed"):
        return select(func.count(Content.id)).where(*cond)
    if kind == "ordered":
        return _paged(select(Content).where(*cond).order_by(*ordering(sort)))
    if kind == "by_ids":
        return select(Content).where(*cond)
    if kind == "max_id":
        return select(func.max(Content.id))
    if kind == "tallied":
        return select(func.coalesce(func.sum(TypeTally.contents), 0))
    if kind == "owners":
        listed = Copy.content_id.in_(bindparam("ids", expanding=True))
        return select(Copy.content_id, Copy.owner).where(listed, Copy.state == "present").distinct()
    raise ValueError(kind)


@lru_cache(maxsize=_searchsql.CACHED_SHAPES)
def matched(sort: str, owned: bool, key: _searchsql.Key) -> Select:
    """The page of the match of shape ``key`` as a subquery (``sort`` "": its count)."""
    cond = [Content.id.in_(_searchsql.union_of(key)), *([_owned()] if owned else [])]
    if not sort:
        return select(func.count(Content.id)).where(*cond)
    return _paged(select(Content).where(*cond).order_by(*ordering(sort)))


def _first_rows(cols: list[Any], order: list[ColumnElement]) -> Select:
    """``cols`` of the ``window`` rows of the sort order after its first ``skip``."""
    return (
        select(*cols)
        .order_by(*order)
        .offset(bindparam("skip", type_=Integer))
        .limit(bindparam("window", type_=Integer))
    )


@lru_cache(maxsize=_searchsql.CACHED_SHAPES)
def window_hits(sort: str, owned: bool, key: _searchsql.RowKey) -> Select:
    """The ids among ``window`` rows of the sort order, after its first ``skip``, that match
    (row predicate of shape ``key``), in that order.

    A predicate of words (no name or URL arm) filters the rows as a subquery with a LIMIT, not
    ``id IN (...)`` of it: PostgreSQL turns such an IN into a semi-join and then tests the
    *whole* sort order, in parallel, against a hash of a word's entries (two metadata words at
    1M copies: 150 ms, against 4 ms for the same 8,333 rows as a subquery; SQLite: a third
    faster). A name or URL arm keeps the IN: over the subquery, PostgreSQL's plan for a
    prepared statement (its LIMIT unknown) tests every URL once for the hash (380 ms).
    """
    order = ordering(sort)
    preds = [_searchsql.row_predicate(key), *([_owned()] if owned else [])]
    if not _searchsql.words_only(key):
        listed = Content.id.in_(_first_rows([Content.id], order).scalar_subquery())
        return select(Content.id).where(listed, *preds).order_by(*order)
    # only what the predicate reads: the sort order's (key, id) index alone serves the rest
    sort_key = SORTS[sort.removeprefix("-")]
    cols = [Content.id] + ([Content.blake3] if key.prefix is not None else [])
    cols += [sort_key] if sort_key is not Content.id else []
    rows = _first_rows(cols, order).subquery()
    adapter = ClauseAdapter(rows)
    keys = [adapter.traverse(_expression(k)) for k in order]
    return select(rows.c.id).where(*(adapter.traverse(p) for p in preds)).order_by(*keys)


@lru_cache(maxsize=_searchsql.CACHED_SHAPES)
def sampled_hits(dialect: str, owned: bool, key: _searchsql.RowKey) -> Select:
    """How many of the contents ``ids`` (a sample) match (row predicate of shape ``key``).

    PostgreSQL gets the ids as one array (``= ANY``): 200 separate values cost it more to bind
    and plan than the 200 rows cost to test.
    """
    if dialect == "postgresql":
        listed = Content.id == any_(bindparam("ids", type_=ARRAY(BigInteger)))
    else:
        listed = Content.id.in_(bindparam("ids", expanding=True))
    preds = [listed, _searchsql.row_predicate(key), *([_owned()] if owned else [])]
    return select(func.count(Content.id)).where(*preds)


@lru_cache(maxsize=_searchsql.CACHED_SHAPES)
def walk(sort: str, owned: bool, key: _searchsql.Key) -> Select:
    """The ids among the first ``window`` rows of the sort order that the match of shape ``key``
    finds, in that order: a walk of the sort order's (key, id) index, each row tested against
    the match's ids, instead of every matching row fetched by id and sorted.

    The window is a subquery with a LIMIT, so no planner can turn it into a scan of the whole
    table; its rows carry their sort key, so the index alone serves it.
    """
    order = ordering(sort)
    sort_key = SORTS[sort.removeprefix("-")]
    cols = [Content.id] + ([sort_key] if sort_key is not Content.id else [])
    first = (
        select(*cols)
        .where(*([_owned()] if owned else []))
        .order_by(*order)
        .limit(bindparam("window", type_=Integer))
        .subquery()
    )
    adapter = ClauseAdapter(first)
    keys = [adapter.traverse(_expression(k)) for k in order]
    return select(first.c.id).where(first.c.id.in_(_searchsql.union_of(key))).order_by(*keys)
