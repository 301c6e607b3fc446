"""Search by substring through the trigram indexes (migration 0002) answers exactly what a scan of
every name and URL would, on SQLite (FTS5) and PostgreSQL (pg_trgm)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine.default import CACHE_MISS

from ddas.identity import Validators
from ddas.registry import Registry, search, searchsql
from ddas.registry.models import Base
from ddas.registry.search import hex_prefix_range, is_search_object
from tests.fixtures.search_library import b3, scan

QUERIES = [
    "era5",
    "ERA5_00",
    "_0001",
    "0042",
    "data3.example.org",
    "example",
    ".nc",
    "a",
    "e5",
    "nc",
    "2011/",
    "/cmip6_tas/20",
    "gpm-imerg_0002",
    "100%",
    "%",
    "_",
    '"2"',
    'v"2',
    "température",
    "été",
    "merra2_0014.nc",
    "https://data1.example.org/goes16/2001/gpm-imerg_0001.nc",
    "zzz",
    "exampl3",
    b3(3)[:10],
    b3(4)[:1],
    "f",
    "ff",
    "ffff",
    b3(5)[:32],
    "  jra55  ",
]


@pytest.mark.parametrize("q", QUERIES)
def test_search_answers_what_a_full_scan_would(shared_library, q: str) -> None:
    registry, library = shared_library
    page = registry.search(q, limit=500)
    assert {item.name for item in page.items} == scan(library, q)
    assert page.total == len(scan(library, q))


def test_broad_matches_page_and_count_like_narrow_ones(shared_library, monkeypatch) -> None:
    registry, library = shared_library
    monkeypatch.setattr(search, "MATERIALIZE", 3)  # "era5" (8 matches) takes the subquery path
    expected = sorted(scan(library, "era5"))  # 8 by name, 7 more by a folder in their URL
    assert len(expected) == 15
    pages = [registry.search("era5", sort="name", offset=o, limit=5) for o in (0, 5, 10, 15)]
    assert {p.total for p in pages} == {15}
    assert [i.name for p in pages for i in p.items] == expected
    assert pages[-1].items == []


def test_new_downloads_are_searchable_at_once(registry, library) -> None:
    registry.record_download(
        url="https://late.example.net/zz/unique_late_arrival.grib2",
        validators=Validators(etag='"x"'),
        blake3="9" * 64,
        size=5,
        location="/store/late",
        owner="bob",
    )
    assert [i.name for i in registry.search("late_arr").items] == ["unique_late_arrival.grib2"]
    assert [i.name for i in registry.search("late.example.net/zz").items] == [
        "unique_late_arrival.grib2"
    ]


def test_the_migration_built_the_trigram_structures(registry: Registry) -> None:
    with registry.engine.connect() as conn:
        inspector = sa.inspect(conn)
        if conn.dialect.name == "sqlite":
            names = set(inspector.get_table_names())
            assert {"contents_fts", "sources_fts"} <= names
            # every table beyond the model's is one of 0002's search structures
            extra = names - set(Base.metadata.tables) - {"alembic_version"}
            assert extra and all(is_search_object(n) for n in extra)
        else:
            names = {ix["name"] for t in ("contents", "sources") for ix in inspector.get_indexes(t)}
            assert {"ix_contents_name_trgm", "ix_sources_url_trgm"} <= names
    assert not is_search_object("contents") and not is_search_object(None)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("ab", ("ab", "ac")),
        ("a9", ("a9", "aa")),
        ("af", ("af", "b")),
        ("0ff", ("0ff", "1")),
        ("fff", ("fff", None)),
    ],
)
def test_a_blake3_prefix_is_a_range_on_the_unique_index(prefix, expected) -> None:
    assert hex_prefix_range(prefix) == expected


def test_long_texts_asked_by_their_rarest_trigrams_answer_what_a_scan_would(
    registry, library, monkeypatch
) -> None:
    """A long URL fragment whose trigrams are mostly in every URL: SQLite's FTS path asks for
    the rarest trigrams only; PostgreSQL's pg_trgm would intersect all of them, so on a large
    table (here: any table) DDAS asks its GIN index for the rarest ones by a sample of the table
    and re-checks the whole text. The answers stay those of a full scan."""
    monkeypatch.setattr(search, "PG_RARE_MIN_ROWS", 0)
    monkeypatch.setattr(search, "_PG_SAMPLES", {})
    with registry.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE contents")
            conn.exec_driver_sql("ANALYZE sources")
            text = "data3.example.org/cmip6_tas/20"
            grams = search._pg_rare_grams(conn, "sources", "url", text)
            # every URL has "exa", "org", "htt": those are never asked; "a3" is one in five
            assert grams and {"ta3", "a3."} & set(grams) and not {"exa", "org", "amp"} & set(grams)
            # "a2." stands for pg_trgm's word-end trigram "a2 ", which "data20" does not have
            units = search._pg_units("data2.example.org/x")
            assert units["a2."][1] is not None and not units["a2."][1].search("data20.example")
            assert search._pg_rare_grams(conn, "sources", "url", "era5") is None  # short: as is
            # the sample's index answers each trigram's test as a scan of the sample would
            sample = search._pg_sample(conn, "sources", "url")
            index = search._sample_index(sample)
            for t in [text, "data2.example.org/x", "/goes16/2004/modis_0004.nc", "a2.b"]:
                for unit, (_at, rx) in search._pg_units(t).items():
                    scanned = {
                        i for i, v in enumerate(sample) if (rx.search(v) if rx else unit in v)
                    }
                    assert index.get(unit if rx is None else "$" + unit[:2], set()) == scanned, unit
    for q in [
        *QUERIES,
        "data3.example.org/cmip6_tas/20",
        "example.org/goes16/2001/gpm-imerg",
        "/data2.example.org/",
        "ample.org/modis/20",
    ]:
        page = registry.search(q, limit=500)
        assert {item.name for item in page.items} == scan(library, q), q


def test_warm_compiles_the_search_statements_of_every_word_count(registry, library) -> None:
    """A server warms its registry at start-up (``Registry.warm``); a URL fragment of seven words
    then compiles no statement on the first user's request: statements differ by word count."""
    registry.warm(connections=1)
    compiled: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        probe = statement.startswith("SELECT -1, -1, max(id)")  # FTS probes: plain text
        if context is not None and context.cache_hit is CACHE_MISS and not probe:
            compiled.append(statement)

    sa.event.listen(registry.engine, "after_cursor_execute", on_execute)
    try:
        page = registry.search("data3.example.org/cmip6_tas/2011")  # data3 ... cmip6, tas, 2011
    finally:
        sa.event.remove(registry.engine, "after_cursor_execute", on_execute)
    assert {i.name for i in page.items} == scan(library, "data3.example.org/cmip6_tas/2011")
    assert not compiled, "\n".join(" ".join(c.split())[:200] for c in compiled)


