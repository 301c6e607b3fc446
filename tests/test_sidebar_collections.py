"""The sidebar shows a collection as one row, its files in the details, each file's extracted metadata,
and lets an owner tag it (PATCH with Lab's XSRF header): a real ``jupyter lab`` in headless Chromium,
on a registry filled by a real ``ddas.fetch_tree`` of files written by xarray and served over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from ddas import metadata
from ddas.api import fetch_result
from ddas.registry import Registry
from ddas.store import Store
from ddas.trees import fetch_tree_result
from tests.fixtures.http_server import CountingServer
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
from tests.test_metadata import era5

pytestmark = [pytest.mark.slow, pytest.mark.browser]
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)
jp_server_cleanup = pytest.fixture(no_server_cleanup)
TIMEOUT = 20_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("collections-lab")
    url, store = f"sqlite:///{base / 'registry.db'}", base / "store"
    server = CountingServer()
    try:
        server.add("grid/e5.nc", era5(base / "e5.nc").read_bytes())
        server.add("grid/e5_zip.nc", era5(base / "z.nc", compress=True).read_bytes())
        server.add("grid/readme.csv", b"k;v\na;1\n")
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DDAS_USER", "alice")
            fetch_tree_result(
                server.url("grid/"),
                progress=False,
                quiet=True,
                registry=Registry(url),
                store=Store(store),
            )
            env.setenv("DDAS_USER", "bob")  # a file alice (no admin here) has no copy of
            notes = server.add("bobs/notes.csv", b"k;v\nb;2\n")
            fetch_result(
                notes, progress=False, quiet=True, registry=Registry(url), store=Store(store)
            )
        assert metadata.wait(120)
    finally:
        server.close()
    root = base / "root"
    root.mkdir()
    lab = start_lab(root, {"DDAS_REGISTRY": url, "DDAS_STORE": str(store), "DDAS_USER": "alice"})
    yield lab
    stop_lab(lab)


def test_a_collection_row_opens_its_files_their_metadata_and_an_owner_tags_one(
    browser: object, lab: Lab
) -> None:
    page = open_lab(browser, lab, "lab/workspaces/collections")
    try:
        show_sidebar(page)
        page.get_by_test_id("ddas-tab-collections").click()
        row = page.get_by_test_id("ddas-collection-row")
        expect(row).to_have_count(1, timeout=TIMEOUT)
        expect(row.locator(".jp-ddas-row-name")).to_have_text("grid/")
        expect(row.get_by_test_id("ddas-collection-meta")).to_have_text("3 files · alice")
        expect(row.locator(".jp-ddas-collection-size")).to_have_text(re.compile(r"^\d+(\.\d)? kB$"))
        row.locator(".jp-ddas-group-header").click()

        members = page.get_by_test_id("ddas-member-row")
        expect(members).to_have_count(3, timeout=TIMEOUT)
        assert [m.locator("button").text_content() for m in members.all()] == [
            "e5.nc",
            "e5_zip.nc",
            "readme.csv",
        ]
        expect(members.first.locator(".jp-ddas-muted")).to_have_text(re.compile(r" · 1 copy$"))
        screenshot(page, "sidebar-collection")
        members.first.locator("button").click()

        details = page.get_by_test_id("ddas-details")
        expect(details.locator(".jp-ddas-details-title")).to_have_text("e5.nc", timeout=TIMEOUT)
        expect(page.get_by_test_id("ddas-metadata-summary")).to_have_text(
            "t2m (K), 2020-01-01…2020-12-31, 0.25°", timeout=TIMEOUT
        )
        expect(page.get_by_test_id("ddas-variables")).to_contain_text("2 metre temperature")

        page.get_by_test_id("ddas-annotate").click()
        page.get_by_test_id("ddas-annotation-tags").fill("era5, surface")
        page.get_by_test_id("ddas-annotation-description").fill("daily 2 m temperature")
        with page.expect_response(
            lambda r: (
                re.search(r"/ddas/api/datasets/\d+/annotations(\?|$)", r.url) is not None
                and r.request.method == "PATCH"
            )
        ) as answer:
            page.get_by_test_id("ddas-annotation-save").click()
        assert answer.value.status == 200
        note = page.get_by_test_id("ddas-annotation")
        expect(note.locator(".jp-ddas-tag")).to_have_text(["era5", "surface"], timeout=TIMEOUT)
        screenshot(page, "sidebar-metadata")

        page.get_by_test_id("ddas-details-back").click()
        expect(page.get_by_test_id("ddas-collection-members")).to_be_visible()
        page.get_by_test_id("ddas-tab-duplicates").click()
        group = page.get_by_test_id("ddas-same-data-group")
        expect(group).to_have_count(1, timeout=TIMEOUT)
        expect(group).to_contain_text("same data, different files")
        expect(page.get_by_test_id("ddas-duplicate-group")).to_have_count(0)
    finally:
        page.close()


def test_the_collection_is_searchable_by_its_metadata_from_the_search_box(
    browser: object, lab: Lab
) -> None:
    page = open_lab(browser, lab, "lab/workspaces/collections-search")
    try:
        show_sidebar(page)
        page.get_by_test_id("ddas-search-input").fill("temperature")
        rows = page.locator('[data-testid="ddas-result-row"] .jp-ddas-row-name')
        expect(rows).to_have_count(2, timeout=TIMEOUT)
        assert sorted(rows.all_text_contents()) == ["e5.nc", "e5_zip.nc"]
    finally:
        page.close()


def test_only_owners_see_the_annotate_button(browser: object, lab: Lab) -> None:
    page = open_lab(browser, lab, "lab/workspaces/collections-others")
    try:
        show_sidebar(page)
        page.get_by_test_id("ddas-search-input").fill("notes.csv")
        row = page.locator('[data-testid="ddas-result-row"]')
        expect(row).to_have_count(1, timeout=TIMEOUT)
        row.click()
        details = page.get_by_test_id("ddas-details")
        expect(details.locator(".jp-ddas-details-title")).to_have_text("notes.csv", timeout=TIMEOUT)
        expect(details).to_contain_text("No tags or description yet.", timeout=TIMEOUT)
        expect(page.get_by_test_id("ddas-annotate")).to_have_count(0)
    finally:
        page.close()
