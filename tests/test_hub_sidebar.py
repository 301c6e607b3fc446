"""The sidebar on a real JupyterHub with the DDAS service, in Chromium: bob's JupyterLab (as his
Unix user when root) lists alice's dataset and her as its owner, every call relayed to the service.

A module of its own: Playwright's event loop and pytest-jupyter's must not meet (see
``tests.fixtures.lab``), and a sidebar needs only SQLite (the service's backends are covered by
``test_hub_service``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.hub import Hub, running_hub
from tests.fixtures.lab import (
    Lab,
    isolated_asyncio_loop,
    no_server_cleanup,
    open_lab,
    screenshot,
    show_sidebar,
)
from tests.test_hub_service import kernel_fetch

pytestmark = [pytest.mark.slow, pytest.mark.browser]
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)
jp_server_cleanup = pytest.fixture(no_server_cleanup)
ROW = '[data-testid="ddas-result-row"]'


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    with running_hub(lambda folder: f"sqlite:///{folder / 'registry.db'}") as running:
        yield running


def test_bobs_sidebar_lists_alices_dataset_through_the_service(
    hub: Hub, http_server: Any, browser: Any
) -> None:
    url = http_server.add("hub/sidebar_seen.nc", os.urandom(40_000))
    kernel_fetch(hub, "alice", url)
    with hub.user_lab("bob") as (lab_url, token):
        lab = Lab(lab_url, token, Path(hub.kernel_env("bob")["HOME"]), {}, None)  # type: ignore[arg-type]
        page = open_lab(browser, lab)
        try:
            show_sidebar(page)
            row = page.locator(ROW).filter(has_text="sidebar_seen.nc")
            expect(row).to_have_count(1, timeout=30_000)
            expect(row.locator(".jp-ddas-row-owners")).to_have_text(hub.name("alice"))
            screenshot(page, "hub-sidebar-bob")
        finally:
            page.close()
