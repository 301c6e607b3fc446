"""Which contents match a search text, asked in a way the trigram indexes can answer.

``Registry.search`` finds a content by a substring of its name or of one of its URLs, by a BLAKE3
prefix, or by an exact alias digest. One ``WHERE name LIKE '%q%' OR EXISTS (url LIKE ...) OR ...``
makes every database scan both tables (0.5-2 s at a million copies), so the match is built here as a
UNION of branches that each use one index:

* names and URLs: ``lower(col) LIKE '%q%'`` (the original test, so the answer never changes) behind
  an index that narrows the candidates. On PostgreSQL that is the pg_trgm GIN index of migration
  0002 on that very expression. On SQLite it is migration 0002's FTS5 trigram tables, asked for the
  two *rarest* trigrams of ``q`` (see :func:`_fts_query`): an FTS5 phrase query reads the posting
  list of every trigram, and those of ``"exa"`` or ``".nc"`` hold every row. A trigram no row
  contains answers "no match" without touching the table.
  Texts shorter than a trigram, or databases without those structures, use the plain LIKE scan.
  pg_trgm intersects the posting list of *every* trigram of ``q``, so a long URL fragment whose
  trigrams are in every URL (``example.org/era5/2013``) reads the whole index; on a large table
  (see :func:`_pg_rare_grams`) the index is asked for ``q``'s rarest trigrams only, estimated on a
  small cached sample of the table, and ``strpos`` (which no index answers) re-checks all of
  ``q``;
* BLAKE3 prefixes: a range on the unique index (``LIKE 'ab%'`` is not indexable on SQLite, nor on
  PostgreSQL under a non-C collation);
* alias digests: equality on ``digests(algorithm, value)``'s index (value-only, as before);
* words of extracted metadata and of annotations: btree ranges (:mod:`ddas.registry.metasearch`).

This module decides a text's :class:`Match`: which branches, how each is narrowed, and the values
they bind. The statements are built once per such shape by :mod:`ddas.registry.searchsql`, so a
search costs its queries, not SQLAlchemy building and compiling them anew for every text.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, TextClause
from sqlalchemy import text as sql_text

from ddas.registry import searchsql
from ddas.registry.metasearch import ordered_words, shape_of, word_params
from ddas.registry.searchsql import Key, Narrowing, Prefix, RowKey

TRIGRAM = 3
#: Up to this many matches, ``search`` runs the match once and pages over the id list.
MATERIALIZE = 1000
RAREST = 3  # trigrams asked of the FTS index; the LIKE re-check does the rest
PROBE = 64  # rows read per trigram to estimate how common it is (256: 1-2 ms more CPU a search)
MAX_PROBED = 48  # trigrams probed; a longer text is sampled evenly (a skipped rare one costs)
_HEX = re.compile(r"[0-9a-f]+")
#: PostgreSQL: tables with fewer rows (pg_class.reltuples) intersect every trigram; it is cheap.
PG_RARE_MIN_ROWS = 50_000
PG_RARE_MIN_GRAMS = 5  # texts with fewer distinct alphanumeric trigrams keep pg_trgm's own plan
PG_SAMPLE_ROWS = 2000
PG_SAMPLE_TTL = 600.0  # seconds a table's sample is reused (a registry's mix changes slowly)
PG_RARE_SHARE = 0.2  # a trigram in more than this share of the sample is not worth asking for
_ALNUM3 = re.compile(r"(?=([0-9a-z]{3}))")  # pg_trgm's trigrams inside one word, ASCII
_ALNUM1 = re.compile("[0-9a-z]")
_WORD_END = re.compile(r"(?=([0-9a-z]{2})[^0-9a-z])")  # and its word-end trigram ("a2 ")
_PG_SAMPLES: dict[tuple[str, str], tuple[float, list[str]]] = {}
_PG_ROWS: dict[tuple[str, str], float] = {}  # each sampled table's rows (pg_class.reltuples)
#: PostgreSQL: a text in this many of a table's sampled rows is broad (see :func:`_pg_broad`)
PG_BROAD_HITS = 20
_FTS: dict[str, bool] = {}  # engine URL -> SQLite FTS tables exist


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def sqlite_fts(conn: Connection) -> bool:
    """Whether this SQLite registry has migration 0002's FTS5 tables (checked once per engine)."""
    key = str(conn.engine.url)
    if key not in _FTS:
        found = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('contents_fts', 'sources_fts')"
        ).scalar()
        _FTS[key] = found == 2
    return _FTS[key]


