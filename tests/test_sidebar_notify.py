"""The sidebar's live toasts end to end: a kernel in a real ``jupyter lab`` (user bob) fetches a URL
that alice already fetched from a real local HTTP server; Lab's notification toast says so within one
poll of ``GET /ddas/api/events``, and its button opens the dataset in the Datasets sidebar.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, Response, expect

import ddas
from tests.fixtures.http_server import CountingServer
from tests.fixtures.lab import (
    Lab,
    isolated_asyncio_loop,
    no_server_cleanup,
    open_lab,
    run_cell,
    screenshot,
    show_sidebar,
    start_lab,
    stop_lab,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)

USER = "bob"  # the Lab's user, whose kernel fetches second
DATA = os.urandom(200_000)
XSS = "<img src=x onerror=alert(1)>"
TOAST = ".Toastify__toast"
ROW_NAMES = '[data-testid="ddas-result-row"] .jp-ddas-row-name'
TIMEOUT = 20_000


jp_server_cleanup = pytest.fixture(no_server_cleanup)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    from ddas.registry import Registry

    base = tmp_path_factory.mktemp("notify")
    env = {
        "DDAS_REGISTRY": f"sqlite:///{base / 'registry.db'}",
        "DDAS_STORE": str(base / "store"),
        "DDAS_USER": USER,
    }
    Registry(env["DDAS_REGISTRY"])  # created and migrated before the server and kernels use it
    root = base / "root"
    root.mkdir()
    lab = start_lab(root, env)
    yield lab
    stop_lab(lab)


def fetch_as(user: str, lab: Lab, monkeypatch: pytest.MonkeyPatch, url: str) -> Path:
    """``ddas.fetch`` in this process, as ``user``, on the Lab's registry and store."""
    for key in ("DDAS_REGISTRY", "DDAS_STORE"):
        monkeypatch.setenv(key, lab.env[key])
    monkeypatch.setenv("DDAS_USER", user)
    monkeypatch.delenv("DDAS_POLICY", raising=False)
    return ddas.fetch(url, progress=False)


def events_query(response: Response) -> dict[str, list[str]] | None:
    """The query of a ``GET /ddas/api/events`` response (None for any other response)."""
    url = urlsplit(response.url)
    return parse_qs(url.query) if url.path.endswith("/ddas/api/events") else None


def asks_about_others(response: Response) -> bool:
    """The sidebar's "did anyone else change the registry?" poll (it filters by ``kind``)."""
    return "kind" in (events_query(response) or {})


def open_notebook(browser: object, lab: Lab, name: str, url: str) -> tuple[Page, list[str]]:
    """A page on ``name``.ipynb (one cell: bob's ``ddas.fetch(url)``), once the toast poller has
    taken its starting point: it only toasts events newer than that, by design."""
    write_notebook(
        lab.root / f"{name}.ipynb",
        f"import ddas\np = ddas.fetch({url!r}, progress=False)\nprint('FETCHED', p)",
    )
    page = open_lab(browser, lab, f"lab/workspaces/{name}/tree/{name}.ipynb")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    def polls_news(response: Response) -> bool:  # a poll after the start (which asks limit=1)
        query = events_query(response) or {}
        return query.get("limit") == ["200"] and query.get("user") == [USER]

    page.wait_for_event("response", polls_news, timeout=TIMEOUT)
    return page, dialogs


def settled(toast: Locator) -> Locator:
    """The toast once its slide-in animation ended (for the screenshot; clicks wait anyway)."""
    expect(toast).to_be_visible(timeout=TIMEOUT)  # within one poll (5 s)
    expect(toast).not_to_have_class(re.compile(r"-enter--"))
    return toast


def run_first_cell(page: Page) -> str:
    cell = run_cell(page, 0, "FETCHED")
    return cell.locator(".jp-OutputArea-output", has_text="FETCHED").inner_text()


