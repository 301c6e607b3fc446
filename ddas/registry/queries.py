"""Read side of the registry: the dataset listing and its search (details: ``details``).

A search is a few named steps (see ``Datasets.search``): check the sort and the page, find
the matching ids through the index-driven branches of :mod:`ddas.registry.search`, then page them
in one of three ways depending on how many match. Reports (duplicates, stats, events) live in
:mod:`ddas.registry.reports`, the hot-path lookups in :mod:`ddas.registry.lookups`.
"""

from __future__ import annotations

import math
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from ddas.records import MAX_PAGE, Page
from ddas.registry import pagecache, searchsql
from ddas.registry import search as _search
from ddas.registry.database import RegistryPart
from ddas.registry.metasearch import MAX_QUERY_WORDS, PROBE
from ddas.registry.models import Source
from ddas.registry.pagesql import (
    Ask,
    matched,
    ordering,
    sampled_hits,
    scalar,
    scalars,
    statement,
    walk,
    window_hits,
)
from ddas.registry.search import Match
from ddas.registry.searchsql import bound
from ddas.registry.summaries import summaries

MAX_LIMIT = MAX_PAGE
#: Rows of the sort order a broad search reads for its page: at least WINDOW, WINDOW_PER_ROW per row
#: up to the page's end, at most WINDOW_MAX (see ``Datasets._window_page``).
WINDOW, WINDOW_PER_ROW, WINDOW_MAX = 2_000, 40, 50_000
#: The window reads this many times the rows the sample's share says the page needs: 200 ids
#: put a topic's 9 % at 5-13 %, and a window that falls short costs another statement or two.
WINDOW_MARGIN = 2.0
WALK_MARGIN = 1.25  # a mid-size match's walk reads this many times the rows its estimate needs
#: Up to this many rows, a walk may test each row of the sort order (``pagesql.window_hits``)
#: rather than against the whole match's ids (``pagesql.walk``; see ``Datasets._walk``): at 1M
#: copies a topic's 50,000 ids cost 130-190 ms to build (SQLite), testing 8,000 rows 28 ms.
ROW_TEST_MAX = 8_000
#: What testing a row costs, in ids of the match built (``Datasets._walk``), at 1M copies: both
#: 3-6 us on SQLite; PostgreSQL tests a row in 8-25 us, builds a topic's 50,000 ids in ~300 ms.
ROW_COST = {"sqlite": 1, "postgresql": 4}
#: The same for a match of words alone (see ``_row_cost``): SQLite tests such a row in ~1 us,
#: PostgreSQL in 0.3-0.5 us, against 3 and ~6 us for each id of the match built.
WORD_ROW_COST = {"sqlite": 0.3, "postgresql": 0.1}
#: Ids, picked at random, whose row test estimates a match the window could not page: 200 cost
#: 3-5 ms (SQLite) or ~10 ms (PostgreSQL) at 1M copies, and tell a topic (9 %: 18 +- 4 hits)
#: from a match too rare to row-test.
SAMPLE = 200


def _row_cost(dialect: str, match: Match) -> tuple[float, int]:
    """What testing one row of this match costs, in ids of the match built, and how many rows
    a walk may test (the time ``ROW_TEST_MAX`` rows of every arm take, at most 4x the rows).

    ``ROW_COST`` was measured with every arm of the row predicate; fewer arms cost their share
    of its probes. A match of words alone (its name and URL branches found nothing) costs
    ``WORD_ROW_COST``: 0.8-1.2 us a row on SQLite, 0.3-0.5 on PostgreSQL at 1M copies, for one
    metadata word or two (see ``pagesql.window_hits``)."""
    key = match.row_key
    if searchsql.words_only(key):
        cost = WORD_ROW_COST.get(dialect, 1.0)
    else:
        cost = ROW_COST.get(dialect, 1) * searchsql.probes(key) / searchsql.FULL_PROBES
    return cost, round(ROW_TEST_MAX * min(4.0, ROW_COST.get(dialect, 1) / cost))