def hex_prefix_range(prefix: str) -> tuple[str, str | None]:
    """``[lo, hi)`` holding exactly the lower-case hex strings starting with ``prefix``."""
    digits = prefix.rstrip("f")
    if not digits:
        return prefix, None
    return prefix, digits[:-1] + "0123456789abcdef"["0123456789abcdef".index(digits[-1]) + 1]


@lru_cache(maxsize=4 * MAX_PROBED)
def _fts_probe(fts: str, rows: str, grams: int, probe: int) -> TextClause:
    """The statement counting the first ``probe`` rows of each of ``grams`` trigrams (``:g<i>``),
    beside the table's largest id (built once per arity: parsing it is not free either)."""
    arms = [f"SELECT -1, -1, max(id) FROM {rows}"] + [
        f"SELECT {i}, count(*), max(rowid) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH :g{i}"
        f" LIMIT {probe})"
        for i in range(grams)
    ]
    return sql_text(" UNION ALL ".join(arms))


def _fts_query(conn: Connection, fts: str, rows: str, text: str) -> str | None:
    """The FTS5 query narrowing to rows that may contain ``text``; None if no row can.

    It asks for the rarest trigrams of ``text`` that do not overlap (overlapping ones, like ``a16``
    and ``16.``, select the same rows). How common each is comes from a probe with ``LIMIT``: a
    trigram with fewer than :data:`PROBE` rows is counted exactly, a common one is estimated from
    the rowid where it reached :data:`PROBE` (FTS5 walks rowids in order, so "the 64th hit at rowid
    128" means about half of all rows). Exact counts (``fts5vocab``) would read whole posting lists.
    """
    if not text.isascii():  # Python's and FTS5's case folding agree on ASCII only
        return '"' + text.replace('"', '""') + '"'
    where: dict[str, int] = {}
    for i in range(len(text) - TRIGRAM + 1):
        where.setdefault(text[i : i + TRIGRAM], i)
    grams = list(where)[:: -(-len(where) // MAX_PROBED)]  # long texts: an even sample is enough
    quoted = ['"' + g.replace('"', '""') + '"' for g in grams]
    result = conn.execute(
        _fts_probe(fts, rows, len(grams), PROBE), {f"g{i}": q for i, q in enumerate(quoted)}
    ).all()
    top = max(1, next(last for i, _n, last in result if i == -1) or 1)
    estimate = {}
    for i, n, last in result:
        if i >= 0:
            if n == 0:
                return None
            estimate[i] = n if n < PROBE else PROBE * top / max(1, last)
    chosen: list[int] = []
    for i in sorted(estimate, key=estimate.__getitem__):
        if all(abs(where[grams[i]] - where[grams[j]]) >= TRIGRAM for j in chosen):
            chosen.append(i)
        if len(chosen) == RAREST:
            break
    return " AND ".join(quoted[i] for i in chosen)


def _pg_sample(conn: Connection, tbl: str, col: str) -> list[str]:
    """About :data:`PG_SAMPLE_ROWS` lower-cased values of ``tbl.col`` (cached per registry for
    :data:`PG_SAMPLE_TTL`); [] when the table is small or was never analyzed."""
    key = (str(conn.engine.url), tbl)
    now = time.monotonic()
    cached = _PG_SAMPLES.get(key)
    if cached is not None and now - cached[0] < PG_SAMPLE_TTL:
        return cached[1]
    rows = conn.exec_driver_sql(f"SELECT reltuples FROM pg_class WHERE oid = to_regclass('{tbl}')")
    estimate = rows.scalar()
    sample: list[str] = []
    if estimate is not None and estimate >= max(PG_RARE_MIN_ROWS, 1):
        share = min(100.0, 200.0 * PG_SAMPLE_ROWS / estimate)  # SYSTEM samples whole pages
        sample = list(
            conn.exec_driver_sql(
                f"SELECT lower({col}) FROM {tbl} TABLESAMPLE SYSTEM ({share:.6f}) "
                f"LIMIT {PG_SAMPLE_ROWS}"
            ).scalars()
        )
    _PG_SAMPLES[key] = (now, sample)
    _PG_ROWS[key] = float(estimate or 0)
    return sample


def warm(conn: Connection) -> None:
    """Do now what the first search would otherwise pay for: the SQLite FTS check, PostgreSQL's
    table samples (:func:`_pg_sample`) and their trigram indexes (:func:`_sample_index`). A
    server calls it at start-up (``Registry.warm``)."""
    if conn.dialect.name == "sqlite":
        sqlite_fts(conn)
    elif conn.dialect.name == "postgresql":
        _sample_index(_pg_sample(conn, "contents", "name"))
        _sample_index(_pg_sample(conn, "sources", "url"))


def _pg_units(text: str) -> dict[str, tuple[int, re.Pattern[str] | None]]:
    """Substrings of ``text`` for which ``LIKE '%unit%'`` gives pg_trgm exactly one trigram, with
    their position and how to recognise that trigram in a value (None: plain containment).

    Three letters or digits (``a17``) give that trigram. Two followed by a separator (``a2.`` in
    ``data2.example``) give the word-end trigram ``"a2 "``: rarer than ``ta2``, which ``data20``
    to ``data29`` share.
    """
    units: dict[str, tuple[int, re.Pattern[str] | None]] = {}
    for match in _ALNUM3.finditer(text):
        units.setdefault(match.group(1), (match.start(), None))
    for match in _WORD_END.finditer(text):
        unit, pair = text[match.start() : match.start() + TRIGRAM], match.group(1)
        units.setdefault(unit, (match.start(), re.compile(re.escape(pair) + "(?![0-9a-z])")))
    return units


_NONE: frozenset[int] = frozenset()
_INDEXES: dict[int, tuple[list[str], dict[str, frozenset[int]]]] = {}


def _sample_index(sample: list[str]) -> dict[str, frozenset[int]]:
    """Which rows of a sample hold each of its 3-character substrings, and (as ``"$" + pair``)
    each pair of characters that ends a word there: what :func:`_pg_units`' tests ask of every
    sampled row, answered by one lookup each. Built once per sample (it lives as long as the
    sample's cache entry), not for every search."""
    cached = _INDEXES.get(id(sample))
    if cached is not None and cached[0] is sample:
        return cached[1]
    found: dict[str, set[int]] = {}
    for row, value in enumerate(sample):
        for i in range(len(value) - 1):
            if i + 2 < len(value):
                found.setdefault(value[i : i + 3], set()).add(row)
            if i + 2 == len(value) or not _ALNUM1.match(value[i + 2]):
                found.setdefault("$" + value[i : i + 2], set()).add(row)
    index = {key: frozenset(rows) for key, rows in found.items()}
    if len(_INDEXES) > 16:  # samples are few (two tables per registry); drop stale ones
        _INDEXES.clear()
    _INDEXES[id(sample)] = (sample, index)
    return index


def _pg_rare_grams(conn: Connection, tbl: str, col: str, text: str) -> list[str] | None:
    """Up to :data:`RAREST` substrings of ``text`` (see :func:`_pg_units`) whose trigrams few
    sampled rows contain *together*, non-overlapping where possible; None to keep pg_trgm's own
    plan.

    Asking the GIN index for these reads a few short posting lists instead of every list of a
    long text. They are chosen greedily by how many sampled rows hold all of them, not each one
    alone: the trigrams of one word go together (``goe``, ``s16`` and ``abi`` are each in a tenth
    of the URLs, and in the same tenth), and three of them narrowed
    ``data2.example.org/goes16_abi/2002`` to 50,000 rows, where ``a2.`` with ``002`` gives 300.
    """
    if not text.isascii():
        return None
    units = _pg_units(text)
    if len(units) < PG_RARE_MIN_GRAMS:
        return None
    sample = _pg_sample(conn, tbl, col)
    if not sample:
        return None
    index = _sample_index(sample)
    holds = {
        u: index.get(u if rx is None else "$" + u[:2], _NONE) for u, (_at, rx) in units.items()
    }
    rare = sorted(
        (u for u in units if len(holds[u]) <= PG_RARE_SHARE * len(sample)),
        key=lambda u: len(holds[u]),
    )
    if not rare:
        return None  # every trigram is common: so is the text, and pg_trgm's plan is as good
    chosen: list[str] = []
    left = set(range(len(sample)))
    while len(chosen) < RAREST:
        apart = [
            u
            for u in rare
            if u not in chosen
            and all(abs(units[u][0] - units[other][0]) >= TRIGRAM for other in chosen)
        ]
        # A short text may have one non-overlapping rare trigram only; a second, overlapping one
        # still narrows a lot (the planner's estimate of one '%241%' is 3x too high: it scans).
        pool = apart or ([u for u in rare if u not in chosen] if len(chosen) < 2 else [])
        if not pool:
            break
        best = min(pool, key=lambda u: len(left & holds[u]))  # ties: the rarer alone
        chosen.append(best)
        left &= holds[best]
    return chosen


def _narrowing(conn: Connection, which: str, text: str, params: dict[str, Any]) -> Narrowing:
    """How the ``names`` or ``urls`` branch asks for ``text`` (see :data:`searchsql.Narrowing`),
    adding the values it binds to ``params``."""
    fts, rows, col = ("contents_fts", "contents", "name")
    if which == "urls":
        fts, rows, col = ("sources_fts", "sources", "url")
    if conn.dialect.name == "sqlite" and len(text) >= TRIGRAM and sqlite_fts(conn):
        query = _fts_query(conn, fts, rows, text)
        if query is None:
            return None  # a trigram no row contains: no row can match
        params[f"{which}_match"] = query
        return "fts"
    if conn.dialect.name == "postgresql":  # a long text is narrowed by its rarest trigrams
        grams = _pg_rare_grams(conn, rows, col, text)
        if grams:
            params.update({f"{which}_g{i}": _like(unit) for i, unit in enumerate(grams)})
            return len(grams)
    return "like"  # pg_trgm's own plan, or a scan


def _like(text: str) -> str:
    """``lower(col) LIKE`` pattern finding ``text`` anywhere, its wildcards taken literally."""
    return f"%{_like_escape(text)}%"


def _blake3_prefix(text: str, params: dict[str, Any]) -> Prefix:
    """The BLAKE3 range of ``text`` (its bounds added to ``params``); None if it is not hex."""
    if not _HEX.fullmatch(text):
        return None
    params["b3_lo"], hi = hex_prefix_range(text)
    if hi is None:
        return "lo"
    params["b3_hi"] = hi
    return "lohi"


@dataclass(frozen=True)
class Match:
    """How a text matches: the shape of its statements (``key``; :mod:`ddas.registry.searchsql`
    builds them once per shape) and the values bound into them."""

    key: Key
    params: dict[str, Any]
    #: the rarest metadata word's (entries, largest content id) among its first PROBE: how large
    #: a share of all contents the match can be at most (None: not probed; see ``metasearch``)
    reach: tuple[int, int] | None = None

    @property
    def row_key(self) -> RowKey:
        """The shape of :func:`searchsql.row_predicate` for this text."""
        return searchsql.row_key(self.key)


def branches(conn: Connection, text: str) -> Match:
    """The index-driven branches by which ``text`` (stripped, lower-cased, non-empty) can match
    (see the module doc). Choosing them asks the FTS index (SQLite) or a table sample (PostgreSQL)
    about trigrams, and the metadata index about words: choose once, then use the match with
    :func:`ids_upto` and :func:`searchsql.union_of`."""
    params: dict[str, Any] = {"q_text": text, "q_like": _like(text)}
    names = _narrowing(conn, "names", text, params)
    urls = _narrowing(conn, "urls", text, params)
    prefix = _blake3_prefix(text, params)
    found = ordered_words(conn, text)  # metadata and annotation words (migration 0005)
    params |= word_params("m", found.meta) | word_params("a", found.words)
    key = Key(names, urls, prefix, shape_of(found.meta), shape_of(found.words), notes=found.noted)
    return Match(key, params, found.reach)


def ids_upto(conn: Connection, match: Match, cap: int) -> tuple[set[int] | None, Match]:
    """The ids the branches find if none finds more than ``cap``, else None (a broad text);
    and the match without the branches that found nothing (see :class:`searchsql.Key`).

    Each branch is asked with ``LIMIT cap + 1`` on its own: a UNION is built whole before any
    LIMIT applies, which for a text found 50,000 times costs half a second just to learn that.
    And first without DISTINCT, which must see every id before it returns one (PostgreSQL: 81 ms
    of a two-word metadata search at 1M copies, to learn that 7,500 contents have both words);
    only when repeated ids may hide the count is the branch asked again, each id once. The
    branches after a broad one are not asked (a pg_trgm scan cannot stop at its LIMIT), so
    they stay in the match.
    """
    if _pg_broad(conn, match.params["q_text"], cap):
        return None, match
    found: set[int] = set()
    params = {**match.params, "cap": cap + 1}
    exact = searchsql.limited(match.key)
    kinds = searchsql.kinds(match.key)
    empty, hit = set(kinds), set()
    for k, branch in enumerate(searchsql.limited(match.key, distinct=False)):
        ids = conn.execute(branch, searchsql.bound(branch, params)).scalars().all()
        if len(ids) > cap and len(set(ids) - {None}) <= cap:  # repeats hid how many: ask again
            ids = conn.execute(exact[k], searchsql.bound(exact[k], params)).scalars().all()
        if any(i is not None for i in ids):  # stops at the first id
            hit.add(kinds[k])
        if len(ids) > cap:
            unasked = set(kinds[k:])
            pruned = searchsql.without(match.key, empty - hit - unasked)
            return None, Match(pruned, match.params, match.reach)
        found.update(i for i in ids if i is not None)
    return found, match


def _pg_broad(conn: Connection, text: str, cap: int) -> bool:
    """PostgreSQL: whether a table sample shows ``text`` in so many names or URLs that its branch
    surely finds far more than ``cap`` contents.

    pg_trgm answers ``LIKE '%merra2%' LIMIT 1001`` by building the bitmap of the 50,000 rows with
    its trigrams and re-checking each (244 ms at 1M copies): a GIN scan cannot stop at a LIMIT.
    Twenty of 2,000 sampled names holding the text put it well above ``cap``, and a broad
    text's page never needs its ids. A wrong guess costs an estimated total, not a wrong page:
    the window and the walks find the same rows as the ids would.
    """
    if conn.dialect.name != "postgresql":
        return False
    for tbl, col, per_content in (("contents", "name", 1), ("sources", "url", 2)):
        sample = _pg_sample(conn, tbl, col)
        hits = sum(text in value for value in sample)
        rows = _PG_ROWS.get((str(conn.engine.url), tbl), 0.0)
        if hits >= PG_BROAD_HITS and hits * rows / len(sample) / per_content > 5 * cap:
            return True
    return False


#: What migration 0002 may create (best effort, so not declared in ``models``): FTS5 tables, their
#: shadow tables, and pg_trgm indexes. Schema comparisons (``alembic check``,
#: tests) skip these.
SEARCH_OBJECT_PREFIXES = (
    "contents_fts",
    "sources_fts",
    "ix_contents_name_trgm",
    "ix_sources_url_trgm",
)


def is_search_object(name: str | None) -> bool:
    """True for the search structures of migration 0002 (see :data:`SEARCH_OBJECT_PREFIXES`)."""
    return bool(name) and name.startswith(SEARCH_OBJECT_PREFIXES)