def test_reuse_toast_opens_the_dataset(
    lab: Lab, browser: object, http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server.add("shared/obs_2021.nc", DATA)
    alice_path = fetch_as("alice", lab, monkeypatch, url)
    assert http_server.body_bytes() == len(DATA)
    http_server.reset()
    page, dialogs = open_notebook(browser, lab, "toast", url)
    try:
        assert str(alice_path) in run_first_cell(page)  # bob got alice's copy...
        assert http_server.body_bytes() == 0  # ...without downloading a byte

        toast = settled(page.locator(TOAST, has_text="obs_2021.nc already exists"))
        message = toast.locator(".jp-toast-message").inner_text()
        match = re.fullmatch(
            r"obs_2021\.nc already exists: (.+) \(alice, just now\) "
            r"— reused, 200 kB saved",
            message,
        )
        assert match, message
        assert len(message) <= 140  # Lab cuts longer toasts; the path is shortened instead
        head, _, tail = match[1].partition("…")
        assert str(alice_path).startswith(head) and str(alice_path).endswith(tail), message
        screenshot(page, "sidebar-toast")

        toast.locator("button.jp-toast-button", has_text="Show dataset").click()
        expect(page.locator("#ddas-sidebar")).to_be_visible(timeout=TIMEOUT)
        details = page.get_by_test_id("ddas-details")
        expect(details.locator(".jp-ddas-details-title")).to_have_text(
            "obs_2021.nc", timeout=TIMEOUT
        )
        copy = details.get_by_test_id("ddas-copy-row")
        expect(copy).to_have_count(1)
        expect(copy.locator(".jp-ddas-path")).to_have_text(str(alice_path))
        expect(copy.locator(".jp-ddas-copy-owner")).to_have_text("alice")
        expect(details.locator(".jp-ddas-events")).to_contain_text("bob reused")
        screenshot(page, "sidebar-toast-details")
        assert dialogs == []
    finally:
        page.close()


def test_toast_shows_markup_as_text_and_old_news_is_not_replayed(
    lab: Lab, browser: object, http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dataset named ``<img src=x onerror=alert(1)>`` (from its URL path) toasts as text; and a
    new page does not toast what happened before it was opened (bob's earlier reuse of old.nc)."""
    old = http_server.add("old.nc", DATA[:2000])
    fetch_as("alice", lab, monkeypatch, old)
    fetch_as(USER, lab, monkeypatch, old)  # bob reuses it before opening Lab: old news
    url = http_server.add("xss/%3Cimg%20src=x%20onerror=alert(1)%3E", DATA[:1000])
    fetch_as("alice", lab, monkeypatch, url)
    page, dialogs = open_notebook(browser, lab, "toast-xss", url)
    try:
        run_first_cell(page)
        toast = settled(page.locator(TOAST, has_text=f"{XSS} already exists"))
        assert toast.locator('img[src="x"]').count() == 0
        assert page.locator('img[src="x"]').count() == 0
        screenshot(page, "sidebar-toast-xss")
        # The poll that toasted the new reuse saw everything since the page opened: the old one
        # (and the previous test's) did not toast.
        assert page.locator(TOAST, has_text="old.nc").count() == 0
        assert page.locator(TOAST).count() == 1
        toast.locator("button.jp-toast-button", has_text="Show dataset").click()
        expect(page.locator(".jp-ddas-details-title")).to_have_text(XSS, timeout=TIMEOUT)
        assert page.locator('img[src="x"]').count() == 0
        assert dialogs == []
    finally:
        page.close()


def test_the_open_list_follows_what_the_kernel_fetched(
    lab: Lab, browser: object, http_server: CountingServer
) -> None:
    """Bob's kernel downloads a dataset nobody had: the Datasets list, open beside the notebook,
    shows it after the next poll of his events, without anyone pressing refresh."""
    url = http_server.add("fresh/buoys_2022.nc", DATA[:5000])
    page, dialogs = open_notebook(browser, lab, "live-list", url)
    try:
        show_sidebar(page)
        rows = page.locator(ROW_NAMES)
        expect(rows.first).to_be_visible(timeout=TIMEOUT)  # earlier tests' datasets
        expect(rows.filter(has_text="buoys_2022.nc")).to_have_count(0)
        run_first_cell(page)
        assert http_server.body_bytes() == len(DATA[:5000])  # a miss: bob downloaded it
        expect(rows.filter(has_text="buoys_2022.nc")).to_have_count(1, timeout=TIMEOUT)
        assert page.locator(TOAST, has_text="buoys_2022.nc").count() == 0  # a download is no news
        screenshot(page, "sidebar-live-list")
        assert dialogs == []
    finally:
        page.close()


def test_others_changes_are_offered_as_a_refresh_while_the_panel_is_open(
    lab: Lab, browser: object, http_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Carol downloads a dataset while bob's Datasets panel is open: the panel says that others
    changed the registry (it does not reload under bob's eyes) and one click shows her dataset.
    While the panel is closed, nobody asks the server about others at all. Dave's dataset,
    registered before the page opens, is the history the list starts with (whatever else of this
    module ran before, or elsewhere)."""
    fetch_as("dave", lab, monkeypatch, http_server.add("dave/sea_2021.nc", DATA[2000:3500]))
    url = http_server.add("carol/ice_2023.nc", DATA[:3000])
    page, dialogs = open_notebook(browser, lab, "others", url)
    try:
        others: list[str] = []

        def note(response: Response) -> None:
            if asks_about_others(response):
                others.append(response.url)

        page.on("response", note)
        # Closed panel: a few polls go by (their own-events requests are seen), none about others.
        for _ in range(2):
            page.wait_for_event("response", lambda r: events_query(r) is not None, timeout=TIMEOUT)
        assert others == []

        show_sidebar(page)
        rows = page.locator(ROW_NAMES)
        expect(rows.first).to_be_visible(timeout=TIMEOUT)
        page.wait_for_event("response", asks_about_others, timeout=TIMEOUT)
        news = page.get_by_test_id("ddas-news")
        expect(news).to_have_count(0)  # nothing new yet: the earlier tests' events are history

        fetch_as("carol", lab, monkeypatch, url)
        expect(news).to_be_visible(timeout=TIMEOUT)  # within one poll (5 s)
        expect(page.locator('[aria-live="polite"] [data-testid="ddas-news"]')).to_have_count(1)
        expect(page.get_by_test_id("ddas-refresh")).to_have_attribute(
            "aria-label", "Refresh (new activity)"
        )
        expect(rows.filter(has_text="ice_2023.nc")).to_have_count(0)  # not reloaded by itself
        screenshot(page, "sidebar-others-news")
        asked = len(others)
        news.click()
        expect(rows.filter(has_text="ice_2023.nc")).to_have_count(1, timeout=TIMEOUT)
        expect(news).to_have_count(0)
        # After the refresh the panel watches again (and carol's download is not news twice).
        page.wait_for_event("response", asks_about_others, timeout=TIMEOUT)
        assert len(others) > asked
        expect(news).to_have_count(0)
        assert dialogs == []
    finally:
        page.close()