def _unsampled_width(match: Match, need: int, rows: int, width: int) -> int:
    """The window of a match of words alone, which is not sampled: what a match of half the rows
    needs, or, when the probe of its rarest word says how large a share it can be at most
    (``Match.reach``), what that share needs, up to ``ROW_TEST_MAX`` rows. That share only sizes
    the window (one statement where two would do); the total shown is the window's own."""
    half = math.ceil(2 * WINDOW_MARGIN * need)
    if match.reach is None or not match.reach[0]:
        return min(width, half)
    entries, last = match.reach
    share = entries / rows if entries < PROBE else entries / max(last, entries)
    return max(min(width, half), min(ROW_TEST_MAX, math.ceil(WINDOW_MARGIN * need / share)))


def _width(offset: int, limit: int) -> int:
    """How many rows of the sort order the window may test for this page (see ``WINDOW``)."""
    return min(WINDOW_MAX, max(WINDOW, WINDOW_PER_ROW * (offset + limit)))


class Datasets(RegistryPart):
    """The dataset listing and its search; every method opens and closes its own read transaction."""

    def warm(self, connections: int = 4) -> None:
        """Do now what a server's first searches would otherwise pay for: open ``connections``
        pooled connections, take the search's samples (:func:`ddas.registry.search.warm`), and
        run each kind of search once, so its statements are compiled and its pages cached. An
        SQLite file (PostgreSQL: the search's relations) is first read into the page cache
        (:mod:`ddas.registry.pagecache`)."""
        opened = [self.engine.connect() for _ in range(max(1, connections))]
        try:
            pagecache.warm(opened[0])
            _search.warm(opened[0])
            opened[0].rollback()
        finally:
            for conn in opened:
                conn.close()
        for text in self._warm_texts() * 2:  # some shapes get their lasting cache key the 2nd time
            self.search(text, limit=50)

    def _warm_texts(self) -> list[str]:
        """Search texts of every shape a user's search may take: a fragment of a registered URL
        (its trigrams exist, so the index branches are built), and 2 to MAX_QUERY_WORDS words,
        since statements differ by the count of a text's words (a URL fragment has many) and by
        how many are short (a file name's ``nc``)."""
        with self._read() as s:
            url = s.scalar(select(Source.url).order_by(Source.id.desc()).limit(1))
        fragment = url.split("://")[-1][:40] if url else "warm-up.example.org/ddas/2026"
        words = [" ".join(f"ddaswarm{j}" for j in range(k)) for k in range(1, MAX_QUERY_WORDS + 1)]
        return ["", "ddas-warm-up", fragment, *words[1:], *(f"{w} nc" for w in words[:-1])]

    def search(
        self,
        q: str = "",
        *,
        owner: str | None = None,
        sort: str = "-last_used",
        offset: int = 0,
        limit: int = 50,
    ) -> Page:
        """Contents whose name, URL or digest matches ``q`` (substring), one page at a time.

        The match is a UNION of index-driven branches (``ddas.registry.search``), so a selective
        text costs milliseconds at a million copies instead of two table scans. A selective text
        (the usual case) becomes a short id list; a broad one is paged from the sort order
        (``_window_page``), or, when that cannot serve the page, matched as a subquery. Every
        statement is built once per shape (``_statement``) with the text's values bound.
        """
        ordering(sort)  # a bad sort is the caller's error before any statement is built
        if not (offset >= 0 and 1 <= limit <= MAX_LIMIT):
            raise ValueError(f"need offset >= 0 and 1 <= limit <= {MAX_LIMIT}")
        text = q.replace("\x00", "").strip().lower()
        ask = Ask(
            sort, owner is not None, {"owner": owner, "page_offset": offset, "page_limit": limit}
        )
        with self._read() as s:
            if not text:
                return self._page(s, ask, offset, limit)
            match = _search.branches(s.connection(), text)
            ask.params.update(match.params)
            ids, match = _search.ids_upto(s.connection(), match, _search.MATERIALIZE)
            if ids is not None:
                ask.params["ids"] = sorted(ids)
                return self._listed_page(s, ask, offset, limit)
            rows = s.scalar(statement("max_id", "", False)) or 0  # ids: dense enough to estimate
            sampled = self._sampled(s, ask, match, rows) if rows > _width(offset, limit) else None
            page, estimate, seen = self._window_page(s, ask, match, (offset, limit), rows, sampled)
            if page is not None:
                return page
            # no filter: some branch found more than MATERIALIZE, so the match is at least that
            floor = offset + limit if owner else _search.MATERIALIZE + 1
            estimate = max(floor, estimate, sampled or 0)
            walked = self._walked_page(s, ask, match, (offset, limit), (rows, estimate), seen)
            if walked is not None:
                return walked
            return self._matched_page(s, ask, match, (offset, limit), estimate)

    def _page(self, s: Session, ask: Ask, offset: int, limit: int) -> Page:
        """The page of all contents (or an owner's), with their exact count. Without a filter
        that is every content: the type tallies' sum (``ddas.registry.tallies`` keeps it equal to
        a recount), not a count of the whole table (tens of milliseconds at a million copies)."""
        if ask.owned:
            total = scalar(s, statement("count", "", True), ask.params) or 0
        else:
            total = int(s.scalar(statement("tallied", "", False)) or 0)  # PG: numeric
        rows = scalars(s, statement("ordered", ask.sort, ask.owned), ask.params)
        items = summaries(s, list(rows))
        return Page(total=total, offset=offset, limit=limit, items=items)

    def _listed_page(self, s: Session, ask: Ask, offset: int, limit: int) -> Page:
        """The page of a short id list (``ids``, at most ``MATERIALIZE``) and its exact count in
        one statement: ``count(*) OVER ()`` counts the rows the page is sorted from."""
        listed = statement("listed", ask.sort, ask.owned)
        rows = s.execute(listed, bound(listed, ask.params)).all()
        count = statement("count_listed", "", ask.owned)
        total = rows[0].total if rows else (scalar(s, count, ask.params) or 0) if offset else 0
        items = summaries(s, [r[0] for r in rows])
        return Page(total=total, offset=offset, limit=limit, items=items)

    def _sampled(self, s: Session, ask: Ask, match: Match, rows: int) -> int | None:
        """The match's size estimated from ``SAMPLE`` ids picked at random from the table's
        (``rows``: its largest id).

        The window's own estimate comes from the first rows of the sort order, which can be
        anything but typical: after a burst of new downloads that match nothing, the first 2,000
        rows of ``-last_used`` held none of a topic's 50,000 hits, and the walk that followed
        built all 50,000 ids to test 11,000 rows against them (130-470 ms). Testing 200 rows
        picked by primary key costs a few milliseconds. At random, not evenly spaced: a stride
        can fall in step with how the rows were registered (every tenth file a topic's).

        None for a match of words alone: its rows cost ~1 us each to test, so its window and
        walk test them first and let their hits size the rest (``_walk``), for less than the
        sample costs (PostgreSQL: 4-5 ms of a 35 ms two-word search at 1M copies)."""
        if searchsql.words_only(match.row_key):
            return None
        ids = sorted(random.Random(rows).sample(range(1, rows + 1), min(rows, SAMPLE)))
        sampled = sampled_hits(s.get_bind().dialect.name, ask.owned, match.row_key)
        return round(scalar(s, sampled, {**ask.params, "ids": ids}) * rows / max(1, len(ids)))

    def _walked_page(
        self,
        s: Session,
        ask: Ask,
        match: Match,
        window: tuple[int, int],
        sizes: tuple[int, int],
        seen: tuple[list[int], int],
    ) -> Page | None:
        """The page of a mid-size match (too many to list by id, too few for the window's row
        test to fill a page), by walking the sort order's index; None when the walk would read
        more than ``WINDOW_MAX`` rows (a deep page: the match is built instead).

        Fetching thousands of matching rows by id and sorting them all for 50 (SQLite: 17 ms
        for 7,500), or PostgreSQL's plan for it (a scan of the whole table), costs more than
        walking the ~``need / share`` first rows of the index. The walk's width comes from the
        ``estimate`` of the match's size, and grows if the matches are not spread evenly. Its
        total is that of the window pages: exact if the walk covered the table, else estimated.
        ``sizes``: the table's largest id and the match's estimated size; ``seen``: the
        window's hits and width, which the walk need not test again.
        """
        offset, limit = window
        need = offset + limit
        rows, estimate = sizes
        width = max(WINDOW, math.ceil(WALK_MARGIN * need * rows / max(estimate, 1)))
        walked = self._walk(s, ask, match, (need, rows, width, estimate), seen)
        if walked is None:
            return None
        hits, width = walked
        ids = hits[offset:need]
        by_id = {c.id: c for c in s.scalars(statement("by_ids", "", False), {"ids": ids})}
        items = summaries(s, [by_id[i] for i in ids if i in by_id])
        if rows <= width:
            return Page(total=len(hits), offset=offset, limit=limit, items=items)
        total = max(estimate, need, round(len(hits) * rows / width))
        return Page(total=total, offset=offset, limit=limit, items=items, total_exact=False)

    def _walk(
        self,
        s: Session,
        ask: Ask,
        match: Match,
        sizes: tuple[int, int, int, int],
        seen: tuple[list[int], int],
    ) -> tuple[list[int], int] | None:
        """The matching ids among the first ``width`` rows of the sort order (``width`` grown
        until they hold ``need``, or the table), and that width; None past ``WINDOW_MAX``.
        ``sizes``: ``need``, ``rows`` (the table's), ``width`` and the match's estimated size;
        ``seen``: the row test's hits so far and how many rows it tested (the window's).

        Testing each row as the window does (``pagesql.window_hits``) costs ``ROW_COST`` times
        what building one of the match's ids does; so the walk tests rows while that costs less
        than the match's ids, up to ``ROW_TEST_MAX`` rows, and then tests rows against the ids
        (``pagesql.walk``), once and far: building them costs the same for any width.
        """
        need, rows, width, estimate = sizes
        row_cost, row_max = _row_cost(s.get_bind().dialect.name, match)
        # Rows of words alone cost ~1 us: first test twice the rows the estimate needs (a second
        # statement costs more than they do), up to ROW_TEST_MAX, and let their hits size the
        # rest. Up to row_max their rows cost less than their ids: the words' probe join reads
        # every candidate of the rarest word, not only the matches (SQLite: 45 ms, 1,662 ids).
        words = probe = searchsql.words_only(match.row_key)
        width = max(min(2 * width, max(ROW_TEST_MAX, 2 * seen[1])), seen[1]) if probe else width
        while True:
            if width > WINDOW_MAX and rows > WINDOW_MAX:
                return None
            costly = not words and (width - seen[1]) * row_cost > estimate
            if not probe and (width > row_max or costly):
                far = max(width, min(WINDOW_MAX, 2 * width))  # ids cost alike for any width
                return self._ids_walk(s, ask, match, (need, rows), far)
            probe = False
            before, seen = seen, (self._tested(s, ask, match, seen, width), width)
            if len(seen[0]) >= need or rows <= width:
                return seen
            estimate = max(estimate, round(len(seen[0]) * rows / width))  # what the rows show
            expected = width * estimate / max(rows, 1)  # the hits the sample's share promises
            if width >= row_max and 4 * len(seen[0]) < need <= expected / 4:
                return None  # the hits are bunched past these rows (a topic sorted by name)
            width = self._wider(need, before, seen)

    def _ids_walk(
        self, s: Session, ask: Ask, match: Match, sizes: tuple[int, int], width: int
    ) -> tuple[list[int], int] | None:
        """Rows tested against the match's ids (``pagesql.walk``) from ``width`` on, 4x wider each
        time until they hold ``need`` (``sizes``: ``need``, ``rows``); None past ``WINDOW_MAX``."""
        need, rows = sizes
        walked = walk(ask.sort, ask.owned, match.key)
        while not (width > WINDOW_MAX and rows > WINDOW_MAX):
            hits = scalars(s, walked, {**ask.params, "window": width}).all()
            if len(hits) >= need or rows <= width:
                return hits, width
            width *= 4
        return None

    @staticmethod
    def _wider(need: int, before: tuple[list[int], int], now: tuple[list[int], int]) -> int:
        """How far the row test goes next: as far as the hits of its last rows say the page
        needs, or twice as far if those held none. The last rows, not all: the first ones may be
        a burst of other datasets, and their share of hits says nothing of the rest."""
        found, tested = len(now[0]) - len(before[0]), now[1] - before[1]
        if not found:
            return 2 * now[1]
        more = math.ceil(WALK_MARGIN * (need - len(now[0])) * tested / found)
        return now[1] + max(more, WINDOW)

    def _tested(
        self, s: Session, ask: Ask, match: Match, seen: tuple[list[int], int], width: int
    ) -> list[int]:
        """The row test's hits among the first ``width`` rows of the sort order; ``seen`` (the
        window's hits, and how many rows it tested) are not tested again."""
        hits, tested = seen if seen[1] <= width else ([], 0)
        more = {**ask.params, "skip": tested, "window": width - tested}
        return [*hits, *scalars(s, window_hits(ask.sort, ask.owned, match.row_key), more).all()]

    def _matched_page(
        self, s: Session, ask: Ask, match: Match, window: tuple[int, int], estimate: int
    ) -> Page:
        """The page of a text too broad to list by id and too rare for the window: the match is
        built once, as the page's subquery, and not a second time to count it.

        A page shorter than ``limit`` ends the match, so its total is exact; a full page says
        ``estimate`` (from the window's share of hits, ``total_exact=False``). Only a page past the
        end, which shows nothing, counts the match.
        """
        offset, limit = window
        rows = list(scalars(s, matched(ask.sort, ask.owned, match.key), ask.params))
        if len(rows) == limit:
            total = max(estimate, offset + limit)
            items = summaries(s, rows)
            return Page(total=total, offset=offset, limit=limit, items=items, total_exact=False)
        if rows or not offset:
            total = offset + len(rows)
        else:
            total = scalar(s, matched("", ask.owned, match.key), ask.params) or 0
        return Page(total=total, offset=offset, limit=limit, items=summaries(s, rows))

    def _window_page(
        self,
        s: Session,
        ask: Ask,
        match: Match,
        window: tuple[int, int],
        rows: int,
        sampled: int | None,
    ) -> tuple[Page | None, int, tuple[list[int], int]]:
        """The page of a *broad* text, from the first rows in sort order alone, and the estimated
        total; no page if the text is too selective for that (then the match is built instead).

        The hits among the first W rows of the sort order are exactly the first hits overall, so
        pages are the ones the full match would give. W grows with the page's depth. On a table
        larger than W, the match's size estimated from a random sample (``sampled``, see
        :meth:`_sampled`) sizes W: a text in half the rows fills a page of 50 from ~200 of them
        (PostgreSQL tests a row in 8-25 us), and a text too rare to fill it from W rows is not
        tested at all (the walk that follows does not test them again either); a match of words
        alone is not sampled, and W is what a match of half the rows would need. The total is
        exact when W covers the table, else estimated from the share of hits in the window
        (``total_exact=False``): counting 50,000 matches would cost more than the page itself.
        ``rows``: the table's largest id.
        """
        offset, limit = window
        width = _width(offset, limit)
        if rows > width and sampled is not None:
            share = max(sampled, 1) / max(rows, 1)
            needed = math.ceil(WINDOW_MARGIN * (offset + limit) / share)
            if needed > width:
                return None, sampled, ([], 0)
            width = needed
        elif rows > width:  # words alone (not sampled): see _unsampled_width
            width = _unsampled_width(match, offset + limit, rows, width)
        hits = self._tested(s, ask, match, ([], 0), width)
        covered = rows <= width
        estimate = max(len(hits) + 1, round(len(hits) * rows / width))
        if not covered and len(hits) < offset + limit:
            return None, estimate, (hits, width)
        ids = hits[offset : offset + limit]
        by_id = {c.id: c for c in s.scalars(statement("by_ids", "", False), {"ids": ids})}
        items = summaries(s, [by_id[i] for i in ids if i in by_id])
        if covered:
            page = Page(total=len(hits), offset=offset, limit=limit, items=items)
            return page, len(hits), (hits, width)
        page = Page(total=estimate, offset=offset, limit=limit, items=items, total_exact=False)
        return page, estimate, (hits, width)
