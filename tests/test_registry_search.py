"""Search by substring through the trigram indexes (migration 0002) answers exactly what a scan of
every name and URL would, on SQLite (FTS5) and PostgreSQL (pg_trgm)."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.engine.default import CACHE_MISS

from ddas.identity import Validators, normalize_url
from ddas.registry import Registry, search, searchsql
from ddas.registry.models import Base
from ddas.registry.search import hex_prefix_range, is_search_object

WORDS = ["era5", "cmip6_tas", "gpm-imerg", "Sentinel2", "modis", "jra55", "merra2", "goes16"]


def b3(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


@pytest.fixture
def library(registry: Registry) -> dict[str, dict]:
    return seed_library(registry)


@pytest.fixture(scope="module")
def shared_library(module_registry_url: str) -> tuple[Registry, dict[str, dict]]:
    """The same library, seeded once per backend for the tests that only search it."""
    registry = Registry(module_registry_url)
    return registry, seed_library(registry)


def seed_library(registry: Registry) -> dict[str, dict]:
    """60 datasets with overlapping words in names and URLs, a few odd characters, one alias."""
    out = {}
    for i in range(60):
        word = WORDS[i % len(WORDS)]
        odd = {7: "_100%", 9: '_v"2"'}.get(i, "")
        name = f"{word}_{i:04d}{odd}.nc"
        name = "température_été.nc" if i == 11 else name
        url = f"https://data{i % 5}.Example.org/{WORDS[(i + 3) % len(WORDS)]}/{2000 + i}/{name}"
        registry.record_download(
            url=url,
            validators=Validators(size=i + 1),
            blake3=b3(i),
            size=i + 1,
            location=f"/store/{i}",
            name=name,
            owner="alice",
            digests={"md5": b3(i)[:32]} if i == 5 else None,
        )
        # The registry keeps the normalized URL (non-ASCII and quotes percent-encoded), so a
        # search for "%" rightly finds those URLs too.
        stored = normalize_url(url).url
        out[name] = {"url": stored.lower(), "blake3": b3(i), "md5": b3(i)[:32] if i == 5 else ""}
    return out


def scan(library: dict[str, dict], q: str) -> set[str]:
    """The answer of a full scan: what search promised before any index existed."""
    t = q.strip().lower()
    return {
        name
        for name, d in library.items()
        if t in name.lower() or t in d["url"] or d["blake3"].startswith(t) or t == d["md5"]
    }


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


def test_a_broad_text_is_paged_from_the_sort_order_with_an_estimated_total(
    shared_library, monkeypatch
) -> None:
    """At scale, a text matching a large share (here "era5": 15 of 60) is paged by reading the
    first rows in sort order, with an estimated total; pages equal the full match's, in order."""
    registry, library = shared_library
    from ddas.registry import queries

    monkeypatch.setattr(search, "MATERIALIZE", 5)  # 15 matches count as many
    monkeypatch.setattr(queries, "WINDOW", 20)  # as if the registry were far larger than 20 rows
    monkeypatch.setattr(queries, "WINDOW_PER_ROW", 2)
    expected = sorted(scan(library, "era5"))
    first = registry.search("era5", sort="name", limit=2)
    assert not first.total_exact and first.total > len(first.items) == 2
    assert 5 <= first.total <= 60, "an estimate of the same order as the truth (15)"
    pages = [registry.search("era5", sort="name", offset=o, limit=2) for o in range(0, 18, 2)]
    assert [i.name for p in pages for i in p.items] == expected
    assert pages[-1].items == [] and pages[-1].total_exact  # past the window: the exact match path
    assert pages[-1].total == 15


def test_a_selective_text_keeps_an_exact_total(shared_library, monkeypatch) -> None:
    registry, _ = shared_library
    from ddas.registry import queries

    monkeypatch.setattr(queries, "WINDOW", 12)
    page = registry.search("merra2_0014", limit=5)
    assert page.total_exact and page.total == 1
    assert registry.search("era5", sort="copies", limit=2).total_exact


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


def test_a_mid_size_match_is_built_once_per_page_and_counted_only_at_its_end(
    shared_library, monkeypatch
) -> None:
    """A text too broad to list by id and too rare for the sort-order window is matched as the
    page's subquery: a full page estimates its total instead of building the match again to count
    it; the short last page says the exact total, and so does a page past the end."""
    registry, library = shared_library
    from ddas.registry import queries

    monkeypatch.setattr(search, "MATERIALIZE", 3)  # "era5" (15 matches) is broad
    monkeypatch.setattr(queries, "WINDOW", 4)  # and 4 rows of the sort order never hold a page
    monkeypatch.setattr(queries, "WINDOW_PER_ROW", 0)
    monkeypatch.setattr(queries, "WINDOW_MAX", 4)  # nor may a walk of the index read more
    counted: list[str] = []

    def count_of_match(conn, cursor, statement, *args) -> None:
        if "count(" in statement and re.search(r"UNION (?!ALL)", statement):
            counted.append(statement)

    expected = sorted(scan(library, "era5"), key=str.lower)
    sa.event.listen(registry.engine, "before_cursor_execute", count_of_match)
    try:
        pages = [registry.search("era5", sort="name", offset=o, limit=4) for o in (0, 4, 8, 12)]
        assert not counted, "a full page or the short last one never counts the match"
        past = registry.search("era5", sort="name", offset=16, limit=4)
    finally:
        sa.event.remove(registry.engine, "before_cursor_execute", count_of_match)
    assert [i.name for p in pages for i in p.items] == expected
    assert all(not p.total_exact and p.total >= 4 for p in pages[:3])
    assert (pages[-1].total, pages[-1].total_exact, len(pages[-1].items)) == (15, True, 3)
    assert (past.total, past.total_exact, past.items) == (15, True, [])
    assert counted, "only the page past the end counts"


