"""The JupyterLab "Datasets" sidebar end to end: a real ``jupyter lab`` on a seeded SQLite registry,
driven by headless Debian Chromium through Playwright.

One Lab server serves the whole module; every test opens its own page on its own workspace
(``lab/workspaces/<test>``), so no layout saved by one test leaks into the next.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Response, expect

from tests.fixtures.ddas_server import B3, seed
from tests.fixtures.lab import (
    Lab,
    isolated_asyncio_loop,
    no_server_cleanup,
    open_lab,
    screenshot,
    show_sidebar,
    start_lab,
    stop_lab,
    wait_for_kernel,
    write_notebook,
)

pytestmark = pytest.mark.slow
in_browser = pytest.mark.browser  # every test but the last drives Chromium
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)


jp_server_cleanup = pytest.fixture(no_server_cleanup)


USER = "bob"  # the person in front of this Lab
XSS = "<img src=x onerror=alert(1)>"
BIG = "ocean_big.nc"  # a second duplicate group, wasting more than era5 and registered after it
ROW = '[data-testid="ddas-result-row"]'
TIMEOUT = 20_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    from ddas.registry import Registry

    base = tmp_path_factory.mktemp("sidebar")
    url = f"sqlite:///{base / 'registry.db'}"
    registry = Registry(url)
    seed(registry)
    registry.register_file(
        f"/data/xss/{XSS}", size=777, blake3="d4" * 32, owner="mallory", host="h1"
    )
    for owner in ("carol", "dave"):
        registry.register_file(
            f"/scratch/{owner}/{BIG}", size=50_000, blake3="e5" * 32, owner=owner, host="h1"
        )
    root = base / "root"
    root.mkdir()
    lab = start_lab(
        root, {"DDAS_REGISTRY": url, "DDAS_STORE": str(base / "store"), "DDAS_USER": USER}
    )
    yield lab
    stop_lab(lab)


@pytest.fixture
def open_page(browser: object, lab: Lab, request: pytest.FixtureRequest) -> Iterator[Callable]:
    """``open_page(path="")`` -> a page on this test's own workspace, every JS dialog recorded
    (and dismissed); the test fails if any dialog fired."""
    pages: list[Page] = []
    dialogs: list[str] = []
    workspace = re.sub(r"\W+", "-", request.node.name).strip("-")

    def open_(path: str = "") -> Page:
        page = open_lab(browser, lab, f"lab/workspaces/{workspace}/{path}".rstrip("/"))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()
    assert dialogs == [], f"a JavaScript dialog fired: {dialogs}"


def search(page: Page, text: str, names: list[str]) -> None:
    """Type ``text``; wait for the server's answer to exactly that query, then for ``names``."""

    def answers(response: Response) -> bool:
        url = urlsplit(response.url)
        return url.path.endswith("/ddas/api/datasets") and parse_qs(url.query).get("q") == [text]

    box = page.get_by_test_id("ddas-search-input")
    if text and box.input_value() != text:
        with page.expect_response(answers, timeout=TIMEOUT):
            box.fill(text)
    else:
        box.fill(text)
    expect(page.locator(f"{ROW} .jp-ddas-row-name")).to_have_text(names, timeout=TIMEOUT)
    count = f"{len(names)} dataset{'' if len(names) == 1 else 's'}"
    expect(page.locator("#ddas-view-search .jp-ddas-count")).to_have_text(count)


def open_details(page: Page, name: str) -> None:
    page.locator(ROW).filter(has=page.locator(".jp-ddas-row-name", has_text=name)).click()
    expect(page.locator('[data-testid="ddas-details"] .jp-ddas-details-title')).to_have_text(
        name, timeout=TIMEOUT
    )


