"""The sidebar on a real JupyterHub with the DDAS service, in Chromium: bob logs in to the Hub,
which spawns his JupyterLab (as his Unix user when root); its sidebar lists alice's dataset and her
as its owner, every call relayed to the service, and a notebook there reuses her copy as bob.

A module of its own: Playwright's event loop and pytest-jupyter's must not meet (see
``tests.fixtures.lab``), and a sidebar needs only SQLite (the service's backends are covered by
``test_hub_service``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.fixtures.hub import Hub, running_hub
from tests.fixtures.lab import (
    isolated_asyncio_loop,
    no_server_cleanup,
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
def bob_session(hub: Hub, browser: Any) -> Iterator[Any]:
    """A browser that logged in to the Hub as bob: the Hub spawned his JupyterLab (as his Unix
    user when root, through LocalProcessSpawner; SimpleLocalProcessSpawner otherwise)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{hub.public_url}/hub/login")
        page.locator("#username_input").fill(hub.name("bob"))
        page.locator("#password_input").fill("any")
        page.locator("#login_submit").click()
        page.wait_for_url(f"**/user/{hub.name('bob')}/lab**", timeout=150_000)
        page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=90_000)
        page.close()
        yield context
    finally:
        context.close()
        stop_server(hub, "bob")


def stop_server(hub: Hub, who: str) -> None:
    """Stop ``who``'s Hub-spawned server (the Hub's API; its own shutdown would too)."""
    requests.delete(
        f"{hub.public_url}/hub/api/users/{hub.name(who)}/server",
        headers={"Authorization": f"token {hub.admin_token}"},
        timeout=60,
    )


def open_bobs(hub: Hub, session: Any, path: str) -> Any:
    """A page of bob's Hub-spawned Lab (through the Hub's proxy), the app fully started."""
    page = session.new_page()
    page.goto(f"{hub.public_url}/user/{hub.name('bob')}/{path}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=90_000)
    page.wait_for_selector(".jp-LabShell", timeout=30_000)
    return page


def test_bobs_sidebar_lists_alices_dataset_through_the_service(
    hub: Hub, bob_session: Any, http_server: Any
) -> None:
    url = http_server.add("hub/sidebar_seen.nc", os.urandom(40_000))
    kernel_fetch(hub, "alice", url)
    page = open_bobs(hub, bob_session, "lab/workspaces/hub-sidebar")
    try:
        show_sidebar(page)
        row = page.locator(ROW).filter(has_text="sidebar_seen.nc")
        expect(row).to_have_count(1, timeout=30_000)
        expect(row.locator(".jp-ddas-row-owners")).to_have_text(hub.name("alice"))
        screenshot(page, "hub-sidebar-bob")
    finally:
        page.close()


def test_a_notebook_in_bobs_hub_server_reuses_alices_copy_recorded_as_bob(
    hub: Hub, bob_session: Any, http_server: Any
) -> None:
    """bob's kernel (in the server the Hub spawned for him) claims to be alice: the fetch is a
    hit with 0 body bytes, and the registry records bob, the Hub user of the server's token."""
    data = os.urandom(120_000)
    url = http_server.add("hub/in_a_notebook.nc", data)
    kernel_fetch(hub, "alice", url)
    alice = hub.name("alice")
    notebook = write_notebook(
        hub.home("bob") / "reuse.ipynb",
        f"import os\nos.environ['DDAS_USER'] = os.environ['JUPYTERHUB_USER'] = {alice!r}\n"
        f"import ddas\np = ddas.fetch({url!r})\n"
        "print('bytes:', len(open(p, 'rb').read()), 'as', os.environ['JUPYTERHUB_USER'],\n"
        "      'uid', os.getuid())",
    )
    if hub.people["bob"].uid is not None:
        os.chown(notebook, hub.people["bob"].uid, -1)
    page = open_bobs(hub, bob_session, "lab/workspaces/hub-notebook/tree/reuse.ipynb")
    try:
        page.locator(".jp-Notebook").wait_for(timeout=60_000)
        try:
            cell = run_cell(page, 0, f"bytes: {len(data)} as {alice}")
        except Exception as exc:  # say what stood in the way (a dialog covered the cell once)
            screenshot(page, "hub-notebook-bob-failed")
            dialogs = page.locator(".jp-Dialog").all_text_contents()
            raise AssertionError(f"the cell did not run; dialogs: {dialogs}") from exc
        expect(cell).to_contain_text("already has it")  # the reuse card, from the service
        if hub.people["bob"].uid is not None:  # the Hub ran bob's server as bob
            expect(cell).to_contain_text(f"uid {hub.people['bob'].uid}")
        screenshot(page, "hub-notebook-bob")
    finally:
        page.close()
    assert http_server.body_bytes("hub/in_a_notebook.nc") == len(data)  # bob's: 0 bytes
    events = dataset_of(hub, "in_a_notebook.nc")["events"]
    assert ("reuse", hub.name("bob")) in {(e["kind"], e["user"]) for e in events}
    assert [e["user"] for e in events if e["kind"] == "reuse"] == [hub.name("bob")]
