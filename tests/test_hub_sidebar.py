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
    run_cell,
    screenshot,
    show_sidebar,
    write_notebook,
)
from tests.test_hub_service import dataset_of, kernel_fetch

pytestmark = [pytest.mark.slow, pytest.mark.browser]
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)
jp_server_cleanup = pytest.fixture(no_server_cleanup)
ROW = '[data-testid="ddas-result-row"]'


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    with running_hub(lambda folder: f"sqlite:///{folder / 'registry.db'}") as running:
        yield running


@pytest.fixture(scope="module")
def bob_lab(hub: Hub) -> Iterator[Lab]:
    """bob's JupyterLab, as the Hub would start it for him (his uid when root)."""
    with hub.user_lab("bob") as (lab_url, token):
        home = Path(hub.kernel_env("bob")["HOME"])
        yield Lab(lab_url, token, home, {}, None)  # type: ignore[arg-type]


def test_bobs_sidebar_lists_alices_dataset_through_the_service(
    hub: Hub, bob_lab: Lab, http_server: Any, browser: Any
) -> None:
    url = http_server.add("hub/sidebar_seen.nc", os.urandom(40_000))
    kernel_fetch(hub, "alice", url)
    page = open_lab(browser, bob_lab, "lab/workspaces/hub-sidebar")
    try:
        show_sidebar(page)
        row = page.locator(ROW).filter(has_text="sidebar_seen.nc")
        expect(row).to_have_count(1, timeout=30_000)
        expect(row.locator(".jp-ddas-row-owners")).to_have_text(hub.name("alice"))
        screenshot(page, "hub-sidebar-bob")
    finally:
        page.close()


def test_a_notebook_in_bobs_lab_reuses_alices_copy_through_the_service(
    hub: Hub, bob_lab: Lab, http_server: Any, browser: Any
) -> None:
    data = os.urandom(120_000)
    url = http_server.add("hub/in_a_notebook.nc", data)
    kernel_fetch(hub, "alice", url)
    notebook = write_notebook(
        bob_lab.root / "reuse.ipynb",
        f"import ddas\np = ddas.fetch({url!r})\nprint('bytes:', len(open(p, 'rb').read()))",
    )
    if hub.people["bob"].uid is not None:
        os.chown(notebook, hub.people["bob"].uid, -1)
    page = open_lab(browser, bob_lab, "lab/workspaces/hub-notebook/tree/reuse.ipynb")
    try:
        page.locator(".jp-Notebook").wait_for(timeout=60_000)
        try:
            cell = run_cell(page, 0, f"bytes: {len(data)}")
        except Exception as exc:  # say what stood in the way (a dialog covered the cell once)
            screenshot(page, "hub-notebook-bob-failed")
            dialogs = page.locator(".jp-Dialog").all_text_contents()
            raise AssertionError(f"the cell did not run; dialogs: {dialogs}") from exc
        expect(cell).to_contain_text("already has it")  # the reuse card, from the service
        screenshot(page, "hub-notebook-bob")
    finally:
        page.close()
    assert http_server.body_bytes("hub/in_a_notebook.nc") == len(data)  # bob's: 0 bytes
    detail = dataset_of(hub, "in_a_notebook.nc")
    assert ("reuse", hub.name("bob")) in {(e["kind"], e["user"]) for e in detail["events"]}