@in_browser
def test_sidebar_lists_the_seeded_datasets(open_page: Callable) -> None:
    page = open_page()
    show_sidebar(page)
    expect(page.locator(".jp-ddas-heading")).to_have_text("Datasets")
    expect(page.get_by_test_id("ddas-search-input")).to_be_focused()
    expect(page.locator("#ddas-view-search .jp-ddas-count")).to_have_text(
        "5 datasets", timeout=TIMEOUT
    )
    rows = {}
    for row in page.locator(ROW).all():
        name = row.locator(".jp-ddas-row-name").text_content()
        rows[name] = (
            row.locator(".jp-ddas-row-size").text_content(),
            row.locator(".jp-ddas-row-copies").text_content(),
            row.locator(".jp-ddas-row-owners").text_content(),
        )
    assert rows == {
        "era5_2020.nc": ("4.0 kB", "2 copies", "alice, bob"),
        "tas_day.tar.gz": ("1.0 kB", "1 copy", "bob"),
        "stations.csv": ("10 B", "1 copy", "carol"),
        BIG: ("50.0 kB", "2 copies", "carol, dave"),
        XSS: ("777 B", "1 copy", "mallory"),
    }
    screenshot(page, "sidebar-list")
    page.locator("#ddas-view-search select.jp-ddas-select").select_option(label="Name")
    by_name = [XSS, "era5_2020.nc", BIG, "stations.csv", "tas_day.tar.gz"]  # "<" sorts first
    expect(page.locator(f"{ROW} .jp-ddas-row-name")).to_have_text(by_name, timeout=TIMEOUT)
    page.locator("#ddas-view-search select.jp-ddas-select").select_option(label="Largest")
    expect(page.locator(f"{ROW} .jp-ddas-row-name").first).to_have_text(BIG, timeout=TIMEOUT)


@in_browser
def test_search_filters_by_name_digest_and_url(open_page: Callable) -> None:
    page = open_page()
    show_sidebar(page)
    expect(page.locator(ROW)).to_have_count(5, timeout=TIMEOUT)
    search(page, "tas_day", ["tas_day.tar.gz"])
    search(page, "ERA5", ["era5_2020.nc"])  # case-insensitive
    search(page, B3["obs"][:10], ["stations.csv"])  # a BLAKE3 prefix
    search(page, "esgf.example.org/cmip6", ["tas_day.tar.gz"])  # a piece of a source URL
    page.locator("#ddas-view-search select.jp-ddas-select").select_option(label="Name")
    search(page, ".nc", ["era5_2020.nc", BIG])
    screenshot(page, "sidebar-search")
    search(page, "no-such-dataset", [])
    expect(page.get_by_test_id("ddas-empty")).to_contain_text("No dataset matches")
    page.get_by_test_id("ddas-search-input").press("Escape")  # clears the search
    expect(page.locator(ROW)).to_have_count(5, timeout=TIMEOUT)


@in_browser
def test_details_show_every_copy_and_no_signing_secret(open_page: Callable) -> None:
    page = open_page()
    show_sidebar(page)
    search(page, "era5", ["era5_2020.nc"])
    open_details(page, "era5_2020.nc")
    copies = page.get_by_test_id("ddas-copy-row")
    expect(copies).to_have_count(2, timeout=TIMEOUT)
    seen = {}
    for copy in copies.all():
        seen[copy.locator(".jp-ddas-path").text_content()] = (
            copy.locator(".jp-ddas-copy-owner").text_content(),
            copy.locator(".jp-ddas-badge").text_content(),
            copy.get_by_test_id("ddas-action-forget").count(),
        )
    # bob (this Lab's user, not an admin) may forget his own copy only
    assert seen == {
        "/store/a1/era5_2020.nc": ("alice", "present", 0),
        "/home/bob/era5_2020.nc": ("bob", "present", 1),
    }
    facts = page.locator(".jp-ddas-facts")
    expect(facts).to_contain_text("4.0 kB")
    expect(facts).to_contain_text(B3["era5"])
    expect(facts).to_contain_text("0" * 32)  # the md5 alias digest
    sources = page.get_by_test_id("ddas-source-row")
    expect(sources).to_have_count(1)
    expect(sources.locator(".jp-ddas-url")).to_have_text(
        "https://data.example.org/era5/era5_2020.nc"
    )
    expect(page.locator(".jp-ddas-events")).to_contain_text("carol reused")
    html = page.content()
    assert "s3cr3t" not in html and "X-Amz-Signature" not in html
    screenshot(page, "sidebar-details")
    page.get_by_test_id("ddas-details-back").click()
    expect(page.get_by_test_id("ddas-details")).to_have_count(0)
    expect(page.get_by_test_id("ddas-search-input")).to_have_value("era5")  # search survived


