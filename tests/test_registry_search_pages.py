"""How search pages a text too broad to list by id: from the first rows of the sort order (the
window), by walking that order's index, or by building the match; each way gives the full match's
pages, in order, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from ddas.identity import Validators
from ddas.registry import search
from tests.fixtures.search_library import b3, scan


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


UNION_WALK = re.compile(r"\) AS anon_\d+\s+WHERE anon_\d+\.id IN \(SELECT ")


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


def test_a_burst_of_other_datasets_does_not_make_a_topic_build_its_whole_match(
    registry, library, monkeypatch
) -> None:
    """New downloads that match nothing push a broad text's hits out of the first rows of
    ``-last_used``, so the window's estimate of it is far too low. A sample of random rows
    estimates it again, and the first page comes from testing rows of the sort order one by one,
    as the window does, instead of building every matching id (a topic's 50,000 at a million
    copies) to test them against. Every page is the full match's, by either walk.
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
    monkeypatch.setattr(queries, "ROW_COST", {})  # a row test costs one id's worth, as on SQLite
    ran: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:
        ran.append(statement)

    order = list(library)  # recorded in this order, so -last_used is newest first
    expected = sorted(scan(library, "era5"), key=order.index, reverse=True)
    sa.event.listen(registry.engine, "before_cursor_execute", on_execute)
    try:
        first = registry.search("era5", limit=2)  # 2 of 15: rows to test fewer than the ids
    finally:
        sa.event.remove(registry.engine, "before_cursor_execute", on_execute)
    assert [i.name for i in first.items] == expected[:2] and first.total >= 2
    built = [q for q in ran if UNION_WALK.search(q) or re.search(r"UNION (?!ALL)", q)]
    assert ran and not built, "the whole match was built:\n" + "\n".join(built)
    pages = [registry.search("era5", offset=o, limit=4) for o in (0, 4, 8, 12)]
    assert [i.name for p in pages for i in p.items] == expected
    assert (pages[-1].total, pages[-1].total_exact, len(pages[-1].items)) == (15, True, 3)
    monkeypatch.setattr(queries, "ROW_TEST_MAX", 0)  # the same pages from the ids' walk
    again = [registry.search("era5", offset=o, limit=4) for o in (0, 4, 8, 12)]
    assert [i.name for p in again for i in p.items] == expected


def test_postgresql_calls_a_text_broad_from_its_table_samples(shared_library, monkeypatch) -> None:
    """A GIN scan cannot stop at a LIMIT: to learn that a topic has over ``MATERIALIZE`` matches
    pg_trgm re-checks every row with its trigrams. When the table samples hold the text in
    enough rows, PostgreSQL's search skips asking (SQLite's FTS join does stop, and asks); the
    pages are the full match's either way."""
    registry, library = shared_library
    with registry.engine.begin() as conn:
        postgresql = conn.dialect.name == "postgresql"
        if postgresql:
            conn.exec_driver_sql("ANALYZE contents")
            conn.exec_driver_sql("ANALYZE sources")
    monkeypatch.setattr(search, "PG_RARE_MIN_ROWS", 0)  # sample even this small table
    monkeypatch.setattr(search, "_PG_SAMPLES", {})
    monkeypatch.setattr(search, "PG_BROAD_HITS", 3)
    monkeypatch.setattr(search, "MATERIALIZE", 1)  # "era5" (15 of 60) is broad
    asked: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:
        if re.search(r"LIKE .* LIMIT", statement, re.S) and "UNION" not in statement:
            asked.append(statement)

    expected = sorted(scan(library, "era5"), key=str.lower)
    sa.event.listen(registry.engine, "before_cursor_execute", on_execute)
    try:
        pages = [registry.search("era5", sort="name", offset=o, limit=5) for o in (0, 5, 10)]
    finally:
        sa.event.remove(registry.engine, "before_cursor_execute", on_execute)
    assert [i.name for p in pages for i in p.items] == expected
    if postgresql:
        assert not asked, "asked a trigram branch for its ids:\n" + "\n".join(asked)
    else:
        assert asked, "SQLite's FTS branches are asked (their LIMIT stops the join)"
    selective = registry.search("merra2_0014", limit=5)  # in no sample row: asked, exact
    assert selective.total_exact and [i.name for i in selective.items] == ["merra2_0014.nc"]


