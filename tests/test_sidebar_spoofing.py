"""Names cannot lie in the sidebar: bidi controls and zero-width characters in names, paths and
owners are shown escaped and isolated, a 20,000-character name is cut (full text on hover), and
"Insert" writes a Python literal whose value is the real path but which shows no hidden character.
One browser test in Debian's Chromium, with screenshots in test-artifacts/."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

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

pytestmark = [pytest.mark.browser, pytest.mark.slow]
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)
jp_server_cleanup = pytest.fixture(no_server_cleanup)

RLO, ZWSP = "\u202e", "\u200b"
SPOOF = f"report_{RLO}gpj.exe"  # displays as "report_exe.jpg" when rendered as is
SPOOF_PATH = f"/data/in{RLO}box/{SPOOF}"
TWIN = f"era5{ZWSP}_2020.nc"  # looks exactly like era5_2020.nc
LONG = "L" * 20_000 + ".csv"
HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff\u2060]")
ROW = '[data-testid="ddas-result-row"]'
TIMEOUT = 20_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    from ddas.registry import Registry

    base = tmp_path_factory.mktemp("spoofing")
    registry = Registry(f"sqlite:///{base / 'registry.db'}")
    registry.register_file(SPOOF_PATH, size=10, blake3="f1" * 32, owner=f"mal{ZWSP}lory", host="h")
    registry.register_file(f"/data/eve/{SPOOF}", size=10, blake3="f1" * 32, owner="eve", host="h")
    registry.register_file("/data/era5_2020.nc", size=20, blake3="f2" * 32, owner="alice", host="h")
    registry.register_file(f"/data/{TWIN}", size=30, blake3="f3" * 32, owner="bob", host="h")
    registry.register_file(f"/data/{LONG}", size=40, blake3="f4" * 32, owner="carol", host="h")
    root = base / "root"
    root.mkdir()
    env = {
        "DDAS_REGISTRY": str(registry.engine.url),
        "DDAS_STORE": str(base / "store"),
        "DDAS_USER": "bob",
    }
    lab = start_lab(root, env)
    yield lab
    stop_lab(lab)


def escaped(text: str) -> str:
    return text.encode("unicode_escape").decode().replace("\\\\", "\\")


def no_hidden_characters(page: Page) -> None:
    text = page.locator("#ddas-sidebar").text_content() or ""
    assert not HIDDEN.search(text), [hex(ord(c)) for c in HIDDEN.findall(text)]


def test_names_paths_and_owners_cannot_lie(browser: object, lab: Lab) -> None:
    nb = write_notebook(lab.root / "spoof.ipynb", "")
    page = open_lab(browser, lab, "lab/workspaces/spoof/tree/spoof.ipynb")
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".jp-InputArea-editor").click()
    show_sidebar(page)
    rows = page.locator(f"{ROW} .jp-ddas-row-name")
    expect(rows).to_have_count(4, timeout=TIMEOUT)
    names = rows.all_text_contents()
    assert "report_\\u202egpj.exe" in names and "era5\\u200b_2020.nc" in names
    assert "era5_2020.nc" in names  # and the twin is told apart from it
    long_row = page.locator(f"{ROW} .jp-ddas-row-name bdi", has_text="LLLL")
    assert len(long_row.text_content() or "") <= 200
    assert long_row.get_attribute("title") == LONG and long_row.get_attribute("dir") == "ltr"
    no_hidden_characters(page)
    screenshot(page, "sidebar-spoofing-list")

    page.locator(ROW).filter(has_text="report_").click()
    details = page.get_by_test_id("ddas-details")
    expect(details.locator(".jp-ddas-details-title")).to_have_text("report_\\u202egpj.exe")
    paths = details.locator('[data-testid="ddas-copy-row"] .jp-ddas-path').all_text_contents()
    assert sorted(paths) == sorted([escaped(SPOOF_PATH), f"/data/eve/{escaped(SPOOF)}"])
    owners = details.locator(".jp-ddas-copy-owner").all_text_contents()
    assert sorted(owners) == ["eve", "mal\\u200blory"]
    no_hidden_characters(page)
    screenshot(page, "sidebar-spoofing-details")

    spoofed_copy = details.get_by_test_id("ddas-copy-row").filter(has_text="/data/in")
    spoofed_copy.get_by_test_id("ddas-action-insert").click()
    snippet = 'ddas.open("/data/in\\u202ebox/report_\\u202egpj.exe")'
    expect(cell.locator(".cm-content")).to_have_text(snippet, timeout=TIMEOUT)
    # The kernel, once connected, writes its language_info into the notebook's metadata: a
    # save before that is dirtied again (seen in CI, on a loaded machine). Save after it.
    wait_for_kernel(page)
    page.keyboard.press("Control+s")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="spoof.ipynb")
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"), timeout=TIMEOUT)
    (source,) = ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"]]
    assert not HIDDEN.search(source)  # what the notebook shows is what it holds...
    call = ast.parse(source).body[0].value  # type: ignore[attr-defined]
    assert ast.literal_eval(call.args[0]) == SPOOF_PATH  # ...and it opens the real path
    screenshot(page, "sidebar-spoofing-insert")

    page.get_by_test_id("ddas-details-back").click()
    page.get_by_test_id("ddas-tab-duplicates").click()
    group = page.get_by_test_id("ddas-duplicate-group")
    expect(group).to_have_count(1, timeout=TIMEOUT)
    expect(group.locator(".jp-ddas-row-name")).to_have_text("report_\\u202egpj.exe")
    no_hidden_characters(page)
    screenshot(page, "sidebar-spoofing-duplicates")
    page.close()