@in_browser
def test_insert_ddas_open_into_the_active_cell(open_page: Callable, lab: Lab) -> None:
    nb = write_notebook(lab.root / "insert.ipynb", "", "x = 1")
    page = open_page("tree/insert.ipynb")
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".jp-InputArea-editor").click()
    expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"))
    show_sidebar(page)
    search(page, "era5", ["era5_2020.nc"])
    open_details(page, "era5_2020.nc")
    page.get_by_test_id("ddas-copy-row").filter(has_text="/store/a1/era5_2020.nc").get_by_test_id(
        "ddas-action-insert"
    ).click()
    snippet = 'ddas.open("/store/a1/era5_2020.nc")'
    expect(cell.locator(".cm-content")).to_have_text(snippet, timeout=TIMEOUT)
    expect(page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".cm-content")).to_have_text(
        "x = 1"
    )
    screenshot(page, "sidebar-insert")
    # The snippet is in the notebook's model, not only on screen: save and read the file.
    # The kernel, once connected, writes its language_info into the notebook's metadata: a
    # save before that is dirtied again (seen in CI, on a loaded machine). Save after it.
    wait_for_kernel(page)
    page.keyboard.press("Control+s")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="insert.ipynb")
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"), timeout=TIMEOUT)
    sources = ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"]]
    assert sources == [snippet, "x = 1"]


@in_browser
def test_duplicates_view_largest_waste_first(open_page: Callable) -> None:
    page = open_page()
    show_sidebar(page)
    page.get_by_test_id("ddas-tab-duplicates").click()
    summary = page.get_by_test_id("ddas-duplicates-summary")
    expect(summary).to_have_text("54.0 kB wasted in 2 duplicated datasets", timeout=TIMEOUT)
    groups = page.get_by_test_id("ddas-duplicate-group")
    expect(groups).to_have_count(2)
    shown = [
        (
            g.locator(".jp-ddas-row-name").text_content(),
            g.locator(".jp-ddas-group-waste").text_content(),
        )
        for g in groups.all()
    ]
    assert shown == [(BIG, "50.0 kB wasted"), ("era5_2020.nc", "4.0 kB wasted")]
    era5 = groups.nth(1)
    expect(era5.locator(".jp-ddas-row-meta")).to_have_text("2 copies of 4.0 kB")
    paths = era5.locator(".jp-ddas-group-copies .jp-ddas-path").all_text_contents()
    assert sorted(paths) == ["/home/bob/era5_2020.nc", "/store/a1/era5_2020.nc"]
    screenshot(page, "sidebar-duplicates")
    era5.locator(".jp-ddas-group-header").click()  # a group opens its dataset
    expect(page.locator(".jp-ddas-details-title")).to_have_text("era5_2020.nc", timeout=TIMEOUT)


@in_browser
def test_savings_view_renders_figures_and_chart(open_page: Callable) -> None:
    page = open_page()
    show_sidebar(page)
    page.get_by_test_id("ddas-tab-savings").click()
    saved = page.get_by_test_id("ddas-bytes-saved")
    expect(saved.locator(".jp-ddas-card-value")).to_have_text("4.0 kB", timeout=TIMEOUT)
    expect(page.get_by_test_id("ddas-downloads-saved").locator(".jp-ddas-card-value")).to_have_text(
        "1"
    )
    chart = page.get_by_test_id("ddas-savings-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("aria-label", re.compile(r"^Bytes saved per day: 4\.0 kB"))
    bars = chart.locator("rect.jp-ddas-chart-bar")
    assert bars.count() >= 1
    assert max(float(bar.get_attribute("height") or 0) for bar in bars.all()) > 0
    users = page.get_by_test_id("ddas-savings-users")
    expect(users.locator("tbody tr").first.locator("th")).to_have_text("carol")  # saved the most
    expect(users.locator("tbody tr").first).to_contain_text("4.0 kB")
    screenshot(page, "sidebar-savings")


@in_browser
def test_markup_in_a_dataset_name_is_shown_as_text(open_page: Callable) -> None:
    page = open_page()
    show_sidebar(page)
    search(page, "onerror", [XSS])  # to_have_text compares the literal text
    open_details(page, XSS)
    expect(page.get_by_test_id("ddas-copy-row").locator(".jp-ddas-path")).to_have_text(
        f"/data/xss/{XSS}"
    )
    # Nothing was parsed as HTML: no <img src=x> anywhere (the dialog check is in open_page).
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("document.querySelectorAll('#ddas-sidebar img').length") == 0
    screenshot(page, "sidebar-xss")


def _jupyter(*args: str) -> str:
    jupyter = Path(sys.executable).parent / "jupyter"
    done = subprocess.run([str(jupyter), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # drop colours


def test_extensions_are_installed_enabled_and_ok() -> None:
    labext = _jupyter("labextension", "list")
    assert re.search(r"^\s*ddas v\S+ enabled OK\b", labext, re.M), labext
    server = _jupyter("server", "extension", "list")
    assert re.search(r"^\s*ddas_server enabled\s*$", server, re.M), server
    assert re.search(r"^\s*ddas_server\s+(v?[0-9]\S*\s+)?OK\s*$", server, re.M), server