UNION_WALK = re.compile(r"\) AS anon_\d+\s+WHERE anon_\d+\.id IN \(SELECT digests")


def test_a_burst_of_other_datasets_does_not_make_a_topic_build_its_whole_match(
    registry, library, monkeypatch
) -> None:
    """New downloads that match nothing push a broad text's hits out of the first rows of
    ``-last_used``, so the window's estimate of it is far too low. The walk that follows tests
    rows of the sort order one by one, as the window does, instead of building every matching
    id (a topic's 50,000 at a million copies) to test them against; pages stay the full match's.
    """
    from ddas.registry import queries

    for i in range(12):  # the burst: the newest datasets, none of them "era5"
        registry.record_download(
            url=f"https://burst.example.org/x/{i}.bin",
            validators=Validators(size=1000 + i),
            blake3=b3(1000 + i),
            size=1000 + i,
            location=f"/store/burst{i}",
            name=f"burst_{i}.bin",
            owner="bob",
        )
    monkeypatch.setattr(search, "MATERIALIZE", 3)  # "era5" (15 matches) is broad
    monkeypatch.setattr(queries, "WINDOW", 4)  # the window sees the burst alone
    monkeypatch.setattr(queries, "WINDOW_PER_ROW", 0)
    ran: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:
        ran.append(statement)

    order = list(library)  # recorded in this order, so -last_used is newest first
    expected = sorted(scan(library, "era5"), key=order.index, reverse=True)
    sa.event.listen(registry.engine, "before_cursor_execute", on_execute)
    try:
        pages = [registry.search("era5", offset=o, limit=4) for o in (0, 4, 8, 12)]
    finally:
        sa.event.remove(registry.engine, "before_cursor_execute", on_execute)
    assert [i.name for p in pages for i in p.items] == expected
    assert (pages[-1].total, pages[-1].total_exact, len(pages[-1].items)) == (15, True, 3)
    built = [q for q in ran if UNION_WALK.search(q) or re.search(r"UNION (?!ALL)", q)]
    assert ran and not built, "the whole match was built:\n" + "\n".join(built)
    monkeypatch.setattr(queries, "ROW_TEST_MAX", 0)  # the same pages from the ids' walk
    again = [registry.search("era5", offset=o, limit=4) for o in (0, 4, 8, 12)]
    assert [i.name for p in again for i in p.items] == expected


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


def test_a_mid_size_match_is_paged_by_walking_the_sort_order(shared_library, monkeypatch) -> None:
    """A text too broad to list by id and too rare for the row-tested window is paged by walking
    the sort order's index, each row tested against the match's ids (no fetch-and-sort of every
    match); a walk that covers the table says the exact total, one that does not an estimate.
    Pages are the full match's, in order, in every sort."""
    registry, library = shared_library
    from ddas.registry import queries

    monkeypatch.setattr(search, "MATERIALIZE", 3)  # "era5" (15 matches) is broad
    monkeypatch.setattr(queries, "WINDOW", 4)  # 4 rows of the sort order never hold a page
    monkeypatch.setattr(queries, "WINDOW_PER_ROW", 0)
    monkeypatch.setattr(queries, "ROW_TEST_MAX", 0)  # every walk tests rows against the ids
    walked: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:
        if UNION_WALK.search(statement):
            walked.append(statement)

    sa.event.listen(registry.engine, "before_cursor_execute", on_execute)
    try:
        for sort, key in [("name", str.lower), ("-name", str.lower), ("id", None)]:
            pages = [registry.search("era5", sort=sort, offset=o, limit=4) for o in (0, 4, 8, 12)]
            names = [i.name for p in pages for i in p.items]
            if key is None:
                assert sorted(names) == sorted(scan(library, "era5")), sort
            else:
                expected = sorted(scan(library, "era5"), key=key, reverse=sort.startswith("-"))
                assert names == expected, sort
            last = pages[-1]
            assert (last.total, last.total_exact, len(last.items)) == (15, True, 3)
        first = registry.search("era5", sort="name", limit=2)
        assert first.total >= 3 and len(first.items) == 2
    finally:
        sa.event.remove(registry.engine, "before_cursor_execute", on_execute)
    assert walked, "the pages came from walking the index"
