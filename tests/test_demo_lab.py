"""`make lab` itself, run without blocking: the demo server comes up seeded, JupyterLab answers with
the DDAS extension listing the demo datasets, and `/` opens the quickstart notebook.

The Makefile's own recipe runs (with the install step marked up to date, so no pip runs here), with
a free port, a private demo folder and a known token; the process group is ended afterwards, as
Ctrl-C would, and that stops the demo server too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ddas.demo import find_server
from tests.fixtures.lab import (
    isolated_asyncio_loop,
    no_server_cleanup,
    screenshot,
    show_sidebar,
    wait_for_kernel,
)

REPO = Path(__file__).resolve().parents[1]
jp_asyncio_loop = pytest.fixture(isolated_asyncio_loop)  # Playwright owns the main thread's loop


jp_server_cleanup = pytest.fixture(no_server_cleanup)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MakeLab:
    url: str
    token: str
    demo_dir: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def get(self, path: str) -> object:
        sep = "&" if "?" in path else "?"
        with urllib.request.urlopen(f"{self.url}{path}{sep}token={self.token}", timeout=30) as r:
            return json.load(r)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _default_sigint() -> None:
    """In the child, before ``make`` starts: Ctrl-C's default, as a terminal gives it. A suite run
    under ``nohup`` or as a background job of a non-interactive shell inherits SIGINT *ignored*;
    that survives exec, Python then never raises KeyboardInterrupt, and Lab ignored the test's
    Ctrl-C (seen twice: Lab served on for 30 s while its npm child, whose node resets signals to
    their defaults at start-up, died of the signal)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _lab_environment(tmp_path: Path) -> dict[str, str]:
    """The environment of a developer's shell with no DDAS or Hub settings, and a Jupyter config of
    the test's own (no announcements pop-up over the page)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DDAS_", "JUPYTERHUB_"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        DDAS_DEMO_PORT="0",
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    labconfig = tmp_path / "jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    return env


def _wait_until_lab_answers(lab: MakeLab, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if lab.proc.poll() is not None:
            pytest.fail(
                f"make lab exited with {lab.proc.returncode}:\n{lab.log.read_text()[-3000:]}"
            )
        try:
            lab.get("/api/status")
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"make lab did not answer in {seconds:.0f} s:\n" + lab.log.read_text()[-3000:]
                )
            time.sleep(0.3)


@pytest.fixture
def make_lab(tmp_path: Path) -> Iterator[MakeLab]:
    port, token, demo_dir = free_port(), uuid.uuid4().hex, tmp_path / "demo"
    env = _lab_environment(tmp_path)
    log = tmp_path / "make-lab.log"
    notebooks = tmp_path / "notebooks"  # a copy: Lab saves what it runs, the checkout stays clean
    shutil.copytree(REPO / "notebooks", notebooks, ignore=shutil.ignore_patterns(".*"))
    command = [
        "make",
        "-C",
        str(REPO),
        "-o",
        ".venv/.installed-lab",
        "lab",
        f"PORT={port}",
        f"DEMO_DIR={demo_dir}",
        f"NOTEBOOK_DIR={notebooks}",
        f"LAB_ARGS=--no-browser --ip=127.0.0.1 --IdentityProvider.token={token} "
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_default_sigint,
        )
    lab = MakeLab(f"http://127.0.0.1:{port}", token, demo_dir, log, proc)
    try:
        _wait_until_lab_answers(lab, 120)
        print(f"make lab answered after {time.monotonic() - started:.1f} s")
        yield lab
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does to the terminal's process group
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
def test_make_lab_serves_the_seeded_demo_and_opens_the_quickstart(make_lab: MakeLab) -> None:
    page = make_lab.get("/ddas/api/datasets")
    assert isinstance(page, dict)
    assert sorted(item["name"] for item in page["items"]) == [
        "air_temperature_2020.csv",
        "stations.csv",
    ]
    duplicates = make_lab.get("/ddas/api/duplicates")
    assert isinstance(duplicates, dict) and duplicates["total"] == 1
    assert duplicates["items"][0]["owners"] == ["alice", "bob"]
    stats = make_lab.get("/ddas/api/stats")
    assert isinstance(stats, dict) and stats["reuses"] == 1 and stats["downloads"] == 2

    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(f"{make_lab.url}/?token={make_lab.token}", timeout=30)
    assert redirect.value.code == 302
    location = redirect.value.headers["Location"].split("?", 1)[0]
    assert location.endswith("/lab/tree/01_quickstart.ipynb")
    notebook = make_lab.get("/api/contents/01_quickstart.ipynb?content=0")
    assert isinstance(notebook, dict) and notebook["type"] == "notebook"

    demo_url = find_server(make_lab.demo_dir)  # the notebooks find the server through this file
    assert demo_url is not None
    with urllib.request.urlopen(demo_url + "stations.csv", timeout=10) as resp:
        assert resp.read().startswith(b"station,lat,lon")

    # Ctrl-C in the terminal reaches make's whole process group: Lab and the demo server stop
    os.killpg(make_lab.proc.pid, signal.SIGINT)
    make_lab.proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while find_server(make_lab.demo_dir) is not None:
        assert time.monotonic() < deadline, "the demo server outlived Ctrl-C on make lab"
        time.sleep(0.2)
    assert not (make_lab.demo_dir / "server.json").exists()


def _run_all(page: object, last_output: str, timeout: float = 120.0) -> None:
    """Run → Run All Cells, once, when the notebook's kernel is up; wait for ``last_output``.

    Sent before the kernel exists, a run makes JupyterLab start a second kernel racing the
    notebook's own, and ask "Select Kernel" (see :func:`tests.fixtures.lab.wait_for_kernel`).
    A notebook opened from the URL has no focus yet, and Run menu commands act on the focused
    notebook: click into it first, as a person does.
    """
    wait_for_kernel(page)
    page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.click()
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    done = page.locator(".jp-Notebook .jp-OutputArea", has_text=last_output)
    done.first.wait_for(timeout=timeout * 1000)
    assert page.locator(".jp-Dialog").count() == 0, "JupyterLab asked something during Run All"


@pytest.mark.slow
@pytest.mark.browser
def test_the_quickstart_runs_in_the_lab_that_make_lab_opens(
    make_lab: MakeLab, browser: object
) -> None:
    """A newcomer's first ten minutes: `/` opens the quickstart, Run All shows the miss, the hit
    cards and the dataframe, and the Datasets sidebar lists what the notebook fetched."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(f"{make_lab.url}/?token={make_lab.token}")
        page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
        expect(page.locator(".jp-NotebookPanel .jp-Notebook").first).to_be_visible(timeout=60_000)
        assert page.url.split("?")[0].endswith("/lab/tree/01_quickstart.ipynb")
        _run_all(page, "refused:")
        page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for()
        outputs = page.locator(".jp-Notebook .jp-OutputArea")
        # two hit cards: the hit, and ddas:: (Run All ran once, so the miss fetched once)
        assert page.locator(".jp-Notebook .ddas-alert-reuse").count() == 2
        expect(outputs.filter(has_text="bytes downloaded: 0")).not_to_have_count(0)
        assert (
            page.locator(
                ".jp-Notebook .jp-OutputArea-output[data-mime-type="
                '"application/vnd.jupyter.stderr"]'
            ).count()
            == 0
        )

        show_sidebar(page)
        page.get_by_test_id("ddas-refresh").click()  # the list was loaded when Lab started
        names = page.locator('#ddas-sidebar [data-testid="ddas-result-row"] .jp-ddas-row-name')
        expect(names.filter(has_text="ocean_buoys.csv")).to_have_count(1, timeout=30_000)
        expect(names).to_have_count(3)
        heading = page.locator(".jp-MarkdownCell", has_text="2. A hit").first
        heading.evaluate("el => el.scrollIntoView({block: 'start'})")
        expect(heading).to_be_in_viewport()  # Lab renders the cells scrolled into view
        screenshot(page, "quickstart")
    except Exception:
        screenshot(page, "quickstart-failure")
        raise
    finally:
        page.close()


