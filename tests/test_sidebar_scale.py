"""The Datasets list on a registry too big to count every match of a broad search: the sidebar says
"about N", pages on, and shows the exact count once the server knows it."""

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
    """6,000 contents, every other one a "survey_*.nc" (3,000 match "survey"), inserted in bulk."""
    from ddas.registry import Registry
    from ddas.registry.models import Content

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
    with registry.engine.begin() as conn:
        conn.execute(sa.insert(Content.__table__), rows)
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