def test_a_search_of_a_known_shape_builds_and_compiles_no_statement(shared_library) -> None:
    """Building a search's SELECTs and compiling them cost more CPU than running them, so a text
    whose words differ from an earlier one's but not its shape (here a long word and a short one,
    in either order) reuses that search's statements: none built, none compiled."""
    registry, library = shared_library
    assert {i.name for i in registry.search("2005/jr").items} == scan(library, "2005/jr")
    compiled: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        probe = statement.startswith("SELECT -1, -1, max(id)")  # FTS probes: plain text
        if context is not None and context.cache_hit is CACHE_MISS and not probe:
            compiled.append(statement)

    built = searchsql.parts.cache_info().misses
    sa.event.listen(registry.engine, "after_cursor_execute", on_execute)
    try:
        for q in ["2006/me", "a5/2005", "a2/2003"]:  # a short word after the long one, or before
            page = registry.search(q, limit=500)
            assert {i.name for i in page.items} == scan(library, q) != set(), q
    finally:
        sa.event.remove(registry.engine, "after_cursor_execute", on_execute)
    assert searchsql.parts.cache_info().misses == built, "a statement was built again"
    assert not compiled, "\n".join(" ".join(c.split())[:200] for c in compiled)


def test_words_in_no_metadata_skip_the_metadata_branch(shared_library) -> None:
    """A URL fragment's words ("data3", "example", ...) are mostly in no file's metadata: the
    probe that ranks them says so, and the branch that needs every word (a semi-join per word,
    which PostgreSQL takes milliseconds just to plan) is not run. The answer is a full scan's."""
    registry, library = shared_library
    ran: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:
        if "metadata_words" in statement and "count(*)" not in statement:
            ran.append(statement)

    sa.event.listen(registry.engine, "before_cursor_execute", on_execute)
    try:
        page = registry.search("data3.example.org/cmip6_tas", limit=500)
    finally:
        sa.event.remove(registry.engine, "before_cursor_execute", on_execute)
    assert {i.name for i in page.items} == scan(library, "data3.example.org/cmip6_tas") != set()
    assert not ran, "\n".join(" ".join(c.split())[:200] for c in ran)
