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
"""

from __future__ import annotations

import re
import time

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    union,
)
from sqlalchemy import text as sql_text
from sqlalchemy.sql import CompoundSelect

from ddas.registry.metasearch import word_branches, word_predicate
from ddas.registry.models import Content, Digest, Source

TRIGRAM = 3
#: Up to this many matches, ``search`` runs the match once and pages over the id list.
MATERIALIZE = 1000
RAREST = 3  # trigrams asked of the FTS index; the LIKE re-check does the rest
PROBE = 256  # rows read per trigram to estimate how common it is
MAX_PROBED = 48  # trigrams probed; a longer text is sampled evenly (a skipped rare one costs)
_HEX = re.compile(r"[0-9a-f]+")
#: PostgreSQL: tables with fewer rows (pg_class.reltuples) intersect every trigram; it is cheap.
PG_RARE_MIN_ROWS = 50_000
PG_RARE_MIN_GRAMS = 5  # texts with fewer distinct alphanumeric trigrams keep pg_trgm's own plan
PG_SAMPLE_ROWS = 2000
PG_SAMPLE_TTL = 600.0  # seconds a table's sample is reused (a registry's mix changes slowly)
PG_RARE_SHARE = 0.2  # a trigram in more than this share of the sample is not worth asking for
_ALNUM3 = re.compile(r"(?=([0-9a-z]{3}))")  # pg_trgm's trigrams inside one word, ASCII
_WORD_END = re.compile(r"(?=([0-9a-z]{2})[^0-9a-z])")  # and its word-end trigram ("a2 ")
_PG_SAMPLES: dict[tuple[str, str], tuple[float, list[str]]] = {}
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


def _fts_query(conn: Connection, fts: str, rows: str, text: str) -> str | None:
    """The FTS5 query narrowing to rows that may contain ``text``; None if no row can.

    It asks for the rarest trigrams of ``text`` that do not overlap (overlapping ones, like ``a16``
    and ``16.``, select the same rows). How common each is comes from a probe with ``LIMIT``: a
    trigram with fewer than :data:`PROBE` rows is counted exactly, a common one is estimated from
    the rowid where it reached :data:`PROBE` (FTS5 walks rowids in order, so "the 256th hit at rowid
    512" means about half of all rows). Exact counts (``fts5vocab``) would read whole posting lists.
    """
    if not text.isascii():  # Python's and FTS5's case folding agree on ASCII only
        return '"' + text.replace('"', '""') + '"'
    where: dict[str, int] = {}
    for i in range(len(text) - TRIGRAM + 1):
        where.setdefault(text[i : i + TRIGRAM], i)
    grams = list(where)[:: -(-len(where) // MAX_PROBED)]  # long texts: an even sample is enough
    arms = [f"SELECT -1, -1, max(id) FROM {rows}"] + [
        f"SELECT {i}, count(*), max(rowid) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH :g{i}"
        f" LIMIT {PROBE})"
        for i in range(len(grams))
    ]
    quoted = ['"' + g.replace('"', '""') + '"' for g in grams]
    result = conn.execute(
        sql_text(" UNION ALL ".join(arms)), {f"g{i}": q for i, q in enumerate(quoted)}
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
    return sample


def warm(conn: Connection) -> None:
    """Do now what the first search would otherwise pay for: the SQLite FTS check, PostgreSQL's
    table samples (:func:`_pg_sample`). A server calls it at start-up (``Registry.warm``)."""
    if conn.dialect.name == "sqlite":
        sqlite_fts(conn)
    elif conn.dialect.name == "postgresql":
        _pg_sample(conn, "contents", "name")
        _pg_sample(conn, "sources", "url")


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


def _pg_rare_grams(conn: Connection, tbl: str, col: str, text: str) -> list[str] | None:
    """Up to :data:`RAREST` substrings of ``text`` (see :func:`_pg_units`) whose trigram few
    sampled rows contain, non-overlapping where possible; None to keep pg_trgm's own plan.

    Asking the GIN index for these reads a few short posting lists instead of every list of a
    long text.
    """
    if not text.isascii():
        return None
    units = _pg_units(text)
    if len(units) < PG_RARE_MIN_GRAMS:
        return None
    sample = _pg_sample(conn, tbl, col)
    if not sample:
        return None
    count = {
        unit: sum(bool(rx.search(v)) if rx else unit in v for v in sample)
        for unit, (_at, rx) in units.items()
    }
    ranked = sorted(units, key=count.__getitem__)
    rare = [u for u in ranked if count[u] <= PG_RARE_SHARE * len(sample)]
    if not rare:
        return None  # every trigram is common: so is the text, and pg_trgm's plan is as good
    chosen: list[str] = []
    for unit in rare:
        if all(abs(units[unit][0] - units[other][0]) >= TRIGRAM for other in chosen):
            chosen.append(unit)
    # A short text may have one non-overlapping rare trigram only; a second, overlapping one still
    # narrows a lot (the planner's estimate of one '%241%' is 3x too high, enough to scan).
    chosen += [u for u in rare if u not in chosen][: max(0, 2 - len(chosen))]
    return chosen[:RAREST]


def _pg_narrowed(
    conn: Connection, tbl: str, column_: ColumnElement[str], text: str, key: ColumnElement[int]
) -> Select | None:
    """``key`` of the rows of ``tbl`` whose lower-cased ``column_`` contains ``text``, found
    through its rarest trigrams (None: the text is short or the table small)."""
    grams = _pg_rare_grams(conn, tbl, column_.key, text)
    if not grams:
        return None
    lowered = func.lower(column_)
    narrow = [lowered.like(_like(unit), escape="\\") for unit in grams]
    # ``key + 0``: a DISTINCT over the bare key lets the planner walk key's btree in order and
    # filter every row (0.5 s at 1M rows) when it overestimates the matches; this keeps the
    # trigram index in charge.
    return select((key + 0).label(key.key)).where(*narrow, func.strpos(lowered, text) > 0)


def _candidates(conn: Connection, fts: str, rows: str, text: str) -> Select | None:
    query = _fts_query(conn, fts, rows, text)
    if query is None:
        return None
    index = table(fts, column("rowid"))
    return select(index.c.rowid).where(literal_column(fts).op("MATCH")(query))


def _like(text: str) -> str:
    """``lower(col) LIKE`` pattern finding ``text`` anywhere, its wildcards taken literally."""
    return f"%{_like_escape(text)}%"


def _blake3_prefix(text: str) -> list[ColumnElement[bool]]:
    """Conditions selecting contents whose BLAKE3 starts with ``text``; [] if it is not hex."""
    if not _HEX.fullmatch(text):
        return []
    lo, hi = hex_prefix_range(text)
    return [Content.blake3 >= lo] + ([Content.blake3 < hi] if hi else [])


def row_predicate(text: str) -> ColumnElement[bool]:
    """The same match as :func:`branches`, as a filter on one ``contents`` row.

    For a text that matches a large share of all datasets ("era5", ".nc"), testing rows in the
    page's sort order until the page is full reads a few thousand rows, where building the whole
    match set reads every match (see ``Datasets._window_page`` in :mod:`ddas.registry.queries`).
    """
    pattern = _like(text)
    in_url = select(Source.id).where(
        Source.content_id == Content.id, func.lower(Source.url).like(pattern, escape="\\")
    )
    alias = select(Digest.id).where(Digest.content_id == Content.id, Digest.value == text)
    arms = [func.lower(Content.name).like(pattern, escape="\\"), in_url.exists(), alias.exists()]
    if prefix := _blake3_prefix(text):
        arms.append(and_(*prefix))
    if (in_words := word_predicate(text)) is not None:
        arms.append(in_words)
    return or_(*arms)


def branches(conn: Connection, text: str) -> list[Select]:
    """One index-driven SELECT of content ids per way ``text`` (stripped, lower-cased, non-empty)
    can match (see the module doc). Building them asks the FTS index about trigrams: build once,
    then use them with :func:`ids_upto` and :func:`union_of`."""
    pattern = _like(text)
    in_name = func.lower(Content.name).like(pattern, escape="\\")
    in_url = func.lower(Source.url).like(pattern, escape="\\")
    out: list[Select] = [select(Digest.content_id).where(Digest.value == text)]
    if conn.dialect.name == "sqlite" and len(text) >= TRIGRAM and sqlite_fts(conn):
        names = _candidates(conn, "contents_fts", "contents", text)
        urls = _candidates(conn, "sources_fts", "sources", text)
        if names is not None:
            out.append(select(Content.id).where(Content.id.in_(names), in_name))
        if urls is not None:
            out.append(select(Source.content_id).where(Source.id.in_(urls), in_url).distinct())
    else:  # PostgreSQL narrows a long text by its rarest trigrams; else pg_trgm's plan or a scan
        names = urls = None
        if conn.dialect.name == "postgresql":
            names = _pg_narrowed(conn, "contents", Content.name, text, Content.id)
            urls = _pg_narrowed(conn, "sources", Source.url, text, Source.content_id)
        out += [
            select(Content.id).where(in_name) if names is None else names,
            (urls if urls is not None else select(Source.content_id).where(in_url)).distinct(),
        ]
    if prefix := _blake3_prefix(text):
        out.append(select(Content.id).where(*prefix))
    return out + word_branches(text, conn)  # metadata and annotation words (migration 0005)


def union_of(parts: list[Select]) -> CompoundSelect:
    """All the content ids the branches find, each once."""
    return union(*parts)


def ids_upto(conn: Connection, parts: list[Select], cap: int) -> set[int] | None:
    """The ids the branches find if none finds more than ``cap``; else None (a broad text).

    Each branch is asked with ``LIMIT cap + 1`` on its own: a UNION is built whole before any
    LIMIT applies, which for a text found 50,000 times costs half a second just to learn that.
    """
    found: set[int] = set()
    for branch in parts:
        ids = conn.execute(branch.limit(cap + 1)).scalars().all()
        if len(ids) > cap:
            return None
        found.update(i for i in ids if i is not None)
    return found


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