def test_binder_start_script_starts_the_seeded_demo_then_runs_jupyter(tmp_path: Path) -> None:
    """Binder runs `binder/start <jupyter command>` at each launch: the demo must be up and the
    command must get the demo's environment (here a stand-in command prints it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DDAS_", "JUPYTERHUB_"))}
    env.update(
        HOME=str(tmp_path),
        DDAS_DEMO_PORT="0",
        PYTHONPATH=str(REPO),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    show = (
        "import json, os; print(json.dumps({k: v for k, v in os.environ.items() if 'DDAS' in k}))"
    )
    demo_dir = tmp_path / ".ddas-demo"
    try:
        run = subprocess.run(
            ["bash", str(REPO / "binder" / "start"), sys.executable, "-c", show],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        seen = json.loads(run.stdout.strip().splitlines()[-1])
        assert seen["DDAS_DEMO_DIR"] == str(demo_dir)
        assert seen["DDAS_REGISTRY"] == str(demo_dir / "registry.db")
        assert find_server(demo_dir) is not None
        from ddas.registry import Registry

        assert Registry(f"sqlite:///{seen['DDAS_REGISTRY']}").search().total == 2
    finally:
        subprocess.run(
            [sys.executable, "-m", "ddas.demo", "--stop", "--root", str(demo_dir)],
            env=env,
            timeout=60,
        )
    for script in ("start", "postBuild"):
        assert subprocess.run(["bash", "-n", str(REPO / "binder" / script)]).returncode == 0