@contextmanager
def _statements(registry) -> Iterator[list[str]]:
    """The statements ``registry`` runs inside the block, each on one line."""
    ran: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:
        ran.append(" ".join(statement.split()))

    sa.event.listen(registry.engine, "before_cursor_execute", on_execute)
    try:
        yield ran
    finally:
        sa.event.remove(registry.engine, "before_cursor_execute", on_execute)


def _words(registry, names: dict[str, list[str]]) -> None:
    """Give the datasets of these names these metadata words (as a file's description would)."""
    from ddas.metadata import Extracted

    ids = {i.name: i.id for i in registry.search("", limit=500).items}
    for name, words in names.items():
        found = Extracted("netcdf", {}, "", None, words, 0.0)
        registry.record_metadata(ids[name], found)


def test_a_broad_metadata_word_tests_each_row_for_that_word_alone(
    registry, library, monkeypatch
) -> None:
    """A metadata word that no name, URL, alias or annotation holds is row-tested by one index
    probe (its branches that found nothing are left out of the row predicate), and its pages are
    still the full match's. A word also in names keeps every arm that found something: the
    datasets named "era5" and those described so are found together."""
    from ddas.registry import queries

    order = list(library)  # recorded in this order, so -last_used is newest first
    humid = order[::3]  # 20 datasets described with "humidity", no name or URL holds it
    described = [n for n in order[1::3] if "era5" not in n][:5]  # "era5" in their metadata only
    _words(registry, {n: ["humidity"] for n in humid} | {n: ["era5"] for n in described})
    monkeypatch.setattr(search, "MATERIALIZE", 3)  # both texts are broad
    monkeypatch.setattr(queries, "WINDOW", 4)
    monkeypatch.setattr(queries, "WINDOW_PER_ROW", 0)
    with _statements(registry) as ran:
        pages = [registry.search("humidity", offset=o, limit=4) for o in range(0, 24, 4)]
    tests = [q for q in ran if "EXISTS" in q and "metadata_words" in q]
    assert [i.name for p in pages for i in p.items] == sorted(humid, key=order.index, reverse=True)
    assert (pages[-1].total, pages[-1].total_exact) == (20, True)
    assert tests, "the rows were tested against the metadata words"
    for sql in tests:
        assert " LIKE " not in sql and "sources" not in sql and "digests" not in sql, sql
    both = scan(library, "era5") | set(described)
    found = [registry.search("era5", offset=o, limit=4) for o in range(0, 24, 4)]
    assert [i.name for p in found for i in p.items] == sorted(both, key=order.index, reverse=True)


def test_a_broad_match_of_two_metadata_words_is_paged_from_rows_sized_by_its_rarest_word(
    registry, library, monkeypatch
) -> None:
    """Two metadata words no name, URL or annotation holds: the one statement probing their
    ranges also says no annotation holds them (those branches are not asked), the window is
    sized by how common the rarer word is, and the pages are the full match's, in order."""
    from ddas.registry import queries

    order = list(library)
    humid = order[::3]
    relative = humid[::2]  # 10 datasets with both words, 10 with "humidity" alone
    _words(registry, {n: ["humidity", *(["relative"] if n in relative else [])] for n in humid})
    monkeypatch.setattr(search, "MATERIALIZE", 3)
    monkeypatch.setattr(queries, "WINDOW", 4)
    monkeypatch.setattr(queries, "WINDOW_PER_ROW", 0)
    with _statements(registry) as ran:
        pages = [registry.search("relative humidity", offset=o, limit=3) for o in range(0, 12, 3)]
    assert [i.name for p in pages for i in p.items] == sorted(relative, key=order.index)[::-1]
    assert (pages[-1].total, pages[-1].total_exact) == (10, True)
    notes = [q for q in ran if "FROM annotations" in q]
    assert ran and not notes, "\n".join(notes)
    none = registry.search("relative humidty")  # a typo: in no metadata, nothing is walked
    assert none.total == 0 and none.items == []
