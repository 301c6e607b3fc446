"""A notebook run the moment it appears (Run All right after ``make lab`` opens the quickstart)
gets the notebook's own kernel: JupyterLab does not ask "Select Kernel".

JupyterLab shows a notebook once its file is loaded, then makes a checkpoint, and only then applies
the notebook's kernelspec and starts the kernel. The test holds the checkpoint request back (the
real server answers it, a little later) so that the run lands in that window every time; the DDAS
extension applies the kernelspec as soon as the file is loaded (``kernelPreference.ts``).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.lab import (
    KERNEL_IDLE,
    Lab,
    isolated_asyncio_loop,
    no_server_cleanup,
    screenshot,
    start_lab,
    stop_lab,
    wait_for_kernel,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)
jp_server_cleanup = pytest.fixture(no_server_cleanup)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    root = tmp_path / "root"
    root.mkdir()
    lab = start_lab(root, {"DDAS_REGISTRY": f"sqlite:///{tmp_path / 'registry.db'}"})
    yield lab
    stop_lab(lab)


def test_a_run_before_the_kernel_starts_gets_the_notebooks_kernel_not_a_dialog(
    lab: Lab, browser: object
) -> None:
    write_notebook(lab.root / "early.ipynb", "print('EARLY', 6 * 7)")
    held: list[object] = []  # checkpoint requests, answered once the run is done

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.route("**/api/contents/early.ipynb/checkpoints*", lambda route: held.append(route))
    try:
        page.goto(lab.page_url("lab/tree/early.ipynb"))
        page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
        cell = page.locator(".jp-Notebook .jp-Cell").first
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
        idle = page.locator(".jp-StatusBar-TextItem", has_text=KERNEL_IDLE)
        dialog.or_(idle).first.wait_for(timeout=90_000)
        assert dialog.count() == 0, "JupyterLab asked for a kernel"
        assert held, "the run was not sent before the checkpoint, the window this test is about"
        output = page.locator(".jp-Notebook .jp-OutputArea-output", has_text="EARLY 42")
        output.wait_for(timeout=90_000)  # ran in the notebook's kernel, checkpoint still held

        with page.expect_response(lambda r: "/api/sessions" in r.url and r.request.method == "GET"):
            for route in held:  # Lab now checkpoints and looks for the notebook's session
                route.continue_()
        wait_for_kernel(page)
        assert dialog.count() == 0 and output.count() == 1
        url = f"{lab.url}/api/sessions?token={lab.token}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            sessions = [s for s in json.load(resp) if s["path"] == "early.ipynb"]
        assert [s["kernel"]["name"] for s in sessions] == ["python3"]
    except Exception:
        screenshot(page, "early-run-failure")
        raise
    finally:
        page.close()
