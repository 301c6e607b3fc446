"""``policy="ask"`` in real JupyterLab: the cell waits for a click, and the click decides."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import ddas
from tests.fixtures.http_server import CountingServer
from tests.fixtures.lab import (
    Lab,
    isolated_asyncio_loop,
    no_server_cleanup,
    open_lab,
    run_cell,
    screenshot,
    start_lab,
    stop_lab,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DATA = os.urandom(300_000)
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)


jp_server_cleanup = pytest.fixture(no_server_cleanup)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    env = {
        "DDAS_REGISTRY": f"sqlite:///{tmp_path / 'registry.db'}",
        "DDAS_STORE": str(tmp_path / "store"),
        "DDAS_USER": "alice",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "root"
    root.mkdir()
    lab = start_lab(root, {**env, "DDAS_USER": "bob"})
    yield lab
    stop_lab(lab)


def _run_cell(page, index: int):
    return run_cell(page, index, "FETCHED")


def test_ask_reuses_at_once_and_download_anyway_really_downloads(
    lab: Lab, http_server: CountingServer, browser: object
) -> None:
    """ipykernel 7 cannot process a click inside a running cell, so ``ask`` is non-blocking
    there: the cell gets the existing copy at once, and the buttons act afterwards."""
    import ipykernel

    assert int(ipykernel.__version__.split(".")[0]) >= 7, "this test covers the non-blocking ask"
    url = http_server.add("ask/era5.nc", DATA)
    alice_path = ddas.fetch(url)  # alice has it already
    http_server.reset()
    code = (
        f"import ddas\np = ddas.fetch({url!r}, policy='ask', progress=False)\nprint('FETCHED', p)"
    )
    write_notebook(lab.root / "ask.ipynb", code, code)
    page = open_lab(browser, lab, "lab/tree/ask.ipynb")
    try:
        cell = _run_cell(page, 0)
        assert str(alice_path) in cell.locator(".jp-OutputArea").inner_text()
        screenshot(page, "ask-policy-card")
        cell.locator("button.ddas-ask-reuse").click()
        cell.locator(".ddas-ask-status", has_text="Keeping the existing copy").wait_for()
        assert http_server.body_bytes() == 0

        cell = _run_cell(page, 1)
        cell.locator("button.ddas-ask-download").click()
        cell.locator(".ddas-ask-status", has_text="Downloaded anyway").wait_for(timeout=60_000)
        assert http_server.body_bytes() == len(DATA)  # bob chose to download his own copy
        screenshot(page, "ask-policy-downloaded")
    except Exception:
        screenshot(page, "ask-policy-failure")
        raise
    finally:
        page.close()
