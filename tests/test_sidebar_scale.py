"""The sidebar on a registry too big to count every match of a broad search: the Datasets list says
"about N", pages on, and shows the exact count once the server knows it; the Duplicates and Savings
tabs paint from the registry's running totals (3,000 duplicate groups, largest waste first).

How long a first paint takes is printed, not asserted (a loaded machine); the figure at 1M copies is
in benchmarks/README.md (``benchmarks/sidebar_paint.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.fixtures.lab import (
    Lab,
    isolated_asyncio_loop,
    no_server_cleanup,
    open_lab,
    screenshot,
    show_sidebar,
    start_lab,
    stop_lab,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)
TIMEOUT = 20_000
N = 6_000  # above the 4,000-row window of a 100-row first page: its total is estimated


jp_server_cleanup = pytest.fixture(no_server_cleanup)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """6,000 contents, every other one a "survey_*.nc" (3,000 match "survey") held in two places
    (a duplicate), the others in one; bob reused one 10 times. Inserted in bulk, then counted."""
    from ddas.registry import Registry
    from ddas.registry.models import Content, Copy, Event

    base = tmp_path_factory.mktemp("scale")
    registry = Registry(f"sqlite:///{base / 'registry.db'}")
    now = time.time()
    rows = [
        {
            "id": i,
            "blake3": f"{i:064x}",
            "size": 1000 + i,
            "created_at": now - i,
            "name": f"survey_{i:05d}.nc" if i % 2 == 0 else f"other_{i:05d}.csv",
            "ext": ".nc" if i % 2 == 0 else ".csv",
            "last_used_at": now - i,
        }
        for i in range(1, N + 1)
    ]
    copies = [
        {
            "content_id": i,
            "host": "hpc",
            "location": f"/data/{k}/{i}",
            "owner": ("alice", "bob")[k],
            "state": "present",
            "in_store": False,
            "size": 1000 + i,
            "device": 1,
            "inode": 2 * i + k,
            "created_at": now,
        }
        for i in range(1, N + 1)
        for k in ((0, 1) if i % 2 == 0 else (0,))
    ]
    reuses = [
        {"kind": "reuse", "user": "bob", "at": now, "content_id": 2, "bytes": 1002}
        for _ in range(10)
    ]
    with registry.engine.begin() as conn:
        conn.execute(sa.insert(Content.__table__), rows)
        conn.execute(sa.insert(Copy.__table__), copies)
        conn.execute(sa.insert(Event.__table__), reuses)
    registry.rebuild_tallies()
    root = base / "root"
    root.mkdir()
    lab = start_lab(
        root,
        {"DDAS_REGISTRY": registry.url, "DDAS_STORE": str(base / "store"), "DDAS_USER": "alice"},
    )
    yield lab
    stop_lab(lab)


def test_a_broad_search_says_about_then_exact_after_paging(lab: Lab, browser: object) -> None:
    page = open_lab(browser, lab, "lab/workspaces/scale")
    try:
        show_sidebar(page)
        count = page.locator(".jp-ddas-count")
        expect(count).to_have_text("6,000 datasets", timeout=TIMEOUT)  # no text: counted exactly
        page.get_by_test_id("ddas-search-input").fill("survey")
        expect(count).to_have_text("about 3,000 datasets", timeout=TIMEOUT)
        rows = page.locator('[data-testid="ddas-result-row"] .jp-ddas-row-name')
        expect(rows.first).to_have_text("survey_00002.nc")  # most recently used first
        screenshot(page, "sidebar-broad-search")
        page.get_by_test_id("ddas-load-more").click()
        expect(count).to_have_text("3,000 datasets", timeout=TIMEOUT)  # the window now covers all
        page.get_by_test_id("ddas-search-input").fill("other_00001")
        expect(count).to_have_text("1 dataset", timeout=TIMEOUT)
        expect(rows).to_have_text(["other_00001.csv"])
    finally:
        page.close()


def first_paint(page, tab: str, ready) -> float:
    """Seconds from clicking a tab to ``ready`` being visible (printed: a figure, not a test)."""
    started = time.perf_counter()
    page.get_by_test_id(f"ddas-tab-{tab}").click()
    expect(ready).to_be_visible(timeout=TIMEOUT)
    seconds = time.perf_counter() - started
    print(f"{tab} tab first paint at {N:,} contents: {seconds * 1000:.0f} ms")
    return seconds


def test_duplicates_and_savings_paint_from_the_running_totals(lab: Lab, browser: object) -> None:
    page = open_lab(browser, lab, "lab/workspaces/scale-tabs")
    try:
        show_sidebar(page)
        groups = page.get_by_test_id("ddas-duplicate-group")
        first_paint(page, "duplicates", groups.first)
        summary = page.get_by_test_id("ddas-duplicates-summary")
        expect(summary).to_have_text("12.0 MB wasted in 3,000 duplicated datasets")
        expect(groups).to_have_count(50)  # one page
        expect(groups.first.locator(".jp-ddas-row-name")).to_have_text("survey_06000.nc")
        expect(groups.first.locator(".jp-ddas-group-waste")).to_have_text("7.0 kB wasted")
        more = page.get_by_text("Load more (2,950 left)")
        expect(more).to_be_visible()
        screenshot(page, "sidebar-scale-duplicates")
        more.click()  # the next page starts at the cursor the first one gave
        expect(groups).to_have_count(100, timeout=TIMEOUT)
        expect(groups.nth(50).locator(".jp-ddas-row-name")).to_have_text("survey_05900.nc")
        expect(page.get_by_text("Load more (2,900 left)")).to_be_visible()

        saved = page.get_by_test_id("ddas-bytes-saved").locator(".jp-ddas-card-value")
        first_paint(page, "savings", saved)
        expect(saved).to_have_text("10.0 kB")
        downloads = page.get_by_test_id("ddas-downloads-saved").locator(".jp-ddas-card-value")
        expect(downloads).to_have_text("10")
        screenshot(page, "sidebar-scale-savings")
    finally:
        page.close()
